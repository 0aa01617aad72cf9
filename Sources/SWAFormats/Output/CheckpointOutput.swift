/// Where a tool writes a checkpoint, streamed: tensor data first, in the layout given at
/// creation, then the metadata at `finish`, when the output appears whole (or, on any failure
/// or `discard`, not at all).
///
/// Three layouts (docs/FORMAT.md, "Output layouts"), chosen from the destination by
/// `OutputLayout(destination:)`: our zstd format (`CheckpointWriter`), one plain safetensors
/// file (`SafetensorsFileWriter`), a Hugging Face folder (`HuggingFaceFolderWriter`).
public protocol CheckpointOutput: AnyObject {
    /// Tensors in payload order.
    var tensors: [TensorSpec] { get }
    /// Appends the next bytes of the data section (tensors in order, little-endian).
    func writeData(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes the header(s) with `metadata` and puts the output in place.
    /// - Returns: bytes written to disk (all files) and zstd frames (0 for plain outputs).
    @discardableResult
    func finish(metadata: [String: String]) throws -> (fileByteCount: Int, frameCount: Int)
    /// Abandons the output: nothing appears at the destination.
    func discard()
}

extension CheckpointWriter: CheckpointOutput {}

/// The form of an output, told by its destination.
public enum OutputLayout: Sendable, Equatable {
    /// Our format: zstd frames of a safetensors payload with a seek table (any other name).
    case zstd
    /// One plain `.safetensors` file (`-o NAME.safetensors`).
    case safetensors
    /// A Hugging Face folder (`-o FOLDER/`, or an existing folder): shards, index, side files.
    case huggingFaceFolder

    /// `FOLDER/` (a trailing slash) or an existing folder: a Hugging Face folder; a name ending
    /// in `.safetensors`: plain safetensors; anything else: our zstd format.
    public init(destination: String) {
        if destination.hasSuffix("/") || ModelFolder.isDirectory(destination) {
            self = .huggingFaceFolder
        } else if destination.lowercased().hasSuffix(".safetensors") {
            self = .safetensors
        } else {
            self = .zstd
        }
    }
}

/// How plain and folder outputs are written; ignored by the zstd format.
public struct OutputOptions: Sendable, Equatable {
    /// Largest tensor data of one shard of a Hugging Face folder, in bytes (`--max-shard-size`;
    /// `transformers`' default, 5 GB). A tensor larger than this gets a shard of its own.
    public var maxShardByteCount: Int
    /// The folder whose non-weight files (`config.json`, tokenizer and generation files) a
    /// Hugging Face folder output copies; `nil` copies none.
    public var sideFilesFrom: String?

    /// 5 GB, as `transformers`' `save_pretrained(max_shard_size="5GB")`.
    public static let defaultMaxShardByteCount = 5_000_000_000

    public init(maxShardByteCount: Int = OutputOptions.defaultMaxShardByteCount, sideFilesFrom: String? = nil) {
        self.maxShardByteCount = maxShardByteCount
        self.sideFilesFrom = sideFilesFrom
    }
}

/// Opens the output for `tensors` at `destination` in the layout its name asks for.
/// - Parameter overwrite: replace an existing output (`--force`); otherwise an existing file or
///   non-empty folder is an error now, before any work.
public func makeCheckpointOutput(destination: String, tensors: [TensorSpec], overwrite: Bool,
                                 options: OutputOptions = OutputOptions()) throws -> any CheckpointOutput {
    switch OutputLayout(destination: destination) {
    case .zstd:
        return try CheckpointWriter(destination: destination, tensors: tensors, overwrite: overwrite)
    case .safetensors:
        return try SafetensorsFileWriter(destination: destination, tensors: tensors, overwrite: overwrite)
    case .huggingFaceFolder:
        return try HuggingFaceFolderWriter(destination: destination, tensors: tensors, overwrite: overwrite, options: options)
    }
}

/// Metadata for a plain or folder output: `metadata` with `"format": "pt"` added, which
/// `transformers`' loader requires of safetensors files (`safe_open(...).metadata()["format"]`).
func metadataForPyTorch(_ metadata: [String: String]) -> [String: String] {
    var result = metadata
    if result["format"] == nil { result["format"] = "pt" }
    return result
}
