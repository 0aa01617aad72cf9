import SWAData
import SWAEngine
import SWAFormats
import Foundation

/// The Fast Geometric Ensemble of checkpoints: their softmax probabilities averaged in Float64
/// (timgaripov/dnn-mode-connectivity `fge.py`), each member in inference mode with its own BN
/// statistics, evaluated once; with the curve of the ensemble of the first k members.
public struct FGEEnsemble: Sendable {
    /// Per-member results, in training order.
    public struct Member: Sendable {
        public var path: String
        public var metrics: ClassificationMetrics
        public var seconds: Double
    }

    public var members: [Member] = []
    /// `curve[k-1]`: metrics of the ensemble of the first k members.
    public var curve: [ClassificationMetrics] { curveSums.map(\.metrics) }
    /// The sums behind each member's metrics, in member order.
    public var memberSums: [MetricSums] = []
    /// The sums behind `curve`, `curveSums[k-1]` for the first k members.
    public var curveSums: [MetricSums] = []
    /// Per batch of the pass, Σ over its samples of ½‖p_i − p_j‖₁ for each member pair (one
    /// column per pair, in the order (0,1), (0,2), (1,2), (0,3), …).
    public var memberPairTotalVariationBatches = BatchwiseSums(width: 0)
    /// Σ over samples of ½‖p_i − p_j‖₁ for each member pair, pairs in the order (0,1), (0,2), (1,2), (0,3), …
    public var memberPairTotalVariationSums: [Double] { memberPairTotalVariationBatches.totals }
    /// Averaged probabilities `[samples, classes]` of all members.
    public var probabilities: [Double] = []
    /// The mean over member pairs (i < j) of the mean total variation ½‖p_i − p_j‖₁ between
    /// their predictions (`Linearization.memberPairs`); nil with fewer than two members.
    /// Computing it holds every member's probabilities (members × samples × classes × 8 bytes).
    public var memberPairsTotalVariation: Double?
    public var classes: Int

    /// Evaluates `entries` one after another: one model in memory at a time, one pass each, with
    /// every member's `[samples, classes]` probabilities held for the member pairs.
    /// `EvaluationJob` uses it only when the members' weights do not fit its resident budget;
    /// otherwise `JointEvaluation` runs them all in one pass with the same sums.
    /// - Parameters:
    ///   - graph: the model's graph; every member must have the same one (by its own `swa.graph`
    ///     when it has one), else an error names the member.
    ///   - evaluator: the labelled data the members are scored on.
    ///   - onMember: called before each member with its index and path (progress).
    ///   - onBatch: samples of the current member done so far (progress).
    public init(entries: [CheckpointEntry], graph: ModelGraph, evaluator: Evaluator,
                onMember: (Int, String) -> Void = { _, _ in }, onBatch: (Int) -> Void = { _ in }) throws {
        classes = graph.outputShape.reduce(1, *)
        let labels = evaluator.labels
        var sum = [Double](repeating: 0, count: labels.count * classes)
        var earlier: [[Double]] = []
        var pairColumns: [[Double]] = []
        for (index, entry) in entries.enumerated() {
            onMember(index, entry.path)
            let member = try Self.loadMember(entry, graph: graph)
            let predictions = try evaluator.predictions(of: member, onBatch: onBatch)
            let sums = predictions.sums(labels: labels)
            memberSums.append(sums)
            members.append(Member(path: entry.path, metrics: sums.metrics, seconds: predictions.seconds))
            for i in sum.indices { sum[i] += predictions.probabilities[i] }
            for previous in earlier {
                pairColumns.append(totalVariationBatchSums(previous, predictions.probabilities, classes: classes,
                                                           batchSize: evaluator.batchSize))
            }
            earlier.append(predictions.probabilities)
            let k = Double(index + 1)
            curveSums.append(MetricSums(probabilities: sum.map { $0 / k }, classes: classes, labels: labels, batchSize: evaluator.batchSize))
        }
        memberPairTotalVariationBatches = BatchwiseSums(columns: pairColumns)
        probabilities = sum.map { $0 / Double(max(entries.count, 1)) }
        memberPairsTotalVariation = Self.meanOverPairs(memberPairTotalVariationSums, samples: labels.count)
    }

    /// Reads member `entry` and binds its weights to the evaluated model's `graph`.
    /// - Throws: naming the member when its own `swa.graph` is another network, or as binding does.
    public static func loadMember(_ entry: CheckpointEntry, graph: ModelGraph) throws -> ModelParameters {
        let checkpoint = try LoadedCheckpoint(path: entry.path, options: entry.options)
        if let text = checkpoint.header.checkpointMetadata.graphJSON {
            let own = try ModelGraph(json: text, source: "\(entry.path) (swa.graph)")
            guard own == graph else {
                throw SWAError(file: entry.path, "ensemble member's graph (swa.graph) differs from the evaluated model's; members must be checkpoints of the same network")
            }
        }
        return try ModelParameters(graph: graph, checkpoint: checkpoint)
    }

    /// The mean over pairs of each pair's mean total variation (its sum over `samples` samples
    /// divided by `samples`), pairs added in order; nil without pairs.
    public static func meanOverPairs(_ sums: [Double], samples: Int) -> Double? {
        guard !sums.isEmpty else { return nil }
        var total = 0.0
        for sum in sums { total += samples > 0 ? sum / Double(samples) : 0 }
        return total / Double(sums.count)
    }

    /// Evaluates `entries` on `data` whose `labels` are already read and checked.
    public init(entries: [CheckpointEntry], graph: ModelGraph, data: any BatchSource, labels: [Int64], batchSize: Int,
                onMember: (Int, String) -> Void = { _, _ in }, onBatch: (Int) -> Void = { _ in }) throws {
        let evaluator = Evaluator(data: data, labels: labels, classes: graph.outputShape.reduce(1, *), batchSize: batchSize)
        try self.init(entries: entries, graph: graph, evaluator: evaluator, onMember: onMember, onBatch: onBatch)
    }

    /// Metrics of the whole ensemble.
    public var metrics: ClassificationMetrics? { curve.last }
}
