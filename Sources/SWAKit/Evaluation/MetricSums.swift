import RealModule

/// The sums behind `ClassificationMetrics`, over any set of samples: counts and Float64 sums
/// that add across shards of the samples (docs/SCALE.md). `metrics` divides them.
///
/// The single process builds its metrics from these sums too, so a merge of one shard is the
/// single process bit for bit; a merge of several adds the Float64 sums in shard order, which
/// differs from the single process only by the rounding of that order.
public struct MetricSums: Sendable, Equatable {
    /// Samples summed.
    public var samples = 0
    /// Samples whose top class (ties to the lowest) is the label.
    public var correct = 0
    /// Σ −log p(label), nats.
    public var nll = 0.0
    /// Σ Σ_c (p_c − 1[c = label])².
    public var brier = 0.0
    /// Per confidence bin `(i/B, (i+1)/B]` (B = `ClassificationMetrics.calibrationBins`): samples, correct ones, Σ confidence.
    public var binCount = [Int](repeating: 0, count: ClassificationMetrics.calibrationBins)
    public var binCorrect = [Int](repeating: 0, count: ClassificationMetrics.calibrationBins)
    public var binConfidence = [Double](repeating: 0, count: ClassificationMetrics.calibrationBins)

    public init() {}

    /// The sums over `probabilities` (`[samples, classes]`, rows summing to 1) against `labels`.
    /// - Parameter labelLogProbabilities: log p(label) per sample when known more precisely than
    ///   `log(p)` (a single model's log-softmax).
    public init(probabilities: [Double], classes: Int, labels: [Int64], labelLogProbabilities: [Double]? = nil) {
        let samples = labels.count
        precondition(probabilities.count == samples * classes, "probabilities do not match samples × classes")
        probabilities.withUnsafeBufferPointer { p in
            for sample in 0..<samples {
                add(row: p.baseAddress! + sample * classes, classes: classes, label: Int(labels[sample]),
                    labelLogProbability: labelLogProbabilities?[sample])
            }
        }
    }

    /// Adds one sample: its probabilities `row` (`[classes]`) and its label.
    public mutating func add(row: UnsafePointer<Double>, classes: Int, label: Int, labelLogProbability: Double?) {
        var top = 0
        for c in 1..<max(classes, 1) where row[c] > row[top] { top = c }
        let hit = top == label
        samples += 1
        if hit { correct += 1 }
        nll -= labelLogProbability ?? Double.log(row[label])
        var squares = 0.0
        for c in 0..<classes {
            let target = c == label ? 1.0 : 0.0
            squares = Relaxed.multiplyAdd(row[c] - target, row[c] - target, squares)
        }
        brier += squares
        let confidence = row[top]
        let bins = ClassificationMetrics.calibrationBins
        // Bins (i/B, (i+1)/B]: a confidence of exactly 1 falls in the last one.
        let bin = min(bins - 1, max(0, Int((confidence * Double(bins)).rounded(.up)) - 1))
        binCount[bin] += 1
        binConfidence[bin] += confidence
        if hit { binCorrect[bin] += 1 }
    }

    /// Adds the sums of other samples (a later shard).
    public mutating func add(_ other: MetricSums) {
        samples += other.samples
        correct += other.correct
        nll += other.nll
        brier += other.brier
        for bin in binCount.indices {
            binCount[bin] += other.binCount[bin]
            binCorrect[bin] += other.binCorrect[bin]
            binConfidence[bin] += other.binConfidence[bin]
        }
    }

    /// Accuracy, mean NLL, ECE and mean Brier score of the samples summed.
    public var metrics: ClassificationMetrics {
        let n = Double(max(samples, 1))
        let ece = (0..<binCount.count).reduce(0.0) { total, bin in
            guard binCount[bin] > 0 else { return total }
            let size = Double(binCount[bin])
            return total + size / n * abs(Double(binCorrect[bin]) / size - binConfidence[bin] / size)
        }
        return ClassificationMetrics(accuracy: Double(correct) / n, nll: nll / n, ece: ece, brier: brier / n)
    }
}
