/// What `swa-landscape --json` prints (docs/CLI.md, "swa-landscape"): `{"kind", "points": [...]}`
/// and what the kind adds. Keys are snake_case; absent fields are left out of a point.
public struct LandscapeReport: Codable, Sendable {
    /// `line`, `width` or `plane`.
    public var kind: String
    /// The models given, in order (line: A, B; width: each MODEL; plane: W1, W2, W3, or the
    /// trajectory's checkpoints with `--pca`).
    public var models: [String]
    public var train: EvaluationReport.DataSummary
    public var test: EvaluationReport.DataSummary
    /// `update` (BN statistics recomputed at every point) or `keep`.
    public var bn: LandscapeBatchNorm
    /// Every point evaluated, in sweep order.
    public var points: [LandscapePoint]
    /// `width`: the width at the loss threshold, per model.
    public var widths: [WidthSummary]?
    /// `width`: how the directions were drawn.
    public var directions: DirectionSummary?
    /// `plane`: the basis and the models placed on it.
    public var plane: PlaneSummary?
    /// Wall time of the whole sweep, seconds, and points evaluated per second.
    public var seconds: Double
    public var pointsPerSecond: Double
    /// Points evaluated at once.
    public var threads: Int

    public init(kind: String, models: [String], train: EvaluationReport.DataSummary, test: EvaluationReport.DataSummary,
                bn: LandscapeBatchNorm, points: [LandscapePoint], seconds: Double, threads: Int) {
        self.kind = kind
        self.models = models
        self.train = train
        self.test = test
        self.bn = bn
        self.points = points
        self.seconds = seconds
        self.pointsPerSecond = seconds > 0 ? Double(points.count) / seconds : 0
        self.threads = threads
    }
}

/// One point of a landscape: where it is, and its `PointMetrics`.
public struct LandscapePoint: Codable, Sendable, Equatable {
    /// `line`: the fraction t of w(t) = (1 − t)·A + t·B. `width`: the distance along the direction.
    public var t: Double?
    /// `width`: the direction, 1 ... K.
    public var direction: Int?
    /// `width`: the model the direction starts from; `plane` marks: the model placed.
    public var model: String?
    /// `plane`: the coordinates (Euclidean distances in weight space along u and v).
    public var a: Double?
    public var b: Double?
    public var trainLoss: Double
    public var trainError: Double
    public var testError: Double
    public var testNLL: Double

    public init(t: Double? = nil, direction: Int? = nil, model: String? = nil, a: Double? = nil, b: Double? = nil, metrics: PointMetrics) {
        self.t = t
        self.direction = direction
        self.model = model
        self.a = a
        self.b = b
        trainLoss = metrics.trainLoss
        trainError = metrics.trainError
        testError = metrics.testError
        testNLL = metrics.testNLL
    }

    public var metrics: PointMetrics {
        PointMetrics(trainLoss: trainLoss, trainError: trainError, testError: testError, testNLL: testNLL)
    }

    private enum CodingKeys: String, CodingKey {
        case t, direction, model, a, b, trainLoss, trainError, testError
        case testNLL = "testNll"
    }
}

/// `width`: how far a model's train loss stays under the threshold along each direction.
public struct WidthSummary: Codable, Sendable, Equatable {
    public var model: String
    /// The model's own train loss (distance 0, BN handled as for every point), nats.
    public var trainLoss: Double
    /// The loss the width is measured at: `--threshold`, else twice `trainLoss`.
    public var threshold: Double
    /// Per direction, the smallest distance ≥ 0 at which the train loss reaches the threshold,
    /// interpolated linearly between the two distances around the crossing; nil when it never
    /// does within `--distances` (the width is then more than the largest distance).
    public var widths: [Double?]
    /// The mean of `widths` when every direction crossed the threshold, else nil.
    public var mean: Double?

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(trainLoss, forKey: .trainLoss)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(widths, forKey: .widths)
        try container.encode(mean, forKey: .mean)
    }
}

/// `width`: the seeded directions (docs/ANALYSES.md).
public struct DirectionSummary: Codable, Sendable, Equatable {
    public var count: Int
    public var seed: UInt64
    public var normalize: DirectionNormalization
    public var ignore: DirectionIgnore
}

/// `plane`: the basis and every model placed on it.
public struct PlaneSummary: Codable, Sendable, Equatable {
    /// `three points` (W1, W2, W3) or `pca` (the trajectory's mean and two principal directions).
    public var basis: String
    /// `pca`: the fraction of the trajectory's variance along u and along v.
    public var explainedVariance: [Double]?
    /// The grid's coordinates along u and along v.
    public var aValues: [Double]
    public var bValues: [Double]
    /// The points that define the plane, the `--mark` models and, with `--pca`, every
    /// checkpoint of the trajectory, in that order.
    public var placed: [PlacedModel]
}

/// A model projected onto the plane, and its own metrics when they were evaluated.
public struct PlacedModel: Codable, Sendable, Equatable {
    public var model: String
    /// `point` (defines the plane), `mark` (`--mark`) or `checkpoint` (the `--pca` path).
    public var role: String
    public var a: Double
    public var b: Double
    /// Euclidean distance from the plane, over the tensors the basis covers.
    public var offPlane: Double
    /// The model evaluated at its own weights (BN as for every point); nil for the `--pca` path.
    public var metrics: PointMetrics?
}
