/// A model saved as several safetensors files, seen as one checkpoint: a sharded safetensors
/// index (`model.safetensors.index.json`) with its shards, or a folder holding one model
/// (`ModelFolder`: an index, or a single `model.safetensors`), such as a Hugging Face Trainer's
/// `checkpoint-<step>/`.
///
/// The virtual payload is the shards' data sections one after another, in shard-name order
/// (`model-00001-of-0000N` first), each shard's tensors in its own storage order; its metadata
/// is the shards' `__metadata__` (the first shard's value wins where they differ), plus
/// `swa.step` from the folder's `trainer_state.json` (`global_step`) unless a shard records one.
/// A data stream reads shard after shard, one open file at a time, so memory stays bounded by
/// one read chunk. The raw bytes its observer sees are the shard files' bytes, whole, in that
/// order: the SHA-256 of a sharded checkpoint is that of its shards concatenated.
///
/// Opening checks the index against the shards, each a one-line error naming the file and the
/// tensor: a shard the index names must exist; every tensor of a shard must be in the index,
/// under that shard; every tensor the index puts in a shard must be there.
public final class ShardedSafetensorsArchive: RandomAccessTensorArchive {
    /// One shard file and where its data lies in the virtual data section.
    public struct Shard: Sendable {
        /// The shard's path (its folder joined to the name the index gives).
        public var path: String
        /// `.safetensors` or `.zstd`.
        public var format: FileFormat
        /// The shard's own header.
        public var header: SafetensorsHeader
        /// Size of the shard file on disk, in bytes.
        public var fileByteCount: Int
        /// Data offset of the shard's first byte in the virtual data section.
        public var dataStart: Int
    }

    /// The path as the user gave it: the folder, or the index file.
    public let path: String
    /// `.safetensorsIndex` when an index lists the shards, `.safetensors` for a folder holding
    /// one plain `model.safetensors` (`.zstd` if that file is compressed).
    public let format: FileFormat
    /// The virtual header: every shard's tensors, shard after shard, offsets back to back.
    public let header: SafetensorsHeader
    /// Bytes on disk of all shards together.
    public let fileByteCount: Int
    /// The index file, or `nil` for a folder holding one `model.safetensors`.
    public let indexPath: String?
    /// The shards in reading order.
    public let shards: [Shard]

    /// Watches the raw bytes of the first stream opened without an observer.
    private var observerAtOpening: ((UnsafeRawBufferPointer) -> Void)?
    /// Shard files opened for `readData(at:into:)`, by shard index.
    private var positionedFiles: [Int: InputFile] = [:]

    /// Opens a folder holding one model, or a sharded safetensors index file.
    /// - Parameter onRawBytes: sees every byte of the first data stream opened without an
    ///   observer (the shard files, whole, in order).
    /// - Throws: if the folder holds no model, the index is invalid, a shard is missing or
    ///   invalid, or the shards disagree with the index; each error names the file and tensor.
    public init(path: String, onRawBytes: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        self.path = path
        let folder: String
        let modelFile: String
        if ModelFolder.isDirectory(path) {
            guard let found = ModelFolder.modelFile(in: path) else {
                throw SWAError(file: path, "holds no model: neither \(ModelFolder.indexName) nor \(ModelFolder.singleFileName)"
                    + " (a folder of checkpoint folders is a run: give one of them, e.g. checkpoint-<step>/)")
            }
            folder = path
            modelFile = found
        } else {
            folder = SWAFormats.folder(of: path)
            modelFile = path
        }
        let shardNames: [String]
        let index: SafetensorsIndex?
        if try FileFormat.detect(path: modelFile) == .safetensorsIndex {
            let parsed = try SafetensorsIndex.read(path: modelFile)
            guard !parsed.weightMap.isEmpty else { throw SWAError(file: modelFile, "the index lists no tensors") }
            index = parsed
            indexPath = modelFile
            shardNames = parsed.shardNames
        } else {
            index = nil
            indexPath = nil
            shardNames = [String(modelFile.split(separator: "/").last ?? "")]
        }
        let opened = try Self.openShards(shardNames, folder: folder, index: index, indexPath: modelFile)
        shards = opened
        fileByteCount = opened.reduce(0) { $0 + $1.fileByteCount }
        format = index != nil ? .safetensorsIndex : opened[0].format
        header = try Self.virtualHeader(opened, folder: folder)
        observerAtOpening = onRawBytes
    }

    // MARK: - Opening and checking the shards

