import ArgumentParser
import SWAData
import SWAFormats
import SWAKit

/// How to read and normalise data, whatever the data is for: batch size, array names, layout,
/// normalisation, limit, and the data-folder flags. Shared by `DataOptions` (`--data`, for
/// swa-bn-update and swa-eval) and swa-landscape's `--train`/`--test`.
public struct DataReadingFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Samples per forward pass.", valueName: "n"))
    public var batchSize: Int = 128

    @Option(help: ArgumentHelp("Name of the inputs array in the data file.", valueName: "key"))
    public var xKey: String = "x"

    @Option(help: ArgumentHelp("Name of the labels array in the data file.", valueName: "key"))
    public var yKey: String = "y"

    @Option(help: ArgumentHelp("Layout of x (default: the checkpoint's swa.preprocess, else nchw for images).", valueName: "layout"))
    public var layout: DataLayout?

    @Option(help: ArgumentHelp("Per-channel means to subtract, comma-separated (default: the checkpoint's swa.preprocess).", valueName: "m,m,m"),
            transform: commaSeparatedNumbers)
    public var mean: [Double]?

    @Option(help: ArgumentHelp("Per-channel standard deviations to divide by, comma-separated.", valueName: "s,s,s"),
            transform: commaSeparatedNumbers)
    public var std: [Double]?

    @Option(help: ArgumentHelp("Use only the first N samples (of each data set).", valueName: "N"))
    public var limit: Int?

    @OptionGroup(title: "Data folders")
    public var folders: DataFolderFlags

    public init() {}

    public func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        if (mean == nil) != (std == nil) { throw ValidationError("--mean and --std go together") }
    }

    /// The request for the data at `path`; a CIFAR folder's split is `defaultSplit` unless `--split` says.
    public func request(_ path: String, defaultSplit: DataSplit) -> DataRequest {
        let normalization = mean.flatMap { mean in std.map { (mean: mean, std: $0) } }
        return folders.applied(to: DataRequest(path: path, xKey: xKey, yKey: yKey, layout: layout, normalization: normalization,
                                               limit: limit, batchSize: batchSize), defaultSplit: defaultSplit)
    }
}
