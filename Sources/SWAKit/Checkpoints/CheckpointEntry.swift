import SWAData
import SWAEngine
import SWAFormats
/// A checkpoint found on disk, with its header and its place in the training run.
public struct CheckpointEntry: Sendable {
    /// The path as found (directory + file name, or as the user typed it).
    public var path: String
    public var header: SafetensorsHeader
    public var isCompressed: Bool
    /// Size on disk in bytes.
    public var fileByteCount: Int
    /// Training position used for ordering and selection (step, epoch or the number in the name).
    public var position: Double

    /// The file name without its folder.
    public var fileName: String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// Where checkpoint positions come from, in order of preference (DESIGN §4).
public enum PositionSource: String, Sendable, Codable {
    case step = "swa.step"
    case epoch = "swa.epoch"
    case fileName = "file name"
}

/// Checkpoints of one run in training order, and how that order was decided.
public struct CheckpointSequence: Sendable {
    public var entries: [CheckpointEntry]
    public var positionSource: PositionSource
}
