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
    /// How to read a data folder: CIFAR split and labels, image transforms, `--skip-bad`.
    public var folder = DataFolderOptions()
    /// `--preprocess NAME`: a normalisation that stands in for `--mean/--std` when those are not given.
    public var preset: DataPreset?

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
            && lhs.folder == rhs.folder && lhs.preset == rhs.preset
            && lhs.normalization?.mean == rhs.normalization?.mean && lhs.normalization?.std == rhs.normalization?.std
            && lhs.limit == rhs.limit && lhs.batchSize == rhs.batchSize
    }

    /// The preprocessing for data fed to `model`: the request's normalisation, else the
    /// checkpoint's `swa.preprocess`, else none (values only scaled); the request's layout on top.
    public func preprocessing(for model: LoadedCheckpoint) throws -> Preprocessing? {
        var result = try model.header.checkpointMetadata.preprocessing(file: model.path)
        if let normalization = normalization ?? preset.map({ (mean: $0.mean, std: $0.std) }) {
            result = Preprocessing(layout: result?.layout ?? .nchw, mean: normalization.mean, std: normalization.std, scale: result?.scale)
        }
        if let layout, var current = result {
            current.layout = layout
            result = current
        }
        return result
    }

    /// Where the normalisation for data fed to `model` comes from: the flags, its `swa.preprocess`, or none.
    public func normalizationSource(for model: LoadedCheckpoint) -> NormalizationRecord.Source {
        if normalization != nil || preset != nil { return .flags }
        return model.header.checkpointMetadata[.preprocess] != nil ? .metadata : .none
    }

    /// What `dataSet` (opened by `open(for:)`) applies, for reports and the `swa.bn` record.
    public func normalization(of dataSet: DataSet, for model: LoadedCheckpoint) -> NormalizationRecord {
        let preprocessing = dataSet.preprocessing
        let scale = dataSet.inputs.dtype == .u8 ? 1.0 / 255 : (preprocessing?.scale ?? 1)
        return NormalizationRecord(source: preprocessing == nil ? .none : normalizationSource(for: model), layout: dataSet.layout,
                                   mean: preprocessing?.mean, std: preprocessing?.std, scale: scale)
    }

    /// The warning for images fed with no normalisation at all, naming the flags that fix it;
    /// nil when there is a normalisation or the data are feature vectors.
    public func missingNormalizationWarning(_ record: NormalizationRecord, model: String) -> String? {
        guard record.source == .none, record.layout != .nf else { return nil }
        return "warning: \(path): no normalisation: \(model) has no swa.preprocess and no --mean/--std were given, "
            + "so images go in \(record.scale == 1 ? "as stored" : "only scaled to [0, 1]"). "
            + "If the model was trained on normalised inputs, pass the training mean and std: --mean M[,M,M] --std S[,S,S]"
    }

    /// Opens the data, normalised for `model`, and checks one sample's shape against the graph's input.
    /// - Parameters:
    ///   - augmentation: seeded random crop and flip (the BN update's `--augment`), or nil.
    ///   - seed: the augmentation's seed.
    /// - Throws: besides `DataSet`'s errors, a sample shape the graph does not take; when the
    ///   shape is the graph's with the channels last (or first), the message suggests `--layout`.
    public func open(for model: LoadedModel, augmentation: Augmentation? = nil, seed: UInt64 = 0) throws -> DataSet {
        let data = try DataSet(path: path, xKey: xKey, yKey: yKey, layout: layout, preprocessing: try preprocessing(for: model.checkpoint),
                               augmentation: augmentation, seed: seed, limit: limit, folder: folder)
        let expected = model.graph.inputShape
        guard data.sampleShape == expected else {
            var message = "samples have shape \(data.sampleShape), the model expects \(expected)"
            if let hint = Self.layoutHint(sampleShape: data.sampleShape, expected: expected, layout: data.layout) { message += "; " + hint }
            throw SWAError(file: data.path, message)
        }
        return data
    }

    /// `--layout nhwc` when `sampleShape` is `expected` (C×H×W) with its channels moved last, and
    /// `--layout nchw` for the reverse; nil otherwise.
    static func layoutHint(sampleShape: [Int], expected: [Int], layout: DataLayout) -> String? {
        guard sampleShape.count == 3, expected.count == 3 else { return nil }
        let channelsLast = [expected[1], expected[2], expected[0]]
        let channelsFirst = [expected[2], expected[0], expected[1]]
        if layout == .nchw, sampleShape == channelsLast {
            return "x looks channels-last (N×H×W×C): pass --layout nhwc"
        }
        if layout == .nhwc, sampleShape == channelsFirst {
            return "x looks channels-first (N×C×H×W): pass --layout nchw"
        }
        return nil
    }
}
