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
    @Option(help: ArgumentHelp("Training data (.npz with x and y): BN statistics and the train loss at every point.", valueName: "file"))
    public var train: String

    @Option(help: ArgumentHelp("Test data (.npz with x and y): test error and NLL at every point.", valueName: "file"))
    public var test: String

    @Option(help: ArgumentHelp("At every point, recompute the BN statistics on the training data (update) or keep those the arithmetic gives (keep).", valueName: "policy"))
    public var bn: LandscapeBatchNorm = .update

    @Option(help: ArgumentHelp("Samples per forward pass (BN update and evaluation).", valueName: "n"))
    public var batchSize: Int = 128

    @Option(help: ArgumentHelp("Name of the inputs array in the data files.", valueName: "key"))
    public var xKey: String = "x"

    @Option(help: ArgumentHelp("Name of the labels array in the data files.", valueName: "key"))
    public var yKey: String = "y"

    @Option(help: ArgumentHelp("Layout of x (default: the checkpoint's swa.preprocess, else nchw for images).", valueName: "layout"))
    public var layout: DataLayout?

    @Option(help: ArgumentHelp("Per-channel means to subtract, comma-separated (default: the checkpoint's swa.preprocess).", valueName: "m,m,m"),
            transform: commaSeparatedNumbers)
    public var mean: [Double]?

    @Option(help: ArgumentHelp("Per-channel standard deviations to divide by, comma-separated.", valueName: "s,s,s"),
            transform: commaSeparatedNumbers)
    public var std: [Double]?

    @Option(help: ArgumentHelp("Use only the first N samples of each data set.", valueName: "N"))
    public var limit: Int?

    @OptionGroup(title: "PyTorch inputs")
    public var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Data folders")
    public var folders: DataFolderFlags

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
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if (mean == nil) != (std == nil) { throw ValidationError("--mean and --std go together") }
    }

    /// The request for `path` (the training or the test data), reading `split` of a CIFAR folder.
    public func request(_ path: String, split: DataSplit) -> DataRequest {
        let normalization = mean.flatMap { mean in std.map { (mean: mean, std: $0) } }
        var request = folders.applied(to: DataRequest(path: path, xKey: xKey, yKey: yKey, layout: layout, normalization: normalization,
                                                      limit: limit, batchSize: batchSize), defaultSplit: split)
        request.folder.split = split  // --train reads the training split and --test the test split, whatever --split says
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
