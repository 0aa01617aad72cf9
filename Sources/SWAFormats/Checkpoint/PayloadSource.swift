import CZstd

/// The uncompressed bytes of a checkpoint file, read front to back.
protocol PayloadSource: AnyObject {
    /// Fills `buffer` from the stream; returns fewer bytes than asked only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Independent zstd frames completed so far (0 for a plain file).
    var framesDecoded: Int { get }
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
final class ZstdPayloadSource: PayloadSource {
    private let file: InputFile
    private let context: OpaquePointer
    private let inputStorage: UnsafeMutableRawBufferPointer
    private var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var fileExhausted = false
    /// The last `ZSTD_decompressStream` result: 0 exactly when the stream stands between frames.
    private var lastHint = 0
    private(set) var framesDecoded = 0

    /// Largest window accepted, as a power of two: 2^27 bytes = 128 MiB, libzstd's default
    /// (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`). Frames written with `zstd --long=28` or more need more.
    static let maximumWindowLog: Int32 = 27

    init(file: InputFile, alreadyRead prefix: [UInt8]) throws {
        self.file = file
        guard let context = ZSTD_createDCtx() else { throw SWAError(file: file.path, "zstd: cannot allocate a decompression context") }
        self.context = context
        // Said, not assumed: the limit the window-too-large message names (docs/FORMAT.md).
        let limited = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.maximumWindowLog)
        guard ZSTD_isError(limited) == 0 else {
            ZSTD_freeDCtx(context)
            throw SWAError(file: file.path, "zstd: cannot limit the window: \(ZstdError(result: limited))")
        }
        let capacity = max(ZSTD_DStreamInSize(), prefix.count)
        inputStorage = .allocate(byteCount: capacity, alignment: 16)
        inputStorage.copyBytes(from: prefix)
        input = ZSTD_inBuffer(src: UnsafeRawPointer(inputStorage.baseAddress), size: prefix.count, pos: 0)
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
