import SWAData
import SWAEngine
import SWAFormats
import Foundation

/// One model's predictions on a data set: class probabilities in Float64 and log p(label).
public struct ModelPredictions: Sendable {
    /// `[samples, classes]`, softmax of the logits in Float64.
    public var probabilities: [Double]
    /// log-softmax at each sample's label (stable, for the NLL).
    public var labelLogProbabilities: [Double]
    public var classes: Int
    /// Wall time of the forward passes, in seconds.
    public var seconds: Double
    /// Samples per forward pass: the batches of `sums`.
    public var batchSize: Int

    /// Runs `parameters` in inference mode over `data` (running BN statistics, dropout off),
    /// streamed in batches of `batchSize`: over the samples `samples` (a shard; all when nil),
    /// whose rows the results hold in order.
    /// - Parameters:
    ///   - labels: the labels of those samples (`labels[i]` is sample `samples.lowerBound + i`'s), already checked.
    ///   - onBatch: samples done so far (progress).
    public init(parameters: ModelParameters, data: any BatchSource, labels: [Int64], batchSize: Int, samples: Range<Int>? = nil,
                onBatch: (Int) -> Void = { _ in }) throws {
        let started = Date()
        let range = samples ?? 0..<data.sampleCount
        let classes = parameters.graph.outputShape.reduce(1, *)
        let forward = ForwardPass(parameters: parameters)
        var probabilities = [Double](repeating: 0, count: range.count * classes)
        var labelLogProbabilities = [Double](repeating: 0, count: range.count)
        try data.forEachBatch(size: batchSize, samples: range) { batch in
            let logits = forward.run(batch.x, batch: batch.count, mode: .inference)
            // Finite weights (checked at binding) can still overflow Float32 on the way; NaN
            // probabilities would make every metric NaN, silently.
            if let bad = logits.firstIndex(where: { !$0.isFinite }) {
                throw SWAError(file: data.path, "sample \(batch.firstIndex + bad / classes): the model's outputs are NaN or infinite (its activations overflow Float32)")
            }
            logits.withUnsafeBufferPointer { rows in
                for row in 0..<min(batch.count, range.upperBound - batch.firstIndex) {
                    let sample = batch.firstIndex + row - range.lowerBound
                    let (p, logP) = softmax(logits: rows.baseAddress! + row * classes, classes: classes)
                    probabilities.replaceSubrange(sample * classes..<(sample + 1) * classes, with: p)
                    labelLogProbabilities[sample] = logP[Int(labels[sample])]
                }
            }
            onBatch(batch.firstIndex + batch.count - range.lowerBound)
        }
        self.probabilities = probabilities
        self.labelLogProbabilities = labelLogProbabilities
        self.classes = classes
        self.seconds = Date().timeIntervalSince(started)
        self.batchSize = batchSize
    }

    /// The metric sums against `labels` (those of the samples predicted), per batch of the pass.
    public func sums(labels: [Int64]) -> MetricSums {
        MetricSums(probabilities: probabilities, classes: classes, labels: labels, labelLogProbabilities: labelLogProbabilities,
                   batchSize: batchSize)
    }

    /// Accuracy, NLL, ECE and Brier against `labels`.
    public func metrics(labels: [Int64]) -> ClassificationMetrics {
        ClassificationMetrics(probabilities: probabilities, classes: classes, labels: labels, labelLogProbabilities: labelLogProbabilities)
    }
}

/// Checks labels against a model's class count; the error names the data file and the sample.
public func checkLabels(_ labels: [Int64], classes: Int, data: String) throws {
    if let index = labels.firstIndex(where: { $0 < 0 || $0 >= Int64(classes) }) {
        throw SWAError(file: data, "label \(labels[index]) of sample \(index) is out of range for a model with \(classes) classes")
    }
}
