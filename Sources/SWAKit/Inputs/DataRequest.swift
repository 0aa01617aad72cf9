import SWAData
import SWAFormats

/// Which data to read and how to normalise it: what `--data`, `--x-key`, `--y-key`, `--layout`,
/// `--mean/--std`, `--limit` and `--batch-size` say, before any file is opened.
///
/// Normalisation given here outranks the model checkpoint's `swa.preprocess`; a layout given
/// here outranks both (docs/CLI.md, "Data").
public struct DataRequest: Sendable, Equatable {
    /// The data file: `.npz` with arrays x and y, or a checkpoint-format file with tensors x and y.
    public var path: String
    /// Name of the inputs array.
    public var xKey: String
    /// Name of the labels array.
    public var yKey: String
    /// Layout of x, outranking the preprocessing's; nil takes it from the preprocessing or the rank.
    public var layout: DataLayout?
    /// Per-channel mean and standard deviation, outranking the checkpoint's `swa.preprocess`.
    public var normalization: (mean: [Double], std: [Double])?
    /// Read only the first `limit` samples.
    public var limit: Int?
    /// Samples per forward pass.
    public var batchSize: Int

    public init(path: String, xKey: String = "x", yKey: String = "y", layout: DataLayout? = nil,
                normalization: (mean: [Double], std: [Double])? = nil, limit: Int? = nil, batchSize: Int = 128) {
        self.path = path
        self.xKey = xKey
        self.yKey = yKey
        self.layout = layout
        self.normalization = normalization
        self.limit = limit
        self.batchSize = batchSize
    }

    public static func == (lhs: DataRequest, rhs: DataRequest) -> Bool {
        lhs.path == rhs.path && lhs.xKey == rhs.xKey && lhs.yKey == rhs.yKey && lhs.layout == rhs.layout
            && lhs.normalization?.mean == rhs.normalization?.mean && lhs.normalization?.std == rhs.normalization?.std
            && lhs.limit == rhs.limit && lhs.batchSize == rhs.batchSize
    }

    /// The preprocessing for data fed to `model`: the request's normalisation, else the
    /// checkpoint's `swa.preprocess`, else none (values only scaled); the request's layout on top.
    public func preprocessing(for model: LoadedCheckpoint) throws -> Preprocessing? {
        var result = try model.header.checkpointMetadata.preprocessing(file: model.path)
        if let normalization {
            result = Preprocessing(layout: result?.layout ?? .nchw, mean: normalization.mean, std: normalization.std, scale: result?.scale)
        }
        if let layout, var current = result {
            current.layout = layout
            result = current
        }
        return result
    }

    /// Opens the data, normalised for `model`, and checks one sample's shape against the graph's input.
    /// - Parameters:
    ///   - augmentation: seeded random crop and flip (the BN update's `--augment`), or nil.
    ///   - seed: the augmentation's seed.
    public func open(for model: LoadedModel, augmentation: Augmentation? = nil, seed: UInt64 = 0) throws -> DataSet {
        let data = try DataSet(path: path, xKey: xKey, yKey: yKey, layout: layout, preprocessing: try preprocessing(for: model.checkpoint),
                               augmentation: augmentation, seed: seed, limit: limit)
        guard data.sampleShape == model.graph.inputShape else {
            throw SWAError(file: data.path, "samples have shape \(data.sampleShape), the model expects \(model.graph.inputShape)")
        }
        return data
    }
}
