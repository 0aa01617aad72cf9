/// The `swa.*` keys of a checkpoint's `__metadata__`, read and written in this one place
/// (docs/FORMAT.md, "Metadata").
///
/// Safetensors metadata is a map of strings to strings; some of our values are numbers
/// (`swa.epoch`) and some are JSON documents (`swa.preprocess`, `swa.sources`, `swa.bn`). This
/// type is a typed view over that map: each key has one property that decodes and encodes it,
/// and every key it does not know (a user's own, a later version's) is carried through
/// untouched. It encodes as the string map itself, so `Codable` round trips are exact.
public struct CheckpointMetadata: Sendable, Equatable, Codable {
    /// The keys of the schema, as they appear in files.
    public enum Key: String, Sendable, CaseIterable {
        case epoch = "swa.epoch"
        case step = "swa.step"
        case graph = "swa.graph"
        case preprocess = "swa.preprocess"
        case averagedCount = "swa.n_averaged"
        case method = "swa.method"
        case sources = "swa.sources"
        case batchNorm = "swa.bn"
        /// What a partial result of a sharded run holds (SWAKit's `PartialResultHeader`, docs/SCALE.md).
        case partial = "swa.partial"
    }

    /// Every entry as stored, known keys and unknown ones alike.
    public private(set) var values: [String: String]

    /// A view over `values` (a safetensors header's `__metadata__`).
    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// The raw string stored under `key`, if any.
    public subscript(key: Key) -> String? {
        get { values[key.rawValue] }
        set { values[key.rawValue] = newValue }
    }

    public init(from decoder: Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: String].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }
}

// MARK: - Training position

extension CheckpointMetadata {
    /// `swa.epoch`: the epoch the checkpoint was saved at; nil when absent or not a number.
    public var epoch: Double? {
        get { self[.epoch].flatMap(Double.init) }
        set { self[.epoch] = newValue.map(formatPosition) }
    }

    /// `swa.step`: the optimizer step the checkpoint was saved at; outranks the epoch for ordering.
    public var step: Double? {
        get { self[.step].flatMap(Double.init) }
        set { self[.step] = newValue.map(formatPosition) }
    }
}

// MARK: - Model and data

extension CheckpointMetadata {
    /// `swa.graph`: the model graph JSON text (docs/GRAPH.md), decoded by the model engine.
    public var graphJSON: String? {
        get { self[.graph] }
        set { self[.graph] = newValue }
    }

    /// `swa.preprocess`: how raw data becomes model input; nil when absent.
    /// - Parameter file: the checkpoint, named in the error when the JSON is invalid.
    public func preprocessing(file: String?) throws -> Preprocessing? {
        guard let text = self[.preprocess] else { return nil }
        return try Preprocessing.parse(metadataJSON: text, file: file)
    }

    /// Records `preprocessing` as `swa.preprocess` (nil removes the key).
    public mutating func setPreprocessing(_ preprocessing: Preprocessing?) {
        self[.preprocess] = preprocessing?.metadataJSON
    }
}

// MARK: - Training state

extension CheckpointMetadata {
    /// Keys that describe the training run at one checkpoint (its position, learning rate,
    /// momentum, losses and accuracies), not the weights: an average of several checkpoints
    /// drops them rather than inherit the last input's (docs/FORMAT.md, "Metadata keys").
    public static let trainingStateKeys: Set<String> = [
        Key.epoch.rawValue, Key.step.rawValue, "swa.lr", "swa.momentum", "swa.weight_decay",
        "swa.loss", "swa.train_loss", "swa.train_accuracy", "swa.val_loss", "swa.val_accuracy",
        "swa.test_loss", "swa.test_accuracy",
    ]

    /// Removes every key of `trainingStateKeys`.
    public mutating func removeTrainingState() {
        for key in Self.trainingStateKeys { values[key] = nil }
    }
}

// MARK: - What produced the checkpoint

/// One input of an average, as `swa.sources` records it.
public struct SourceRecord: Sendable, Equatable, Codable {
    /// The input's file name (without its folder).
    public var name: String
    /// SHA-256 of the input file's bytes on disk, lowercase hex.
    public var sha256: String
    /// The input's training position (step, epoch or the number in its name).
    public var position: Double
    /// Its share of the result; the shares sum to 1.
    public var weight: Double

    public init(name: String, sha256: String, position: Double, weight: Double) {
        self.name = name
        self.sha256 = sha256
        self.position = position
        self.weight = weight
    }
}

