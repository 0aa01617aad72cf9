import SWAData
import SWAEngine
import SWAFormats
import ArgumentParser
import SWAKit

/// `--arch` / `--graph`: which network a checkpoint holds, shared by the tools that run one.
public struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A preset of the paper's code: vgg16, vgg16bn, vgg19, vgg19bn, preresnetN, wrnDxK.", valueName: "name"))
    public var arch: String?

    @Option(help: ArgumentHelp("A model graph JSON file (docs/GRAPH.md).", valueName: "file.json"))
    public var graph: String?

    public init() {}

    public func validate() throws {
        if arch != nil, graph != nil { throw ValidationError("--arch and --graph exclude each other") }
        if let arch {
            do { _ = try ArchitecturePreset(name: arch) } catch let error as SWAError { throw ValidationError(error.message) }
        }
    }

    /// The graph source these flags name (the checkpoint's swa.graph when neither is given).
    public var source: ModelSource { ModelSource(graphFile: graph, arch: arch) }
}

/// `--data` and how to read it, shared by swa-bn-update and swa-eval.
public struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Data: .npz with arrays x and y, or a checkpoint-format file with tensors x and y.", valueName: "file"))
    public var data: String?

    @Option(help: ArgumentHelp("Samples per forward pass.", valueName: "n"))
    public var batchSize: Int = 128

    @Option(help: ArgumentHelp("Name of the inputs array in the data file.", valueName: "key"))
    public var xKey: String = "x"

    @Option(help: ArgumentHelp("Name of the labels array in the data file.", valueName: "key"))
    public var yKey: String = "y"

    @Option(help: ArgumentHelp("Layout of x: nchw, nhwc or nf (default: the checkpoint's swa.preprocess, else nchw for images).", valueName: "layout"))
    public var layout: String?

    @Option(help: ArgumentHelp("Per-channel means to subtract, comma-separated (default: the checkpoint's swa.preprocess).", valueName: "m,m,m"))
    public var mean: String?

    @Option(help: ArgumentHelp("Per-channel standard deviations to divide by, comma-separated.", valueName: "s,s,s"))
    public var std: String?

    @Option(help: ArgumentHelp("Use only the first N samples.", valueName: "N"))
    public var limit: Int?

    public init() {}

    public func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        if let layout, DataLayout(rawValue: layout) == nil { throw ValidationError("--layout must be nchw, nhwc or nf, got '\(layout)'") }
        if (mean == nil) != (std == nil) { throw ValidationError("--mean and --std go together") }
        _ = try numbers(mean, "--mean")
        _ = try numbers(std, "--std")
    }

    private func numbers(_ text: String?, _ flag: String) throws -> [Double]? {
        guard let text else { return nil }
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) must be numbers separated by commas, got '\(text)'") }
        return values.map { $0! }
    }

    /// Preprocessing from the flags, else from the checkpoint's `swa.preprocess`, else none.
    public func preprocessing(checkpoint: LoadedCheckpoint) throws -> Preprocessing? {
        var result: Preprocessing?
        if let text = checkpoint.header.metadata["swa.preprocess"] {
            result = try Preprocessing.parse(metadataJSON: text, file: checkpoint.path)
        }
        if let mean = try numbers(mean, "--mean"), let std = try numbers(std, "--std") {
            result = Preprocessing(layout: result?.layout ?? .nchw, mean: mean, std: std, scale: result?.scale)
        }
        if let chosen = layoutOverride, let current = result {
            result = Preprocessing(layout: chosen, mean: current.mean, std: current.std, scale: current.scale)
        }
        return result
    }

    /// `--layout`, which outranks the preprocessing's layout.
    public var layoutOverride: DataLayout? { layout.flatMap(DataLayout.init(rawValue:)) }

    /// Opens the data set these flags describe, normalised for `checkpoint`.
    public func open(for checkpoint: LoadedCheckpoint, augmentation: Augmentation? = nil, seed: UInt64 = 0) throws -> DataSet {
        guard let data else { throw ValidationError("missing --data") }
        return try DataSet(path: data, xKey: xKey, yKey: yKey, layout: layoutOverride, preprocessing: try preprocessing(checkpoint: checkpoint),
                    augmentation: augmentation, seed: seed, limit: limit)
    }
}
