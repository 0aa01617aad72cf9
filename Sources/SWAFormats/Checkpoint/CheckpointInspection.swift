/// What `swa-inspect` reports of one checkpoint, after reading it through and verifying
/// every frame's checksum and the exact coverage of the data section: its container, sizes,
/// metadata, tensors, and the NaN and infinite values each float tensor holds.
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
        /// Its NaN and infinite elements (count, NaNs, first flat index); absent when every
        /// element is finite, and always for integer and bool tensors.
        public var nonFinite: NonFiniteValues?
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
    /// Tensors holding NaN or an infinity (0 when all are finite).
    public var nonFiniteTensors: Int
    /// NaN and infinite elements over all tensors.
    public var nonFiniteElements: Int
    /// For a PyTorch file: where the state dict was found and what else the pickle holds.
    public var pytorch: PyTorchStructure?

    /// Reads `path` through and describes it; any corruption is an error naming the file.
    /// `options` says how to read a PyTorch file (`--key`, `--strip-prefix`).
    public static func inspect(path: String, options: ArchiveOptions = .none) throws -> CheckpointInspection {
        let archive = try TensorArchives.open(path: path, options: options)
        let header = archive.header
        let stream = try archive.openDataStream()
        let nonFinite = try stream.countNonFiniteValues(in: header.tensors)
        let frames = try stream.finish()
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
            tensors: zip(header.tensors, nonFinite).map { tensor, values in
                Tensor(name: tensor.name, dtype: tensor.dtype.name, shape: tensor.shape, bytes: tensor.byteCount, nonFinite: values)
            },
            nonFiniteTensors: nonFinite.count { $0 != nil }, nonFiniteElements: nonFinite.reduce(0) { $0 + ($1?.count ?? 0) },
            pytorch: (archive as? PyTorchArchive)?.structure)
    }
}
