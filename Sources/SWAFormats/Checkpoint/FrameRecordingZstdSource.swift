import CZstd

/// One frame of a zstd stream as `swa-inspect --verify` found it on disk.
public struct ZstdFrameRecord: Sendable, Equatable {
    /// The frame's first byte in the file.
    public var fileOffset: Int
    /// Bytes of the frame in the file, header and checksum included.
    public var compressedByteCount: Int
    /// Payload byte where the frame's content starts.
    public var payloadOffset: Int
    /// Bytes of payload it decoded to (0 for a skippable frame).
    public var decompressedByteCount: Int
    /// Its magic number: `0xFD2FB528` for a data frame, `0x184D2A5?` for a skippable one.
    public var magic: UInt32
    /// Whether a data frame carries an XXH64 content checksum (`Content_Checksum_flag`).
    public var hasChecksum: Bool

    /// Whether this is a skippable frame (RFC 8878 §3.1.2), which carries no payload.
    public var isSkippable: Bool { magic & ZstdMagic.skippableMask == ZstdMagic.skippableBase }
}

/// Decodes a zstd stream front to back, like `ZstdPayloadSource`, and records every frame:
/// where it lies in the file, how many bytes it takes there and gives, and whether it carries
/// a checksum. What `CheckpointVerification` compares the seek table against.
///
/// No in-place decoding: every byte goes through libzstd's window, the plainest path.
final class FrameRecordingZstdSource: PayloadSource {
    private let file: InputFile
    private let context: OpaquePointer
    private let inputStorage: UnsafeMutableRawBufferPointer
    private var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var fileExhausted = false
    /// The last `ZSTD_decompressStream` result: 0 exactly when the stream stands between frames.
    private var lastHint = 0
    /// File bytes handed to libzstd before the current input buffer.
    private var fileBytesBeforeInput = 0
    /// Payload bytes produced so far.
    private(set) var payloadBytes = 0
    /// Where the frame being decoded started: file offset and payload offset.
    private(set) var currentFrameStart = (file: 0, payload: 0)
    /// Completed frames, in file order.
    private(set) var frames: [ZstdFrameRecord] = []

    var framesDecoded: Int { frames.count }
    var framesDecodedInPlace: Int { 0 }

    init(file: InputFile) throws {
        self.file = file
        context = try ZstdPayloadSource.makeDecompressionContext(for: file.path)
        inputStorage = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(context)
        inputStorage.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while output.pos < output.size {
            if input.pos == input.size, !fileExhausted { try refill() }
            let inputExhausted = input.pos == input.size && fileExhausted
            if inputExhausted, lastHint == 0 { break }
            let producedBefore = output.pos
            let hint = ZSTD_decompressStream(context, &output, &input)
            payloadBytes += output.pos - producedBefore
            if ZSTD_isError(hint) != 0 { throw FrameFault(frame: frames.count, start: currentFrameStart, error: ZstdError(result: hint)) }
            if hint == 0 { try closeFrame() }
            lastHint = hint
            if inputExhausted, hint != 0, output.pos == producedBefore {
                throw FrameFault(frame: frames.count, start: currentFrameStart, truncated: true)
            }
        }
        return output.pos
    }

    private func refill() throws {
        fileBytesBeforeInput += input.size
        let count = try file.read(into: inputStorage)
        if count == 0 { fileExhausted = true }
        input = ZSTD_inBuffer(src: UnsafeRawPointer(inputStorage.baseAddress), size: count, pos: 0)
    }

    /// Records the frame that just ended; its first bytes are read again from the file (one
    /// positioned read per frame) for the magic and the frame header descriptor.
    private func closeFrame() throws {
        let end = fileBytesBeforeInput + input.pos
        let start = currentFrameStart
        let head = try file.bytes(at: start.file, count: min(5, end - start.file)) ?? []
        let magic = head.count >= 4 ? UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24 : 0
        // Frame_Header_Descriptor, bit 2: Content_Checksum_flag (RFC 8878 §3.1.1.1.1).
        let hasChecksum = magic == ZstdMagic.frame && head.count == 5 && head[4] & 0x04 != 0
        frames.append(ZstdFrameRecord(fileOffset: start.file, compressedByteCount: end - start.file, payloadOffset: start.payload,
                                      decompressedByteCount: payloadBytes - start.payload, magic: magic, hasChecksum: hasChecksum))
        currentFrameStart = (end, payloadBytes)
    }
}

/// A frame libzstd refused, or the file ending inside one: which frame, where it started.
struct FrameFault: Error {
    /// 0-based index of the frame in the file.
    var frame: Int
    /// Its first byte in the file and in the payload.
    var start: (file: Int, payload: Int)
    var error: ZstdError?
    var truncated = false

    init(frame: Int, start: (file: Int, payload: Int), error: ZstdError? = nil, truncated: Bool = false) {
        self.frame = frame
        self.start = start
        self.error = error
        self.truncated = truncated
    }

    /// "frame checksum does not match its content (Restored data doesn't match checksum)".
    var reason: String {
        guard let error else { return "the file ends inside it" }
        switch error.code {
        case ZSTD_error_checksum_wrong: return "its checksum does not match its content (\(error.name))"
        case ZSTD_error_frameParameter_windowTooLarge:
            return "it needs a window larger than \(1 << (ZstdPayloadSource.maximumWindowLog - 20)) MiB (\(error.name))"
        default: return "it is corrupt (\(error.name))"
        }
    }
}
