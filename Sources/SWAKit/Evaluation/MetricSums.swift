import RealModule

/// The sums behind `ClassificationMetrics`, over any set of samples: counts and Float64 sums
/// that add across shards of the samples (docs/SCALE.md). `metrics` divides them.
///
/// The single process builds its metrics from these sums too. The Float64 sums are kept per
/// batch (`BatchwiseSums`) and added in batch order, so a merge of shards of whole batches gives
/// the single process's metrics bit for bit, however many shards.
public struct MetricSums: Sendable, Equatable {
    /// Samples summed.
    public var samples = 0
    /// Samples whose top class (ties to the lowest) is the label.
    public var correct = 0
    /// Per confidence bin `(i/B, (i+1)/B]` (B = `ClassificationMetrics.calibrationBins`): samples and correct ones.
    public var binCount = [Int](repeating: 0, count: ClassificationMetrics.calibrationBins)
    public var binCorrect = [Int](repeating: 0, count: ClassificationMetrics.calibrationBins)
    /// Per batch: Σ −log p(label) (nats), Σ Σ_c (p_c − 1[c = label])², and Σ confidence per bin,
    /// in the columns `nllColumn`, `brierColumn`, `confidenceColumn + bin`.
    public var batchSums = BatchwiseSums(width: MetricSums.width)

    static let nllColumn = 0, brierColumn = 1, confidenceColumn = 2
    /// Columns of `batchSums`.
    static let width = 2 + ClassificationMetrics.calibrationBins

    public init() {}

    /// The sums over `probabilities` (`[samples, classes]`, rows summing to 1) against `labels`.
    /// - Parameters:
    ///   - labelLogProbabilities: log p(label) per sample when known more precisely than
    ///     `log(p)` (a single model's log-softmax).
    ///   - batchSize: samples per batch of the pass, the first sample starting a batch (a
    ///     shard's samples are whole batches); nil: all samples are one batch.
    public init(probabilities: [Double], classes: Int, labels: [Int64], labelLogProbabilities: [Double]? = nil, batchSize: Int? = nil) {
        let samples = labels.count
        precondition(probabilities.count == samples * classes, "probabilities do not match samples × classes")
        let batchSize = max(1, batchSize ?? samples)
        probabilities.withUnsafeBufferPointer { p in
            for sample in 0..<samples {
                if sample % batchSize == 0 { startBatch() }
                add(row: p.baseAddress! + sample * classes, classes: classes, label: Int(labels[sample]),
                    labelLogProbability: labelLogProbabilities?[sample])
            }
        }
    }

    /// Σ −log p(label) over the samples, in nats (batch sums added in batch order).
    public var nll: Double { batchSums.total(Self.nllColumn) }
    /// Σ Σ_c (p_c − 1[c = label])² over the samples.
    public var brier: Double { batchSums.total(Self.brierColumn) }
    /// Per confidence bin, Σ confidence of its samples.
    public var binConfidence: [Double] { (0..<binCount.count).map { batchSums.total(Self.confidenceColumn + $0) } }

    /// Starts the next batch of the pass: later samples add to its sums.
    public mutating func startBatch() {
        batchSums.startBatch()
    }

    /// Adds one sample: its probabilities `row` (`[classes]`) and its label, to the current
    /// batch (the first, if none was started).
    public mutating func add(row: UnsafePointer<Double>, classes: Int, label: Int, labelLogProbability: Double?) {
        if batchSums.batchCount == 0 { startBatch() }
        var top = 0
        for c in 1..<max(classes, 1) where row[c] > row[top] { top = c }
        let hit = top == label
        samples += 1
        if hit { correct += 1 }
        batchSums.add(-(labelLogProbability ?? Double.log(row[label])), to: Self.nllColumn)
        var squares = 0.0
        for c in 0..<classes {
            let target = c == label ? 1.0 : 0.0
            squares = Relaxed.multiplyAdd(row[c] - target, row[c] - target, squares)
        }
        batchSums.add(squares, to: Self.brierColumn)
        let confidence = row[top]
        let bins = ClassificationMetrics.calibrationBins
        // Bins (i/B, (i+1)/B]: a confidence of exactly 1 falls in the last one.
        let bin = min(bins - 1, max(0, Int((confidence * Double(bins)).rounded(.up)) - 1))
        binCount[bin] += 1
        batchSums.add(confidence, to: Self.confidenceColumn + bin)
        if hit { binCorrect[bin] += 1 }
    }

    /// Adds the sums of the samples that follow (a later shard): its batches come after these.
    public mutating func add(_ other: MetricSums) {
        samples += other.samples
        correct += other.correct
        for bin in binCount.indices {
            binCount[bin] += other.binCount[bin]
            binCorrect[bin] += other.binCorrect[bin]
        }
        batchSums.append(other.batchSums)
    }

    /// Accuracy, mean NLL, ECE and mean Brier score of the samples summed.
    public var metrics: ClassificationMetrics {
        let n = Double(max(samples, 1))
        let binConfidence = binConfidence
        let ece = (0..<binCount.count).reduce(0.0) { total, bin in
            guard binCount[bin] > 0 else { return total }
            let size = Double(binCount[bin])
            return total + size / n * abs(Double(binCorrect[bin]) / size - binConfidence[bin] / size)
        }
        return ClassificationMetrics(accuracy: Double(correct) / n, nll: nll / n, ece: ece, brier: brier / n)
    }
}
