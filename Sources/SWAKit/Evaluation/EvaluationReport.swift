import SWAFormats

/// What `swa-eval --json` prints: the contract of docs/CLI.md ("swa-eval --json"; accuracy as
/// a fraction, NLL in nats), plus timings. Keys are snake_case. Every metrics block is one
/// `ClassificationMetrics`, encoded flat beside the fields around it.
public struct EvaluationReport: Codable, Sendable {
    public struct DataSummary: Codable, Sendable {
        public var path: String
        public var samples: Int
        /// The normalisation every model's inputs went through, and where it came from.
        public var normalization: NormalizationRecord

        public init(path: String, samples: Int, normalization: NormalizationRecord) {
            self.path = path
            self.samples = samples
            self.normalization = normalization
        }
    }

    /// A single model: `{"path", "accuracy", "nll", "ece", "brier", "bn", "seconds"}`.
    public struct ModelSummary: Codable, Sendable {
        public var path: String
        public var metrics: ClassificationMetrics
        /// "updated" (swa-bn-update ran), "stale" (averaged or copied statistics) or "unknown".
        public var bn: String
        /// Wall time of its forward passes.
        public var seconds: Double

        public init(path: String, metrics: ClassificationMetrics, bn: String, seconds: Double) {
            self.path = path
            self.metrics = metrics
            self.bn = bn
            self.seconds = seconds
        }

        private enum CodingKeys: String, CodingKey { case path, bn, seconds }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decode(String.self, forKey: .path)
            bn = try container.decode(String.self, forKey: .bn)
            seconds = try container.decode(Double.self, forKey: .seconds)
            metrics = try ClassificationMetrics(from: decoder)
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(bn, forKey: .bn)
            try container.encode(seconds, forKey: .seconds)
            try metrics.encode(to: encoder)
        }
    }

    /// One ensemble member: `{"path", "accuracy", "nll", "ece", "brier"}`.
    public struct MemberSummary: Codable, Sendable {
        public var path: String
        public var metrics: ClassificationMetrics

        public init(path: String, metrics: ClassificationMetrics) {
            self.path = path
            self.metrics = metrics
        }

        private enum CodingKeys: String, CodingKey { case path }

        public init(from decoder: Decoder) throws {
            path = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .path)
            metrics = try ClassificationMetrics(from: decoder)
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try metrics.encode(to: encoder)
        }
    }

    /// The FGE ensemble: its members, its own metrics (flat), the curve and its cost.
    public struct EnsembleSummary: Codable, Sendable {
        public var members: [MemberSummary]
        public var metrics: ClassificationMetrics
        public var curve: [CurvePoint]
        /// Wall time of all members' forward passes.
        public var seconds: Double

        public init(members: [MemberSummary], metrics: ClassificationMetrics, curve: [CurvePoint], seconds: Double) {
            self.members = members
            self.metrics = metrics
            self.curve = curve
            self.seconds = seconds
        }

        private enum CodingKeys: String, CodingKey { case members, curve, seconds }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            members = try container.decode([MemberSummary].self, forKey: .members)
            curve = try container.decode([CurvePoint].self, forKey: .curve)
            seconds = try container.decode(Double.self, forKey: .seconds)
            metrics = try ClassificationMetrics(from: decoder)
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(members, forKey: .members)
            try container.encode(curve, forKey: .curve)
            try container.encode(seconds, forKey: .seconds)
            try metrics.encode(to: encoder)
        }
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
    /// The §3.5 check: how far the model's predictions are from the ensemble's, against how
    /// far the members' are from each other; nil without an ensemble.
    public var linearization: Linearization?
    public var forwardPasses: ForwardPasses

    private enum CodingKeys: String, CodingKey {
        case data, model, modelBeforeBN, ensemble, agreement, linearization, forwardPasses
    }

    /// Absent parts are written as `null`, so the JSON always has every key of the contract.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(model, forKey: .model)
        try container.encode(modelBeforeBN, forKey: .modelBeforeBN)
        try container.encode(ensemble, forKey: .ensemble)
        try container.encode(agreement, forKey: .agreement)
        try container.encode(linearization, forKey: .linearization)
        try container.encode(forwardPasses, forKey: .forwardPasses)
    }

    public init(data: DataSummary, model: ModelSummary, modelBeforeBN: ModelSummary?, ensemble: EnsembleSummary?,
                agreement: Double?, linearization: Linearization? = nil, forwardPasses: ForwardPasses) {
        self.data = data
        self.model = model
        self.modelBeforeBN = modelBeforeBN
        self.ensemble = ensemble
        self.agreement = agreement
        self.linearization = linearization
        self.forwardPasses = forwardPasses
    }
}

extension EvaluationReport.EnsembleSummary {
    /// The summary of an evaluated ensemble.
    public init(_ ensemble: FGEEnsemble) {
        self.init(
            members: ensemble.members.map { .init(path: $0.path, metrics: $0.metrics) },
            metrics: ensemble.metrics!,
            curve: ensemble.curve.enumerated().map { CurvePoint(k: $0.offset + 1, metrics: $0.element) },
            seconds: ensemble.members.reduce(0) { $0 + $1.seconds })
    }
}

extension EvaluationReport {
    /// The ensemble curve as CSV (`k,accuracy,nll,ece,brier`, one line per k), or nil without an ensemble.
    public var curveCSV: String? {
        guard let curve = ensemble?.curve else { return nil }
        var text = "k,accuracy,nll,ece,brier\n"
        for point in curve {
            let m = point.metrics
            text += "\(point.k),\(m.accuracy),\(m.nll),\(m.ece),\(m.brier)\n"
        }
        return text
    }

    /// The SVG plot of the ensemble curve with the model as a line, or nil without an ensemble.
    public var curvePlot: EnsembleCurvePlot? {
        guard let curve = ensemble?.curve else { return nil }
        return EnsembleCurvePlot(curve: curve, swaAccuracy: model.metrics.accuracy, swaNLL: model.metrics.nll,
                                 title: "SWA vs FGE on \(data.path)")
    }
}
