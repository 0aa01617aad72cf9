import SWAData
import SWAEngine
import SWAFormats
/// What `swa-eval --json` prints: DESIGN §4's contract (accuracy as a fraction, NLL in nats),
/// plus timings. Keys are snake_case.
public struct EvaluationReport: Codable, Sendable {
    public struct DataSummary: Codable, Sendable {
        public var path: String
        public var samples: Int

        public init(path: String, samples: Int) {
            self.path = path
            self.samples = samples
        }
    }

    public struct ModelSummary: Codable, Sendable {
        public var path: String
        public var accuracy: Double
        public var nll: Double
        public var ece: Double
        public var brier: Double
        /// "updated" (swa-bn-update ran), "stale" (averaged or copied statistics) or "unknown".
        public var bn: String
        public var seconds: Double
    }

    public struct MemberSummary: Codable, Sendable {
        public var path: String
        public var accuracy: Double
        public var nll: Double
        public var ece: Double
        public var brier: Double
    }

    public struct CurvePoint: Codable, Sendable {
        public var k: Int
        public var accuracy: Double
        public var nll: Double
        public var ece: Double
        public var brier: Double
    }

    public struct EnsembleSummary: Codable, Sendable {
        public var members: [MemberSummary]
        public var accuracy: Double
        public var nll: Double
        public var ece: Double
        public var brier: Double
        public var curve: [CurvePoint]
        public var seconds: Double
    }

    public struct ForwardPasses: Codable, Sendable {
        public var model: Int
        public var ensemble: Int

        public init(model: Int, ensemble: Int) {
            self.model = model
            self.ensemble = ensemble
        }
    }

    public var data: DataSummary
    public var model: ModelSummary
    /// The SWA model before its BN update, when `--before-bn` names it.
    public var modelBeforeBN: ModelSummary?
    public var ensemble: EnsembleSummary?
    /// Fraction of samples where the model's and the ensemble's top classes agree.
    public var agreement: Double?
    public var forwardPasses: ForwardPasses

    private enum CodingKeys: String, CodingKey {
        case data, model, modelBeforeBN, ensemble, agreement, forwardPasses
    }

    /// Absent parts are written as `null`, so the JSON always has every key of the contract.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(model, forKey: .model)
        try container.encode(modelBeforeBN, forKey: .modelBeforeBN)
        try container.encode(ensemble, forKey: .ensemble)
        try container.encode(agreement, forKey: .agreement)
        try container.encode(forwardPasses, forKey: .forwardPasses)
    }

    public init(data: DataSummary, model: ModelSummary, modelBeforeBN: ModelSummary?, ensemble: EnsembleSummary?,
                agreement: Double?, forwardPasses: ForwardPasses) {
        self.data = data
        self.model = model
        self.modelBeforeBN = modelBeforeBN
        self.ensemble = ensemble
        self.agreement = agreement
        self.forwardPasses = forwardPasses
    }
}

extension EvaluationReport.ModelSummary {
    public init(path: String, metrics: ClassificationMetrics, bn: String, seconds: Double) {
        self.init(path: path, accuracy: metrics.accuracy, nll: metrics.nll, ece: metrics.ece, brier: metrics.brier, bn: bn, seconds: seconds)
    }
}

extension EvaluationReport.EnsembleSummary {
    public init(_ ensemble: FGEEnsemble) {
        let whole = ensemble.metrics!
        self.init(
            members: ensemble.members.map { .init(path: $0.path, accuracy: $0.metrics.accuracy, nll: $0.metrics.nll, ece: $0.metrics.ece, brier: $0.metrics.brier) },
            accuracy: whole.accuracy, nll: whole.nll, ece: whole.ece, brier: whole.brier,
            curve: ensemble.curve.enumerated().map { .init(k: $0.offset + 1, accuracy: $0.element.accuracy, nll: $0.element.nll, ece: $0.element.ece, brier: $0.element.brier) },
            seconds: ensemble.members.reduce(0) { $0 + $1.seconds })
    }
}

/// How a checkpoint's BN statistics came about, from its `swa.bn` metadata.
public func batchNormState(of checkpoint: LoadedCheckpoint) -> String {
    guard let value = checkpoint.header.metadata["swa.bn"] else { return "unknown" }
    if value == "stale" { return "stale" }
    if (try? JSONValue.parse(value))?["method"]?.stringValue == "recomputed" { return "updated" }
    return "unknown"
}
