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
        try result(from: accumulate(data: data, batchSize: batchSize, batches: nil, onBatch: onBatch), data: data.path)
    }

    /// The Float64 sums of a pass, or of a shard of it: per BN node, the weighted sums of the
    /// batch means and of the unbiased batch variances (`[C]` each), with the batch and sample
    /// counts and the total weight. Sums of consecutive shards add up to the whole pass's
    /// (docs/SCALE.md); `result(from:)` divides them.
    public struct Sums: Sendable, Equatable {
        /// Σ weight·batch mean, `[C]`, by BN node name.
        public var mean: [String: [Double]]
        /// Σ weight·unbiased batch variance, `[C]`, by BN node name.
        public var variance: [String: [Double]]
        public var batches: Int
        public var samples: Int
        /// Σ weight: the batch count (`batch` weighting) or the sample count (`sample`).
        public var totalWeight: Double

        /// Adds `other`'s sums, element by element (a later shard after an earlier one).
        public mutating func add(_ other: Sums) {
            for (node, values) in other.mean { mean[node] = zip(mean[node] ?? values.map { _ in 0 }, values).map { $0 + $1 } }
            for (node, values) in other.variance { variance[node] = zip(variance[node] ?? values.map { _ in 0 }, values).map { $0 + $1 } }
            batches += other.batches
            samples += other.samples
            totalWeight += other.totalWeight
        }
    }

    /// Zero sums for every BN node of the graph.
    public var emptySums: Sums {
        var sums = Sums(mean: [:], variance: [:], batches: 0, samples: 0, totalWeight: 0)
        for node in parameters.graph.batchNormNodes {
            guard case let .batchNorm(attributes) = node.operation else { continue }
            sums.mean[node.name] = [Double](repeating: 0, count: attributes.features)
            sums.variance[node.name] = [Double](repeating: 0, count: attributes.features)
        }
        return sums
    }

    /// The batch count of a pass over `sampleCount` samples in batches of `batchSize` (the last may be shorter).
    public static func batchCount(samples sampleCount: Int, batchSize: Int) -> Int {
        (sampleCount + batchSize - 1) / batchSize
    }

    /// Runs the pass over the batches `batches` of `data` (all when nil) and returns the sums.
    /// The batches are the single pass's (`batchSize` samples from index `k·batchSize`), so a
    /// shard's augmentation draws are the single pass's too (they depend on the sample index).
    /// - Parameter onBatch: called after each batch with the samples done so far in this call.
    public func accumulate(data: any BatchSource, batchSize: Int, batches: Range<Int>?,
                           onBatch: (Int) -> Void = { _ in }) throws -> Sums {
        let graph = parameters.graph
        let nodes = graph.batchNormNodes
        var sums = emptySums
        let forward = ForwardPass(parameters: parameters, convolutionPolicy: convolutionPolicy)
        let spatial = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, graph.shapes[$0.inputs[0]]!.dropFirst().reduce(1, *)) })
        let range = batches.map { min(data.sampleCount, $0.lowerBound * batchSize) ..< min(data.sampleCount, $0.upperBound * batchSize) }
            ?? 0 ..< data.sampleCount
        try data.forEachBatch(size: batchSize, samples: range) { batch in
            guard batch.count * (spatial.values.min() ?? 2) > 1 else {
                throw SWAError(file: data.path, "a batch of \(batch.count) sample(s) has no variance for batch norm; use a larger --batch-size or --limit")
            }
            let weight = weighting == .batch ? 1.0 : Double(batch.count)
            _ = forward.run(batch.x, batch: batch.count, mode: .training) { statistics in
                var mean = sums.mean[statistics.node]!, variance = sums.variance[statistics.node]!
                for channel in mean.indices {
                    mean[channel] += weight * statistics.mean[channel]
                    variance[channel] += weight * statistics.unbiasedVariance[channel]
                }
                sums.mean[statistics.node] = mean
                sums.variance[statistics.node] = variance
            }
            sums.batches += 1
            sums.samples += batch.count
            sums.totalWeight += weight
            onBatch(sums.samples)
        }
        return sums
    }

    /// The running statistics the sums give: each sum divided by the total weight, rounded once to Float32.
    /// - Throws: naming `data` when no batch ran.
    public func result(from sums: Sums, data: String) throws -> Result {
        guard sums.batches > 0 else { throw SWAError(file: data, "no samples to run") }
        var result = Result(statistics: [:], counters: [:], batches: sums.batches, samples: sums.samples)
        for node in parameters.graph.batchNormNodes {
            guard let mean = sums.mean[node.name], let variance = sums.variance[node.name] else {
                throw SWAError(file: data, "no BN sums for graph node '\(node.name)'")
            }
            if let key = node.tensors["running_mean"] { result.statistics[key] = mean.map { Float($0 / sums.totalWeight) } }
            if let key = node.tensors["running_var"] { result.statistics[key] = variance.map { Float($0 / sums.totalWeight) } }
            if let key = node.tensors["num_batches_tracked"] { result.counters[key] = Int64(sums.batches) }
        }
        return result
    }
}
