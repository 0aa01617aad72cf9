import SWAData
import SWAEngine
import SWAFormats
/// A checkpoint found on disk, with its header and its place in the training run.
public struct CheckpointEntry: Sendable {
    /// The path as found (directory + file name, or as the user typed it).
    public var path: String
    /// The tensors (storage order) and metadata, as the checkpoint's `TensorArchive` presents them.
    public var header: SafetensorsHeader
    /// The format its archive reports: `.zstd`, `.safetensors`, `.pytorchZip` or `.pickle`, or
    /// `.safetensorsIndex` for a sharded checkpoint.
    public var format: FileFormat
    /// Whether the file is a zstd stream (else plain safetensors).
    public var isCompressed: Bool { format == .zstd }
    /// Size on disk in bytes.
    public var fileByteCount: Int
    /// Training position used for ordering and selection (step, epoch or the number in the name).
    public var position: Double

    /// How the file is read (`--key`, `--strip-prefix`); every reopening uses the same.
    public var options: ArchiveOptions = .none
    /// The file name without its folder.
    public var fileName: String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// Where checkpoint positions come from, in order of preference (docs/CLI.md, swa-avg, "Order").
public enum PositionSource: String, Sendable, Codable {
    /// The `swa.step` metadata key, when every checkpoint has it.
    case step = "swa.step"
    /// The `swa.epoch` metadata key, when every checkpoint has it.
    case epoch = "swa.epoch"
    /// The last number in the file name, e.g. 13 for `ckpt-013.safetensors.zst`.
    case fileName = "file name"
}

/// Checkpoints of one run in training order, and how that order was decided.
public struct CheckpointSequence: Sendable {
    /// The checkpoints, by ascending position.
    public var entries: [CheckpointEntry]
    /// Where the positions came from.
    public var positionSource: PositionSource
}
