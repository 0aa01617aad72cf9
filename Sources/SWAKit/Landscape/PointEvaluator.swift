import SWAData
import SWAEngine
import SWAFormats

/// What happens to the BN running statistics at each point of a landscape (docs/ANALYSES.md).
public enum LandscapeBatchNorm: String, Sendable, CaseIterable, Codable {
    /// Recompute them on the training data at every point, as `swa-bn-update` does (PyTorch's
    /// `update_bn`, every batch weighted equally): the point is scored as the network it is.
    case update
    /// Keep the statistics the point's arithmetic gives (interpolated on a line, the model's
    /// own along a direction or on a plane): cheaper, but scores a network whose
    /// normalisation no longer fits its weights.
    case keep
}

/// The four numbers of one landscape point (docs/CLI.md, swa-landscape).
public struct PointMetrics: Sendable, Equatable, Codable {
    /// Mean cross-entropy over the training data in inference mode, nats.
    public var trainLoss: Double
    /// Fraction of training samples misclassified, in inference mode.
    public var trainError: Double
    /// Fraction of test samples misclassified.
    public var testError: Double
    /// Mean −log p(label) over the test data, nats.
    public var testNLL: Double

    public init(trainLoss: Double, trainError: Double, testError: Double, testNLL: Double) {
        self.trainLoss = trainLoss
        self.trainError = trainError
        self.testError = testError
        self.testNLL = testNLL
    }
}

/// Scores one point of weight space: optionally recomputes its BN statistics on the training
/// data, then evaluates it in inference mode on the training and the test data.
///
/// Safe to use from several threads at once: it holds only immutable data, each call builds
/// its own forward passes, and the batch sources only read (`CachedBatchSource` serves copies).
public struct PointEvaluator: @unchecked Sendable {
    /// The training data (BN update and train loss), normalised for the model.
    public let train: any BatchSource
    /// The test data.
    public let test: any BatchSource
    public let trainLabels: [Int64]
    public let testLabels: [Int64]
    public let batchNorm: LandscapeBatchNorm
    /// Samples per forward pass, for the BN update and the evaluation alike.
    public let batchSize: Int

    /// Reads and checks the labels of both data sets against `classes`.
    public init(train: any BatchSource, test: any BatchSource, classes: Int, batchNorm: LandscapeBatchNorm, batchSize: Int) throws {
        self.train = train
        self.test = test
        trainLabels = try train.labels()
        try checkLabels(trainLabels, classes: classes, data: train.path)
        testLabels = try test.labels()
        try checkLabels(testLabels, classes: classes, data: test.path)
        self.batchNorm = batchNorm
        self.batchSize = batchSize
    }

    /// The parameters scored at `weights`: with `.update` and BN layers, their running
    /// statistics recomputed on the training data (`BatchNormUpdate`, batch weighting), else
    /// `weights` unchanged.
    public func prepared(_ weights: ModelParameters) throws -> ModelParameters {
        guard batchNorm == .update, !weights.graph.batchNormNodes.isEmpty else { return weights }
        let result = try BatchNormUpdate(parameters: weights, weighting: .batch).run(data: train, batchSize: batchSize)
        return try result.applied(to: weights)
    }

    /// The metrics of the point `weights` (BN statistics handled as `batchNorm` says).
    public func evaluate(_ weights: ModelParameters) throws -> PointMetrics {
        let parameters = try prepared(weights)
        let forward = ForwardPass(parameters: parameters)
        let onTrain = try score(forward, on: train, labels: trainLabels)
        let onTest = try score(forward, on: test, labels: testLabels)
        return PointMetrics(trainLoss: onTrain.nll, trainError: onTrain.error, testError: onTest.error, testNLL: onTest.nll)
    }

    /// Error and NLL of one model on one data set in inference mode, streamed batch by batch
    /// (no table of probabilities is kept). The numbers are those `ClassificationMetrics`
    /// gives for the same predictions: the same softmax, the same top class (ties to the
    /// lowest), the same sums in sample order.
    func score(_ forward: ForwardPass, on data: any BatchSource, labels: [Int64]) throws -> (error: Double, nll: Double) {
        let classes = forward.parameters.graph.outputShape.reduce(1, *)
        var correct = 0, nllSum = 0.0
        try data.forEachBatch(size: batchSize) { batch in
            let logits = forward.run(batch.x, batch: batch.count, mode: .inference)
            logits.withUnsafeBufferPointer { rows in
                for row in 0 ..< batch.count {
                    let label = Int(labels[batch.firstIndex + row])
                    let (p, logP) = softmax(logits: rows.baseAddress! + row * classes, classes: classes)
                    var top = 0
                    for c in 1 ..< max(classes, 1) where p[c] > p[top] { top = c }
                    if top == label { correct += 1 }
                    nllSum -= logP[label]
                }
            }
        }
        let n = Double(max(labels.count, 1))
        return (1 - Double(correct) / n, nllSum / n)
    }
}
