import ArgumentParser
import SWAData
import SWAFormats
import SWAKit

/// `--data` and how to read it, shared by swa-bn-update and swa-eval.
public struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Data: .npz with arrays x and y, a checkpoint-format file with tensors x and y, a CIFAR-10/100 folder as distributed (python or binary), or an image folder root/<class>/<image> (JPEG, PNG).", valueName: "path"))
    public var data: String?

    @OptionGroup
    public var reading: DataReadingFlags

    public init() {}

    /// The request these flags describe; a CIFAR folder's split is `defaultSplit` unless `--split` says.
    /// - Throws: `ValidationError` when `--data` is missing.
    public func request(defaultSplit: DataSplit = .train) throws -> DataRequest {
        guard let data else { throw ValidationError("missing --data") }
        return reading.request(data, defaultSplit: defaultSplit)
    }
}
