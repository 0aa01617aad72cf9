/// One point of the ensemble curve: the metrics of the FGE ensemble of the first `k` members.
///
/// Encodes flat, as `swa-eval --json` and `--csv` print it: `{"k", "accuracy", "nll", "ece", "brier"}`.
public struct CurvePoint: Sendable, Equatable, Codable {
    /// Number of ensemble members averaged, 1 ... K.
    public var k: Int
    /// The ensemble's accuracy (fraction), NLL (nats), ECE and Brier score.
    public var metrics: ClassificationMetrics

    /// The ensemble of the first `k` members scored `metrics`.
    public init(k: Int, metrics: ClassificationMetrics) {
        self.k = k
        self.metrics = metrics
    }

    /// A point known only by its accuracy (a fraction) and NLL (nats), as a plot needs it;
    /// ECE and Brier are NaN (unknown).
    public init(k: Int, accuracy: Double, nll: Double) {
        self.init(k: k, metrics: ClassificationMetrics(accuracy: accuracy, nll: nll, ece: .nan, brier: .nan))
    }

    /// Test accuracy as a fraction, 0 ... 1.
    public var accuracy: Double {
        get { metrics.accuracy }
        set { metrics.accuracy = newValue }
    }
    /// Mean test negative log-likelihood in nats.
    public var nll: Double {
        get { metrics.nll }
        set { metrics.nll = newValue }
    }

    private enum CodingKeys: String, CodingKey { case k }

    public init(from decoder: Decoder) throws {
        k = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .k)
        metrics = try ClassificationMetrics(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(k, forKey: .k)
        try metrics.encode(to: encoder)
    }
}