extension CheckpointMetadata {
    /// `swa.n_averaged`: how many checkpoints were averaged into this one.
    public var averagedCount: Int? {
        get { self[.averagedCount].flatMap { Int($0) } }
        set { self[.averagedCount] = newValue.map(String.init) }
    }

    /// `swa.method`: `uniform`, `weighted` or `ema:DECAY`.
    public var method: String? {
        get { self[.method] }
        set { self[.method] = newValue }
    }

    /// `swa.sources`: the inputs of the average with their hashes; nil when absent.
    /// - Throws: if the value is not a JSON list of source records.
    public func sources(file: String?) throws -> [SourceRecord]? {
        guard let text = self[.sources] else { return nil }
        do {
            return try JSONCoding.decode([SourceRecord].self, from: text)
        } catch {
            throw SWAError(file: file, "swa.sources: not a list of {name, sha256, position, weight}: \(error)")
        }
    }

    /// Records `sources` as `swa.sources` (nil removes the key).
    public mutating func setSources(_ sources: [SourceRecord]?) {
        self[.sources] = sources.map(JSONCoding.encode)
    }
}

// MARK: - Batch-norm statistics

/// How a recomputation of the BN statistics was done, as `swa.bn` records it.
public struct BatchNormRecord: Sendable, Equatable, Codable {
    /// Always `"recomputed"`: the statistics belong to these weights.
    public var method: String
    /// `batch` (PyTorch's `update_bn`) or `sample` (the paper's code).
    public var weighting: String
    /// The data file's name (without its folder).
    public var data: String
    /// SHA-256 of the data file's bytes, lowercase hex.
    public var dataSHA256: String
    public var samples: Int
    public var batches: Int
    public var batchSize: Int
    /// The augmentation flag as given (`crop:4,flip`), if any.
    public var augment: String?
    /// The augmentation's seed, when there was an augmentation.
    public var seed: UInt64?
    /// The normalisation the pass fed the data through (absent in records written before it was kept).
    public var normalization: NormalizationRecord?

    enum CodingKeys: String, CodingKey {
        case method, weighting, data, dataSHA256 = "data_sha256", samples, batches, batchSize = "batch_size", augment, seed, normalization
    }

    public init(weighting: String, data: String, dataSHA256: String, samples: Int, batches: Int, batchSize: Int,
                augment: String?, seed: UInt64?, normalization: NormalizationRecord? = nil) {
        self.method = "recomputed"
        self.weighting = weighting
        self.data = data
        self.dataSHA256 = dataSHA256
        self.samples = samples
        self.batches = batches
        self.batchSize = batchSize
        self.augment = augment
        self.seed = seed
        self.normalization = normalization
    }
}

/// The state of a checkpoint's BN running statistics, from `swa.bn`.
public enum BatchNormStatus: Sendable, Equatable {
    /// Averaged or copied from another checkpoint: they belong to no single set of weights.
    case stale
    /// Recomputed for these weights by a pass over data.
    case recomputed(BatchNormRecord)
    /// A value this version does not understand, kept as it is.
    case unrecognized(String)

    /// How reports name the state: `stale`, `updated` or `unknown`.
    public var summary: String {
        switch self {
        case .stale: "stale"
        case .recomputed: "updated"
        case .unrecognized: "unknown"
        }
    }
}

extension CheckpointMetadata {
    /// `swa.bn`; nil when the key is absent (a checkpoint straight from training).
    public var batchNorm: BatchNormStatus? {
        get {
            guard let text = self[.batchNorm] else { return nil }
            if text == "stale" { return .stale }
            if let record = try? JSONCoding.decode(BatchNormRecord.self, from: text), record.method == "recomputed" {
                return .recomputed(record)
            }
            return .unrecognized(text)
        }
        set {
            switch newValue {
            case nil: self[.batchNorm] = nil
            case .stale: self[.batchNorm] = "stale"
            case let .recomputed(record): self[.batchNorm] = JSONCoding.encode(record)
            case let .unrecognized(text): self[.batchNorm] = text
            }
        }
    }

    /// How reports name the BN state: `stale`, `updated`, or `unknown` (also when absent).
    public var batchNormSummary: String { batchNorm?.summary ?? "unknown" }
}

// MARK: - Helpers

extension SafetensorsHeader {
    /// The `__metadata__` map seen through the `swa.*` schema.
    public var checkpointMetadata: CheckpointMetadata {
        get { CheckpointMetadata(metadata) }
        set { metadata = newValue.values }
    }
}

/// Prints a training position without a needless ".0": `10`, `10.5`.
public func formatPosition(_ position: Double) -> String {
    position == position.rounded() && abs(position) < 1e15 ? String(Int64(position)) : String(position)
}