    private static func openShards(_ names: [String], folder: String, index: SafetensorsIndex?, indexPath: String) throws -> [Shard] {
        let placed = index.map { Dictionary($0.weightMap.map { ($0.tensor, $0.shard) }, uniquingKeysWith: { first, _ in first }) }
        var shards: [Shard] = []
        var dataStart = 0
        for name in names {
            let shardPath = ModelFolder.join(folder, name)
            guard ModelFolder.isRegularFile(shardPath) else {
                let tensors = index?.weightMap.filter { $0.shard == name }.map(\.tensor) ?? []
                let example = tensors.first.map { " for tensor '\($0)'\(tensors.count > 1 ? " and \(tensors.count - 1) more" : "")" } ?? ""
                throw SWAError(file: indexPath, "names shard '\(name)'\(example), but there is no such file")
            }
            let archive = try SafetensorsArchive(path: shardPath)
            if let placed, let index {
                for tensor in archive.header.tensors {
                    guard let expected = placed[tensor.name] else {
                        throw SWAError(file: shardPath, "holds tensor '\(tensor.name)', which the index \(indexPath) does not list")
                    }
                    guard expected == name else {
                        throw SWAError(file: shardPath, "holds tensor '\(tensor.name)', which the index \(indexPath) puts in '\(expected)'")
                    }
                }
                for entry in index.weightMap where entry.shard == name && archive.header.tensor(named: entry.tensor) == nil {
                    throw SWAError(file: shardPath, "lacks tensor '\(entry.tensor)', which the index \(indexPath) puts in this shard")
                }
            }
            shards.append(Shard(path: shardPath, format: archive.format, header: archive.header,
                                fileByteCount: archive.fileByteCount, dataStart: dataStart))
            dataStart += archive.header.dataByteCount
        }
        return shards
    }

    /// The shards' tensors back to back, their metadata merged, `swa.step` from the trainer state.
    private static func virtualHeader(_ shards: [Shard], folder: String) throws -> SafetensorsHeader {
        var metadata: [String: String] = [:]
        var specs: [TensorSpec] = []
        for shard in shards {
            metadata.merge(shard.header.metadata) { first, _ in first }
            specs += shard.header.tensors.map { TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        }
        var checkpointMetadata = CheckpointMetadata(metadata)
        if checkpointMetadata.step == nil, let step = try ModelFolder.trainerGlobalStep(in: folder) {
            checkpointMetadata.step = Double(step)
        }
        return SafetensorsHeader(laying: specs, metadata: checkpointMetadata.values)
    }

    // MARK: - Reading

    /// A stream over the shards' data sections, one shard file open at a time.
    public func openDataStream(onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) throws -> any TensorDataStream {
        let observer = onRawBytes ?? observerAtOpening
        if onRawBytes == nil { observerAtOpening = nil }
        return ShardedDataStream(archive: self, onRawBytes: observer)
    }

    /// The tensor's bytes, read from its shard.
    public func readTensor(named name: String) throws -> [UInt8] {
        guard let info = header.tensor(named: name) else { throw missingTensorError(name) }
        guard let shard = shards.first(where: { $0.header.tensor(named: info.name) != nil }) else { throw missingTensorError(name) }
        let archive = try SafetensorsArchive(path: shard.path)
        guard archive.header.tensors == shard.header.tensors else { throw SWAError(file: shard.path, "changed on disk while being read") }
        return try archive.readTensor(named: name)
    }

    /// Whether every shard is a plain file (zstd shards decode in order only).
    public var supportsRandomAccess: Bool { shards.allSatisfy { $0.format == .safetensors } }

    /// Reads the virtual data section at `offset`, from the shard or shards that hold it.
    public func readData(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard supportsRandomAccess else { throw SWAError(file: path, "internal: a zstd shard cannot be read at an offset") }
        guard offset >= 0, offset + buffer.count <= header.dataByteCount else {
            throw SWAError(file: path, "internal: read of \(buffer.count) bytes at data offset \(offset) passes the tensor data")
        }
        var done = 0
        while done < buffer.count {
            let index = shardIndex(containing: offset + done)
            let shard = shards[index]
            let within = offset + done - shard.dataStart
            let take = min(buffer.count - done, shard.header.dataByteCount - within)
            try positionedFile(index).read(at: 8 + shard.header.jsonByteCount + within,
                                           into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + take]))
            done += take
        }
    }

    /// The shard whose data holds virtual data offset `offset` (which lies before the end).
    func shardIndex(containing offset: Int) -> Int {
        shards.firstIndex { $0.dataStart <= offset && offset < $0.dataStart + $0.header.dataByteCount } ?? shards.count - 1
    }

    /// Shard `index`'s file for reads at an offset, opened once (at most 16 kept open).
    private func positionedFile(_ index: Int) throws -> InputFile {
        if let file = positionedFiles[index] { return file }
        if positionedFiles.count >= 16 { positionedFiles.removeAll() }
        let file = try InputFile(path: shards[index].path)
        guard file.size == shards[index].fileByteCount else { throw SWAError(file: file.path, "changed on disk while being read") }
        positionedFiles[index] = file
        return file
    }
}
