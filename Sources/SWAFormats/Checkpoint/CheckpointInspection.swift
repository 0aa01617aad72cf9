/// What `swa-inspect` reports of one checkpoint, after reading it through and verifying
/// every frame's checksum and the exact coverage of the data section.
public struct CheckpointInspection: Codable, Sendable {
    /// One tensor as the header lists it.
    public struct Tensor: Codable, Sendable {
        /// The state_dict key, e.g. `"layer1.0.conv1.weight"`.
        public var name: String
        /// The safetensors dtype name, e.g. `"F32"`.
        public var dtype: String
        /// Dimensions, outermost first (C order); `[]` is a scalar.
        public var shape: [Int]
        /// Bytes of data: elements times the dtype's size.
        public var bytes: Int
    }

    /// The path as the user gave it.
    public var path: String
    /// The format, as `FileFormat.rawValue`: "zstd", "safetensors", "pytorchZip" or "pickle" (legacy torch.save).
    public var container: String
    /// Size of the file on disk, in bytes.
    public var fileBytes: Int
    /// Bytes of the safetensors payload (length field, header, data).
    public var payloadBytes: Int
    /// Bytes of the length field and the JSON header: where the data section starts in the payload.
    public var headerBytes: Int
    /// Independent zstd frames (data frames plus skippable frames such as the seek table); 0 for plain files.
    public var frames: Int
    /// Whether the file ends with a zstd seekable-format seek table.
    public var seekTable: Bool
    /// Frames listed in the seek table.
    public var seekTableFrames: Int?
    /// Elements of all tensors together.
    public var elements: Int
    /// The `__metadata__` map (docs/FORMAT.md, "Metadata keys").
    public var metadata: [String: String]
    /// Tensors in storage order.
    public var tensors: [Tensor]
    /// For a PyTorch file: where the state dict was found and what else the pickle holds.
    public var pytorch: PyTorchStructure?

    /// Reads `path` through and describes it; any corruption is an error naming the file.
    /// `options` says how to read a PyTorch file (`--key`, `--strip-prefix`).
    public static func inspect(path: String, options: ArchiveOptions = .none) throws -> CheckpointInspection {
        let archive = try TensorArchives.open(path: path, options: options)
        let frames = try archive.openDataStream().finish()
        let header = archive.header
        var seekTable: SeekTable?
        if archive.format == .zstd, archive is SafetensorsArchive {
            seekTable = try SeekTable.read(from: InputFile(path: path))
            if let seekTable {
                let described = seekTable.entries.reduce(0) { $0 + $1.decompressedByteCount }
                guard described == header.payloadByteCount else {
                    throw SWAError(file: path, "seek table describes \(described) bytes of payload, the stream holds \(header.payloadByteCount)")
                }
            }
        }
        return CheckpointInspection(
            path: path, container: archive.format.rawValue, fileBytes: archive.fileByteCount,
            payloadBytes: header.payloadByteCount, headerBytes: 8 + header.jsonByteCount, frames: frames,
            seekTable: seekTable != nil, seekTableFrames: seekTable?.entries.count,
            elements: header.tensors.reduce(0) { $0 + $1.elementCount }, metadata: header.metadata,
            tensors: header.tensors.map { Tensor(name: $0.name, dtype: $0.dtype.name, shape: $0.shape, bytes: $0.byteCount) },
            pytorch: (archive as? PyTorchArchive)?.structure)
    }
}
