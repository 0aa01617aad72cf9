import ArgumentParser
import SWAData
import SWAFormats
import SWAKit

/// `--data` and how to read it, shared by swa-bn-update and swa-eval.
public struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Data: .npz with arrays x and y, a checkpoint-format file with tensors x and y, a CIFAR-10/100 folder as distributed (python or binary), or an image folder root/<class>/<image> (JPEG, PNG).", valueName: "path"))
    public var data: String?

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

    @Option(help: ArgumentHelp("Use only the first N samples.", valueName: "N"))
    public var limit: Int?

    @OptionGroup(title: "Data folders")
    public var folders: DataFolderFlags

    public init() {}

    public func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        if (mean == nil) != (std == nil) { throw ValidationError("--mean and --std go together") }
    }

    /// The request these flags describe; a CIFAR folder's split is `defaultSplit` unless `--split` says.
    /// - Throws: `ValidationError` when `--data` is missing.
    public func request(defaultSplit: DataSplit = .train) throws -> DataRequest {
        guard let data else { throw ValidationError("missing --data") }
        let normalization = mean.flatMap { mean in std.map { (mean: mean, std: $0) } }
        return folders.applied(to: DataRequest(path: data, xKey: xKey, yKey: yKey, layout: layout, normalization: normalization,
                                               limit: limit, batchSize: batchSize), defaultSplit: defaultSplit)
    }
}
