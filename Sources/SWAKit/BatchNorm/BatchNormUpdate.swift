import SWAData
import SWAEngine
import SWAFormats
import Foundation

/// How batches are weighted when the running statistics are averaged over the pass.
public enum BatchNormWeighting: String, Sendable, CaseIterable, Codable {
    /// Every batch counts once, a short last batch too: PyTorch's `torch.optim.swa_utils.update_bn`
    /// (momentum None, a cumulative average over `num_batches_tracked`).
    case batch
    /// Each batch counts by its size: the paper's own `bn_update` (momentum b/(n+b)).
    case sample
}

/// Recomputes the batch-norm running statistics of a model with one pass over data in
/// training mode (docs/CLI.md, swa-bn-update): every BN layer is reset, normalises with its batch statistics,
/// and ends with running mean = average of the batch means and running variance = average of
/// the unbiased batch variances, averaged in Float64 with the chosen weighting.
public struct BatchNormUpdate {
    /// What the pass found, ready to be written into the checkpoint.
    public struct Result: Sendable {
        /// New `running_mean` / `running_var` values by checkpoint key.
        public var statistics: [String: [Float]]
        /// New `num_batches_tracked` by checkpoint key (= number of batches).
        public var counters: [String: Int64]
        public var batches: Int
        public var samples: Int
    }

    public let parameters: ModelParameters
    public let weighting: BatchNormWeighting
    /// How the pass's convolution layers pick their backend (`SWA_CONV_BACKEND` by default).
    public let convolutionPolicy: ConvolutionBackendPolicy

    public init(parameters: ModelParameters, weighting: BatchNormWeighting,
                convolutionPolicy: ConvolutionBackendPolicy = .current) {
        self.parameters = parameters
        self.weighting = weighting
        self.convolutionPolicy = convolutionPolicy
    }

    /// Whether the model has any BN layer (else there is nothing to do).
    public var hasBatchNorm: Bool { !parameters.graph.batchNormNodes.isEmpty }

    /// Runs the pass over `data` in batches of `batchSize`.
    /// - Parameter onBatch: called after each batch with the samples done so far (progress).
    public func run(data: any BatchSource, batchSize: Int, onBatch: (Int) -> Void = { _ in }) throws -> Result {
        let graph = parameters.graph
        let nodes = graph.batchNormNodes
        var sums: [String: (mean: [Double], variance: [Double])] = [:]
        for node in nodes {
            guard case let .batchNorm(attributes) = node.operation else { continue }
            sums[node.name] = ([Double](repeating: 0, count: attributes.features), [Double](repeating: 0, count: attributes.features))
        }
        let forward = ForwardPass(parameters: parameters, convolutionPolicy: convolutionPolicy)
        var batches = 0, samples = 0, totalWeight = 0.0
        let spatial = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, graph.shapes[$0.inputs[0]]!.dropFirst().reduce(1, *)) })
        try data.forEachBatch(size: batchSize) { batch in
            guard batch.count * (spatial.values.min() ?? 2) > 1 else {
                throw SWAError(file: data.path, "a batch of \(batch.count) sample(s) has no variance for batch norm; use a larger --batch-size or --limit")
            }
            let weight = weighting == .batch ? 1.0 : Double(batch.count)
            _ = forward.run(batch.x, batch: batch.count, mode: .training) { statistics in
                var sum = sums[statistics.node]!
                for channel in sum.mean.indices {
                    sum.mean[channel] += weight * statistics.mean[channel]
                    sum.variance[channel] += weight * statistics.unbiasedVariance[channel]
                }
                sums[statistics.node] = sum
            }
            batches += 1
            samples += batch.count
            totalWeight += weight
            onBatch(samples)
        }
        guard batches > 0 else { throw SWAError(file: data.path, "no samples to run") }
        var result = Result(statistics: [:], counters: [:], batches: batches, samples: samples)
        for node in nodes {
            let sum = sums[node.name]!
            if let key = node.tensors["running_mean"] { result.statistics[key] = sum.mean.map { Float($0 / totalWeight) } }
            if let key = node.tensors["running_var"] { result.statistics[key] = sum.variance.map { Float($0 / totalWeight) } }
            if let key = node.tensors["num_batches_tracked"] { result.counters[key] = Int64(batches) }
        }
        return result
    }
}
