/// Reads one safetensors checkpoint front to back: its header at once, its tensor data in
/// pieces. The data stream of a `SafetensorsArchive`.
///
/// The kind is told by magic bytes (`FileFormat.detect`), never by the file name: a zstd frame
/// or skippable frame first means a compressed safetensors payload, anything else must be
/// plain safetensors (docs/FORMAT.md). Memory is bounded by one read chunk plus the zstd
/// window, whatever the file's size.
public final class CheckpointReader: TensorDataStream {
    /// The path as the user gave it.
    public var path: String { file.path }
    /// The validated header.
    public let header: SafetensorsHeader
    /// `.zstd` for a zstd stream, else `.safetensors`.
    public let format: FileFormat
    /// Whether the file is a zstd stream (else plain safetensors).
    public var isCompressed: Bool { format == .zstd }
    /// Size of the file on disk in bytes.
    public var fileByteCount: Int { file.size }
    /// Bytes of the data section handed out so far.
    public private(set) var dataBytesRead = 0

    private let file: InputFile
    private let source: PayloadSource

    /// zstd frames decoded so far straight into the buffers of `readData` (`ZstdPayloadSource`).
    var framesDecodedInPlace: Int { source.framesDecodedInPlace }

    /// Opens `path` and reads and validates its header.
    /// - Parameter onRawBytes: sees every byte read from disk, in order (for hashing and progress).
    public convenience init(path: String, onRawBytes: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        let file = try InputFile(path: path)
        file.onRead = onRawBytes
        var prefix = [UInt8](repeating: 0, count: 8)
        let prefixCount = try prefix.withUnsafeMutableBytes { buffer in try file.readFully(into: buffer) }
        prefix.removeLast(8 - prefixCount)
        // Eight bytes tell a zstd stream from the rest; whatever else `detect` makes of them,
        // the safetensors checks below give the precise complaint.
        let isCompressed = FileFormat.detect(prefix: prefix, fileSize: file.size) == .zstd
        try self.init(file: file, format: isCompressed ? .zstd : .safetensors, source: isCompressed
            ? try ZstdPayloadSource(file: file, alreadyRead: prefix)
            : PlainPayloadSource(file: file, alreadyRead: prefix))
    }

    /// Reads and validates the header from `source`, the payload of `file` (`.zstd` or
    /// `.safetensors`, as `format` says). `CheckpointVerification` passes a source that
    /// records every frame.
    init(file: InputFile, format: FileFormat, source: PayloadSource) throws {
        self.file = file
        self.format = format
        self.source = source
        header = try Self.readHeader(from: source, file: file, isCompressed: format == .zstd)
    }

    private static func readHeader(from source: PayloadSource, file: InputFile, isCompressed: Bool) throws -> SafetensorsHeader {
        var lengthBytes = [UInt8](repeating: 0, count: 8)
        let got = try lengthBytes.withUnsafeMutableBytes { buffer in try source.read(into: buffer) }
        guard got == 8 else {
            throw SWAError(file: file.path, isCompressed
                ? "not a checkpoint: the zstd stream holds \(got) bytes, too few for a safetensors header"
                : "not a checkpoint: \(got) bytes, too short for a safetensors header and not zstd-compressed")
        }
        let length = lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard length >= 2, length <= UInt64(SafetensorsHeader.maximumJSONByteCount) else {
            throw SWAError(file: file.path, "not a checkpoint: safetensors header length \(length) is absurd"
                + " (limit \(SafetensorsHeader.maximumJSONByteCount) bytes; is this a Git LFS pointer or an HTML page?)")
        }
        let jsonLength = Int(length)
        var dataByteCount: Int?
        if !isCompressed {
            guard 8 + jsonLength <= file.size else {
                throw SWAError(file: file.path, "truncated: safetensors header length \(jsonLength) exceeds the file size \(file.size)")
            }
            dataByteCount = file.size - 8 - jsonLength
        }
        // Read in pieces so a lying length cannot make us allocate before the bytes exist.
        var json: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: min(jsonLength, 1 << 20))
        while json.count < jsonLength {
            let want = min(piece.count, jsonLength - json.count)
            let count = try piece.withUnsafeMutableBytes { buffer in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            }
            json.append(contentsOf: piece[..<count])
            if count < want {
                throw SWAError(file: file.path, "truncated: the stream ends inside the safetensors header (\(json.count) of \(jsonLength) bytes)")
            }
        }
        return try SafetensorsHeader.parse(json: json, file: file.path, dataByteCount: dataByteCount)
    }

    /// Fills `buffer` with the next bytes of the data section; throws if the stream ends first.
    public func readData(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard dataBytesRead + buffer.count <= header.dataByteCount else {
            throw SWAError(file: path, "internal: read past the tensor data")
        }
        let got = try source.read(into: buffer)
        dataBytesRead += got
        guard got == buffer.count else {
            let tensor = header.tensors.first { $0.dataOffsets.contains(dataBytesRead) }?.name ?? "?"
            throw SWAError(file: path, "truncated: the data ends at byte \(dataBytesRead) of \(header.dataByteCount), inside tensor '\(tensor)'")
        }
    }

    /// Reads whatever remains and checks that the data section ended exactly where the header
    /// says: nothing missing, nothing extra, every frame complete and its checksum verified.
    /// - Returns: the number of independent zstd frames decoded (skippable frames included).
    @discardableResult
    public func finish() throws -> Int {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while dataBytesRead < header.dataByteCount {
            let want = min(scratch.count, header.dataByteCount - dataBytesRead)
            try scratch.withUnsafeMutableBytes { buffer in
                try readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            }
        }
        let extra = try scratch.withUnsafeMutableBytes { buffer in try source.read(into: buffer) }
        if extra > 0 {
            throw SWAError(file: path, "bytes after the last tensor are not described by the header")
        }
        return source.framesDecoded
    }
}
