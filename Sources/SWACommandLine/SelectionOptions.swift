import ArgumentParser
import SWAKit

/// `--start --end --every --last`, shared by every tool that picks checkpoints of a run.
public struct SelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Keep checkpoints at this training position or later (step, epoch or number in the name).", valueName: "position"))
    public var start: Double?

    @Option(help: ArgumentHelp("Keep checkpoints at this training position or earlier.", valueName: "position"))
    public var end: Double?

    @Option(help: ArgumentHelp("Then keep the 1st, (C+1)-th, (2C+1)-th ... checkpoint: one per cycle of C checkpoints.", valueName: "C"))
    public var every: Int?

    @Option(help: ArgumentHelp("Then keep only the last K checkpoints.", valueName: "K"))
    public var last: Int?

    public init() {}

    public func validate() throws {
        if let every, every < 1 { throw ValidationError("--every must be at least 1, got \(every)") }
        if let last, last < 1 { throw ValidationError("--last must be at least 1, got \(last)") }
        if let start, let end, start > end { throw ValidationError("--start \(start) lies after --end \(end)") }
    }

    /// The selection these flags describe.
    public var selection: CheckpointSelection {
        CheckpointSelection(start: start, end: end, every: every, last: last)
    }
}
