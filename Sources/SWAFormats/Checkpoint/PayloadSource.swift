import CZstd

/// The uncompressed bytes of a checkpoint file, read front to back.
protocol PayloadSource: AnyObject {
    /// Fills `buffer` from the stream; returns fewer bytes than asked only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Independent zstd frames completed so far (0 for a plain file).
    var framesDecoded: Int { get }
    /// Of these, the frames decoded straight into the caller's buffer.
    var framesDecodedInPlace: Int { get }
}

// MARK: - Plain safetensors

/// A plain `.safetensors` file: the bytes are the payload.
final class PlainPayloadSource: PayloadSource {
    private let file: InputFile
    private var pending: [UInt8]

    init(file: InputFile, alreadyRead prefix: [UInt8]) {
        self.file = file
        self.pending = prefix
    }

    var framesDecoded: Int { 0 }
    var framesDecodedInPlace: Int { 0 }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        if !pending.isEmpty {
            filled = min(pending.count, buffer.count)
            buffer.copyBytes(from: pending[..<filled])
            pending.removeFirst(filled)
        }
        return filled + (try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])))
    }
}

// MARK: - zstd stream

/// Decompresses any valid zstd stream with `ZSTD_decompressStream`: one or many frames,
/// with or without content size or checksum, skippable frames skipped.
///
/// Memory is one input chunk (`ZSTD_DStreamInSize`, about 128 KiB) plus libzstd's window,
/// never the file. Checksums are verified by libzstd whenever a frame carries one.
///
/// A frame that starts where a read stands and whose content size, stated in its header, fits
/// in the rest of the caller's buffer is decoded straight into that buffer: libzstd's "stable
/// output buffer" mode (`ZSTD_d_stableOutBuffer`) then uses the caller's bytes as its window,
/// so the copy out of its own window, and the window itself, are skipped. Frames that do not
/// fit (a read smaller than the frame, or one starting inside it) stream through the window
/// as before. The bytes delivered are the same either way.
final class ZstdPayloadSource: PayloadSource {
    private let file: InputFile
    private let context: OpaquePointer
    private let inputStorage: UnsafeMutableRawBufferPointer
    private var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var fileExhausted = false
    /// The last `ZSTD_decompressStream` result: 0 exactly when the stream stands between frames.
    private var lastHint = 0
    private(set) var framesDecoded = 0
    /// Whether the context is in stable-output mode (set between frames only).
    private var stableOutput = false
    /// Frames smaller than this always stream: the saving would not pay for the checks.
    static let smallestFrameDecodedInPlace = 64 << 10
    /// Frames decoded straight into the caller's buffer so far (for tests).
    private(set) var framesDecodedInPlace = 0

    /// Largest window accepted, as a power of two: 2^27 bytes = 128 MiB, libzstd's default
    /// (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`). Frames written with `zstd --long=28` or more need more.
    static let maximumWindowLog: Int32 = 27

    init(file: InputFile, alreadyRead prefix: [UInt8]) throws {
        self.file = file
        context = try Self.makeDecompressionContext(for: file.path)
        let capacity = max(ZSTD_DStreamInSize(), prefix.count)
        inputStorage = .allocate(byteCount: capacity, alignment: 16)
        inputStorage.copyBytes(from: prefix)
        input = ZSTD_inBuffer(src: UnsafeRawPointer(inputStorage.baseAddress), size: prefix.count, pos: 0)
    }

    deinit {
        ZSTD_freeDCtx(context)
        inputStorage.deallocate()
    }

