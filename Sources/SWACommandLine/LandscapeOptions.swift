import ArgumentParser
import SWAData
import SWAEngine
import SWAFormats
import SWAKit

extension LandscapeBatchNorm: ExpressibleByArgument {}
extension DirectionNormalization: ExpressibleByArgument {}
extension DirectionIgnore: ExpressibleByArgument {}

/// Parses `--steps` / `--distances` (`A:B:N` or `T,T,...`) for `@Option(transform:)`.
public func sweepArgument(_ text: String) throws -> SweepValues {
    do {
        return try SweepValues.parse(text, flag: nil)  // the parser names the flag and the value
    } catch let error as SWAError {
        throw ValidationError(error.message)
    }
}

/// What every `swa-landscape` subcommand shares: the two data sets, the BN policy, the outputs.
public struct LandscapeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Training data (as --data of swa-bn-update: .npz, checkpoint format, CIFAR or image folder): BN statistics and the train loss at every point.", valueName: "path"))
    public var train: String

    @Option(help: ArgumentHelp("Test data (the same kinds): test error and NLL at every point.", valueName: "path"))
    public var test: String

    @Option(help: ArgumentHelp("At every point, recompute the BN statistics on the training data (update) or keep those the arithmetic gives (keep).", valueName: "policy"))
    public var bn: LandscapeBatchNorm = .update

    @OptionGroup
    public var reading: DataReadingFlags

    @OptionGroup(title: "PyTorch inputs")
    public var pytorch: PyTorchInputOptions

    @Option(help: ArgumentHelp("Points evaluated at once (default: one per core).", valueName: "n"))
    public var threads: Int?

    @Option(help: ArgumentHelp("Write every point as CSV.", valueName: "file.csv"))
    public var csv: String?

    @Option(help: ArgumentHelp("Write an SVG plot.", valueName: "file.svg"))
    public var plot: String?

    @Flag(help: "Replace existing --csv and --plot files.")
    public var force = false

    public init() {}

    public func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// The request for `path` (the training or the test data), reading `split` of a CIFAR folder
    /// (--train reads the training split and --test the test split, whatever --split says).
    public func request(_ path: String, split: DataSplit) -> DataRequest {
        var request = reading.request(path, defaultSplit: split)
        request.folder.split = split
        return request
    }

    /// The job for `kind` with these options.
    public func job(_ kind: LandscapeJob.Kind, model: ModelOptions, directions: RandomDirections = RandomDirections(seed: 0)) -> LandscapeJob {
        var job = LandscapeJob(kind: kind, modelSource: model.source, train: request(train, split: .train), test: request(test, split: .test),
                               batchNorm: bn, directions: directions, workers: threads, csvPath: csv, plotPath: plot, overwrite: force)
        job.archiveOptions = pytorch.archiveOptions
        return job
    }
}
