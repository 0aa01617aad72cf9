import SWAData
import SWAEngine
import SWAFormats
/// Which checkpoints of a run to use: `--start/--end` bound the position (inclusive),
/// `--every C` then keeps the 1st, (C+1)-th, (2C+1)-th ... of what remains, and `--last K`
/// keeps the last K (docs/CLI.md, swa-avg, "Selection"). Shared by `swa-avg` and `swa-eval`.
public struct CheckpointSelection: Sendable, Equatable {
    /// `--start`: the lowest position kept (inclusive).
    public var start: Double?
    /// `--end`: the highest position kept (inclusive).
    public var end: Double?
    /// `--every C`: keep one checkpoint in C, starting with the first in range.
    public var every: Int?
    /// `--last K`: keep at most the last K.
    public var last: Int?

    /// A selection; `nil` leaves a bound or filter out.
    public init(start: Double? = nil, end: Double? = nil, every: Int? = nil, last: Int? = nil) {
        self.start = start
        self.end = end
        self.every = every
        self.last = last
    }

    /// The kept entries, still in training order; an empty result is an error that says why.
    public func apply(to sequence: CheckpointSequence) throws -> [CheckpointEntry] {
        var kept = sequence.entries.filter { entry in
            (start.map { entry.position >= $0 } ?? true) && (end.map { entry.position <= $0 } ?? true)
        }
        if let every, every > 1 {
            kept = kept.enumerated().filter { $0.offset % every == 0 }.map(\.element)
        }
        if let last, kept.count > last {
            kept = Array(kept.suffix(last))
        }
        guard !kept.isEmpty else {
            let positions = sequence.entries.map(\.position)
            let range = positions.isEmpty ? "none" : "\(formatPosition(positions.first!))…\(formatPosition(positions.last!))"
            throw SWAError("the selection \(description) keeps none of the \(sequence.entries.count) checkpoints (\(sequence.positionSource.rawValue) \(range))")
        }
        return kept
    }

    /// The selection as flags, e.g. `--start 10 --every 2`.
    public var description: String {
        var parts: [String] = []
        if let start { parts.append("--start \(formatPosition(start))") }
        if let end { parts.append("--end \(formatPosition(end))") }
        if let every { parts.append("--every \(every)") }
        if let last { parts.append("--last \(last)") }
        return parts.isEmpty ? "(all)" : parts.joined(separator: " ")
    }
}