    /// A decompression context whose window is limited to `maximumWindowLog`, which the caller
    /// frees with `ZSTD_freeDCtx`; errors name `path`.
    static func makeDecompressionContext(for path: String) throws -> OpaquePointer {
        guard let context = ZSTD_createDCtx() else { throw SWAError(file: path, "zstd: cannot allocate a decompression context") }
        // Said, not assumed: the limit the window-too-large message names (docs/FORMAT.md).
        let limited = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, maximumWindowLog)
        guard ZSTD_isError(limited) == 0 else {
            ZSTD_freeDCtx(context)
            throw SWAError(file: path, "zstd: cannot limit the window: \(ZstdError(result: limited))")
        }
        return context
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while output.pos < output.size {
            // Between frames: the next one may go straight into place.
            if lastHint == 0, try decodeFrameInPlace(&output) { continue }
            if input.pos == input.size, !fileExhausted { try refill() }
            let inputExhausted = input.pos == input.size && fileExhausted
            if inputExhausted, lastHint == 0 { break }
            if lastHint == 0, stableOutput { try setStableOutput(false) }
            let producedBefore = output.pos
            let hint = ZSTD_decompressStream(context, &output, &input)
            if ZSTD_isError(hint) != 0 { throw describe(ZstdError(result: hint)) }
            if hint == 0 { framesDecoded += 1 }
            lastHint = hint
            if inputExhausted, hint != 0, output.pos == producedBefore {
                throw SWAError(file: file.path, "truncated zstd stream: the file ends inside a frame")
            }
        }
        return output.pos
    }

    private func refill() throws {
        let count = try file.read(into: inputStorage)
        if count == 0 { fileExhausted = true }
        input = ZSTD_inBuffer(src: UnsafeRawPointer(inputStorage.baseAddress), size: count, pos: 0)
    }

    // MARK: - Frames straight into place

    /// Decodes the frame that starts at the input's position straight into `output` at its
    /// position, if its header states a content size of at least `smallestFrameDecodedInPlace`
    /// that fits in the space left; returns whether it did. Only called between frames.
    private func decodeFrameInPlace(_ output: inout ZSTD_outBuffer) throws -> Bool {
        let space = output.size - output.pos
        guard space >= Self.smallestFrameDecodedInPlace else { return false }
        // The longest frame header (ZSTD_FRAMEHEADERSIZE_MAX) tells the content size.
        try topUpInput(toAtLeast: 18)
        let available = input.size - input.pos
        guard available > 0 else { return false }
        let contentSize = ZSTD_getFrameContentSize(input.src! + input.pos, available)
        // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR are the two largest values, and
        // a skippable frame reports 0: all stream as before.
        guard contentSize >= UInt64(Self.smallestFrameDecodedInPlace), contentSize <= UInt64(space) else { return false }
        if !stableOutput { try setStableOutput(true) }
        // libzstd requires this very buffer, exactly the frame's size, on every call of the frame.
        var frame = ZSTD_outBuffer(dst: output.dst! + output.pos, size: Int(contentSize), pos: 0)
        while true {
            if input.pos == input.size, !fileExhausted { try refill() }
            let inputExhausted = input.pos == input.size && fileExhausted
            let producedBefore = frame.pos
            let hint = ZSTD_decompressStream(context, &frame, &input)
            if ZSTD_isError(hint) != 0 { throw describe(ZstdError(result: hint)) }
            lastHint = hint
            if hint == 0 { break }
            if inputExhausted, frame.pos == producedBefore {
                throw SWAError(file: file.path, "truncated zstd stream: the file ends inside a frame")
            }
        }
        // libzstd checks the decoded size against the header's; this guards our own arithmetic.
        guard frame.pos == frame.size else {
            throw SWAError(file: file.path, "corrupt zstd stream: a frame decoded to \(frame.pos) bytes, its header says \(frame.size)")
        }
        output.pos += frame.pos
        framesDecoded += 1
        framesDecodedInPlace += 1
        return true
    }

    /// Switches libzstd between decoding into its own window and into the caller's buffer.
    /// Allowed only between frames. The corresponding C parameter is `ZSTD_d_stableOutBuffer`
    /// (an experimental parameter, `ZSTD_d_experimentalParam2` in the stable header).
    private func setStableOutput(_ stable: Bool) throws {
        let result = ZSTD_DCtx_setParameter(context, ZSTD_d_experimentalParam2, stable ? 1 : 0)
        guard ZSTD_isError(result) == 0 else {
            throw SWAError(file: file.path, "zstd: cannot switch the output mode between frames: \(ZstdError(result: result))")
        }
        stableOutput = stable
    }

    /// Makes at least `count` unread bytes available in the input buffer, moving the unread
    /// rest to its start and reading after it, unless the file ends first.
    private func topUpInput(toAtLeast count: Int) throws {
        while input.size - input.pos < count, !fileExhausted {
            let remaining = input.size - input.pos
            if remaining > 0, input.pos > 0 {
                inputStorage.baseAddress!.copyMemory(from: input.src! + input.pos, byteCount: remaining)
            }
            let got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: inputStorage[remaining...]))
            if got == 0 { fileExhausted = true }
            input = ZSTD_inBuffer(src: UnsafeRawPointer(inputStorage.baseAddress), size: remaining + got, pos: 0)
        }
    }

    /// The sentence for a decoding failure, chosen by libzstd's error code.
    private func describe(_ error: ZstdError) -> SWAError {
        let window = "\(1 << (Self.maximumWindowLog - 20)) MiB"
        switch error.code {
        case ZSTD_error_checksum_wrong:
            return SWAError(file: file.path, "corrupt zstd stream: frame checksum does not match its content (\(error.name))")
        case ZSTD_error_frameParameter_windowTooLarge:
            return SWAError(file: file.path, "zstd frame needs a window larger than \(window) (\(error.name)); recompress it without --long")
        case ZSTD_error_memory_allocation:
            return SWAError(file: file.path, "zstd: not enough memory to decode this frame, whose window may take up to \(window) (\(error.name))")
        default:
            return SWAError(file: file.path, "corrupt zstd stream: \(error.name)")
        }
    }
}
