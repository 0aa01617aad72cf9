#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a Hugging Face model folder (`-o FOLDER/`), loadable by `transformers`'
/// `from_pretrained` and by `safetensors` through its index:
/// - shards `model-00001-of-0000N.safetensors`, each holding at most `maxShardByteCount` bytes of
///   tensor data (a larger tensor gets a shard of its own), tensors in output order, filled as
///   `transformers`' `shard_checkpoint` fills them; every shard's `__metadata__` holds the
///   `swa.*` keys and `"format": "pt"`;
/// - `model.safetensors.index.json` (`metadata.total_size`, `weight_map` sorted by name);
///   a single shard is `model.safetensors` with no index, as `transformers` saves it;
/// - the non-weight files of `options.sideFilesFrom` (`config.json`, tokenizer and generation
///   files), never its weights, optimizer, scheduler, RNG or trainer state (`isSideFile`).
///
/// Every file is written as a `PendingFile` beside the destination (unnamed where the file
/// system allows `O_TMPFILE`, so nothing is left even after SIGKILL); at `finish` they are
/// gathered into a hidden folder that is renamed into place (`TemporaryFileRegistry.commitFolder`):
/// the folder appears whole or not at all. An existing folder is replaced only with
/// `overwrite` (an empty one always).
public final class HuggingFaceFolderWriter: CheckpointOutput {
    public let tensors: [TensorSpec]
    /// The destination without its trailing slash.
    public let destination: String
    /// Tensor indices of each shard, in order.
    public let shardPlan: [Range<Int>]
    private let options: OutputOptions
    private let overwrite: Bool
    private let spool: DataSpool
    private let dataByteCount: Int
    private var finished = false

    /// Prepares to write `tensors` as a folder at `destination`.
    /// - Throws: if `destination` is a file or a non-empty folder and `overwrite` is false, if
    ///   the shard size is not positive, or if the temporary folder cannot be made.
    public init(destination: String, tensors: [TensorSpec], overwrite: Bool, options: OutputOptions) throws {
        var trimmed = destination
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.destination = trimmed
        self.tensors = tensors
        self.options = options
        self.overwrite = overwrite
        guard options.maxShardByteCount > 0 else { throw SWAError(file: trimmed, "--max-shard-size must be positive") }
        shardPlan = Self.planShards(tensors, maxShardByteCount: options.maxShardByteCount)
        dataByteCount = tensors.reduce(0) { $0 + $1.byteCount }
        try Self.checkDestination(trimmed, overwrite: overwrite)
        TemporaryFileRegistry.shared.removeStaleFiles(besides: trimmed)
        spool = try DataSpool(besides: trimmed)
    }

    /// Shards as `transformers` fills them: tensors in order, a new shard when the next tensor
    /// would take the current one past `maxShardByteCount` bytes of data.
    static func planShards(_ tensors: [TensorSpec], maxShardByteCount: Int) -> [Range<Int>] {
        var shards: [Range<Int>] = []
        var start = 0, size = 0
        for (index, tensor) in tensors.enumerated() {
            if index > start, size + tensor.byteCount > maxShardByteCount {
                shards.append(start..<index)
                start = index
                size = 0
            }
            size += tensor.byteCount
        }
        shards.append(start..<tensors.count)
        return shards
    }

