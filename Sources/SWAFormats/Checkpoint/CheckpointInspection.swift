/// What `swa-inspect` reports of one checkpoint, after reading it through and verifying
/// every frame's checksum and the exact coverage of the data section.
public struct CheckpointInspection: Codable, Sendable {
    public struct Tensor: Codable, Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var bytes: Int
    }

    public var path: String
    /// "zstd" or "safetensors".
    public var container: String
    public var fileBytes: Int
    /// Bytes of the safetensors payload (length field, header, data).
    public var payloadBytes: Int
    public var headerBytes: Int
    /// Independent zstd frames (data frames plus skippable frames such as the seek table); 0 for plain files.
    public var frames: Int
    /// Whether the file ends with a zstd seekable-format seek table.
    public var seekTable: Bool
    /// Frames listed in the seek table.
    public var seekTableFrames: Int?
    public var elements: Int
    public var metadata: [String: String]
    public var tensors: [Tensor]

    /// Reads `path` through and describes it; any corruption is an error naming the file.
    public static func inspect(path: String) throws -> CheckpointInspection {
        let reader = try CheckpointReader(path: path)
        let frames = try reader.finish()
        let header = reader.header
        var seekTable: SeekTable?
        if reader.isCompressed {
            seekTable = try SeekTable.read(from: InputFile(path: path))
            if let seekTable {
                let described = seekTable.entries.reduce(0) { $0 + $1.decompressedByteCount }
                guard described == header.payloadByteCount else {
                    throw SWAError(file: path, "seek table describes \(described) bytes of payload, the stream holds \(header.payloadByteCount)")
                }
            }
        }
        return CheckpointInspection(
            path: path, container: reader.isCompressed ? "zstd" : "safetensors", fileBytes: reader.fileByteCount,
            payloadBytes: header.payloadByteCount, headerBytes: 8 + header.jsonByteCount, frames: frames,
            seekTable: seekTable != nil, seekTableFrames: seekTable?.entries.count,
            elements: header.tensors.reduce(0) { $0 + $1.elementCount }, metadata: header.metadata,
            tensors: header.tensors.map { Tensor(name: $0.name, dtype: $0.dtype.name, shape: $0.shape, bytes: $0.byteCount) })
    }
}