    /// The file names of the shards: `model.safetensors` alone, else `model-0000i-of-0000N.safetensors`.
    public var shardNames: [String] {
        let count = shardPlan.count
        guard count > 1 else { return [ModelFolder.singleFileName] }
        func padded(_ number: Int) -> String { String(repeating: "0", count: max(0, 5 - String(number).count)) + String(number) }
        return (1...count).map { "model-\(padded($0))-of-\(padded(count)).safetensors" }
    }

    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard spool.byteCount + bytes.count <= dataByteCount else {
            throw SWAError(file: destination, "internal: more tensor data than the layout holds")
        }
        try spool.write(bytes)
    }

    @discardableResult
    public func finish(metadata: [String: String]) throws -> (fileByteCount: Int, frameCount: Int) {
        guard !finished else { throw SWAError(file: destination, "internal: finish after discard or finish") }
        finished = true
        guard spool.byteCount == dataByteCount else {
            throw SWAError(file: destination, "internal: \(spool.byteCount) of \(dataByteCount) bytes of tensor data written")
        }
        let shardMetadata = metadataForPyTorch(metadata)
        var written = 0
        var weightMap: [(String, String)] = []
        var files: [NewFile] = []
        for (range, name) in zip(shardPlan, shardNames) {
            let specs = Array(tensors[range])
            let file = try NewFile(name: name, in: destination)
            files.append(file)
            let prefix = SafetensorsHeader(laying: specs, metadata: shardMetadata).encodedPrefix()
            try prefix.withUnsafeBytes { try file.write($0) }
            let shardData = specs.reduce(0) { $0 + $1.byteCount }
            try spool.copy(shardData) { try file.write($0) }
            try file.sync()
            written += prefix.count + shardData
            weightMap += specs.map { ($0.name, name) }
        }
        if shardPlan.count > 1 {
            let index = Self.indexJSON(totalSize: dataByteCount, weightMap: weightMap)
            let file = try NewFile(name: ModelFolder.indexName, in: destination)
            files.append(file)
            try index.withUnsafeBytes { try file.write($0) }
            try file.sync()
            written += index.count
        }
        if let source = options.sideFilesFrom {
            let (copies, bytes) = try copySideFiles(from: source)
            files += copies
            written += bytes
        }
        TestHooks.pauseBeforeCommit(of: destination)
        try Self.checkDestination(destination, overwrite: overwrite)
        try TemporaryFileRegistry.shared.commitFolder(files.map { ($0.name, $0.file) }, to: destination, suffix: "swa-tmp")
        syncFolder(SWAFormats.folder(of: destination))
        return (written, 0)
    }

    /// Abandons the folder: the files written so far vanish when released, nothing appears.
    public func discard() { finished = true }

    // MARK: - The index and the side files

    /// The index as `transformers` writes it: `json.dumps(index, indent=2, sort_keys=True)`.
    static func indexJSON(totalSize: Int, weightMap: [(String, String)]) -> [UInt8] {
        func quoted(_ text: String) -> String { JSONValue.string(text).serialized }
        let entries = weightMap.sorted { $0.0 < $1.0 }.map { "    \(quoted($0.0)): \(quoted($0.1))" }
        let text = "{\n  \"metadata\": {\n    \"total_size\": \(totalSize)\n  },\n  \"weight_map\": {\n"
            + entries.joined(separator: ",\n") + "\n  }\n}\n"
        return Array(text.utf8)
    }

    /// Whether a file of a model folder is copied into the output: configuration, tokenizer and
    /// generation files are; weights (`.safetensors`, indexes, `.bin`, `.pt`, `.pth`, `.ckpt`,
    /// `.zst`), optimizer, scheduler, RNG and trainer state, and hidden files are not.
    public static func isSideFile(_ name: String) -> Bool {
        let lowered = name.lowercased()
        if lowered.hasPrefix(".") { return false }
        let weightSuffixes = [".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json", ".pt", ".pth", ".ckpt",
                              ".zst", ".zstd", ".h5", ".msgpack", ".npz", ".gguf"]
        if weightSuffixes.contains(where: lowered.hasSuffix) { return false }
        let trainingState = ["optimizer", "scheduler", "rng_state", "scaler", "trainer_state", "training_args"]
        return !trainingState.contains(where: lowered.hasPrefix)
    }

    /// Copies the side files of `source` (regular files only, not subfolders) into new files.
    /// - Returns: the files, synced, and the bytes copied.
    private func copySideFiles(from source: String) throws -> (files: [NewFile], byteCount: Int) {
        guard let directory = opendir(source) else {
            throw SWAError(file: source, "cannot list the folder to copy its configuration files: \(errnoDescription(errno))")
        }
        var names: [String] = []
        while let entry = readdir(directory) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
        closedir(directory)
        var copied = 0
        var files: [NewFile] = []
        for name in names.sorted() where Self.isSideFile(name) {
            let path = ModelFolder.join(source, name)
            guard ModelFolder.isRegularFile(path) else { continue }
            let input = try InputFile(path: path)
            let output = try NewFile(name: name, in: destination)
            files.append(output)
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                copied += count
            }
            try output.sync()
        }
        return (files, copied)
    }

    /// Refuses a file, or a folder that is not empty, unless `overwrite`.
    static func checkDestination(_ destination: String, overwrite: Bool) throws {
        var status = stat()
        guard stat(destination, &status) == 0, !overwrite else { return }
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            throw SWAError(file: destination, "already exists and is not a folder; pass --force to replace it")
        }
        guard let directory = opendir(destination) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != ".", name != ".." {
                throw SWAError(file: destination, "already exists and is not empty; pass --force to replace it")
            }
        }
    }
}

/// One file of the folder being written: a `PendingFile` beside the folder's destination, given
/// its place at `commitFolder`. Errors name the path the file will have once the folder is in
/// place. Released, it is closed, and a named fallback file is removed if it was not moved.
private final class NewFile {
    /// The file's name inside the folder.
    let name: String
    let file: PendingFile
    private let reportedAs: String

    init(name: String, in destination: String) throws {
        self.name = name
        reportedAs = destination + "/" + name
        file = try TemporaryFileRegistry.shared.createPendingFile(besides: destination, suffix: "swa-tmp")
    }

    deinit { TemporaryFileRegistry.shared.discard(file) }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try writeAll(file.descriptor, bytes, path: reportedAs) }

    /// Syncs the file to disk and gives it the permissions a new file gets (a named fallback
    /// file is made 0600). The corresponding C functions are `fchmod` and `fsync`.
    func sync() throws {
        if !file.isUnnamed, fchmod(file.descriptor, 0o666 & ~processUmask) != 0 {
            throw SWAError(file: reportedAs, "cannot set the permissions: \(errnoDescription(errno))")
        }
        guard fsync(file.descriptor) == 0 else { throw SWAError(file: reportedAs, "cannot sync to disk: \(errnoDescription(errno))") }
    }
}
