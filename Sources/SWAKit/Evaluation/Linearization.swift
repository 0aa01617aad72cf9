/// The linearization check of Izmailov et al. 2018, §3.5: averaging weights (SWA) approximates
/// averaging predictions (the FGE ensemble) when the network is nearly linear between the
/// checkpoints. Measured as mean total-variation distances ½‖p − q‖₁ between predicted class
/// distributions: the claim holds when `modelVsEnsemble` is much smaller than `memberPairs`.
public struct Linearization: Codable, Sendable, Equatable {
    /// Mean over samples of ½‖p_model − p_ensemble‖₁, in 0 ... 1.
    public var modelVsEnsemble: Double
    /// Mean over every pair of ensemble members (i < j) of their mean ½‖p_i − p_j‖₁; nil with
    /// fewer than two members.
    public var memberPairs: Double?

    public init(modelVsEnsemble: Double, memberPairs: Double?) {
        self.modelVsEnsemble = modelVsEnsemble
        self.memberPairs = memberPairs
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(modelVsEnsemble, forKey: .modelVsEnsemble)
        try container.encode(memberPairs, forKey: .memberPairs)
    }
}

/// The mean over samples of the total-variation distance ½ Σ_c |p_c − q_c| between two
/// probability tables `[samples, classes]` (rows summing to 1), accumulated in Double in sample
/// order; 0 for no samples.
public func meanTotalVariation(_ p: [Double], _ q: [Double], classes: Int) -> Double {
    let samples = p.count / max(classes, 1)
    guard samples > 0 else { return 0 }
    return totalVariationSum(p, q, classes: classes) / Double(samples)
}

/// The sum over samples of ½ Σ_c |p_c − q_c| (`meanTotalVariation` before its division), in sample order.
public func totalVariationSum(_ p: [Double], _ q: [Double], classes: Int) -> Double {
    precondition(p.count == q.count && classes > 0, "probability tables differ in size")
    let samples = p.count / classes
    return p.withUnsafeBufferPointer { p in
        q.withUnsafeBufferPointer { q in
            var total = 0.0
            for sample in 0 ..< samples {
                var distance = 0.0
                for c in sample * classes ..< (sample + 1) * classes { distance += abs(p[c] - q[c]) }
                total += distance / 2
            }
            return total
        }
    }
}

/// Per batch of `batchSize` samples (the first sample starting a batch), the sum over its
/// samples of ½ Σ_c |p_c − q_c|, in sample order: the batch sums of `totalVariationSum`, which a
/// shard keeps so that the merge adds them in batch order (`BatchwiseSums`).
public func totalVariationBatchSums(_ p: [Double], _ q: [Double], classes: Int, batchSize: Int) -> [Double] {
    precondition(p.count == q.count && classes > 0 && batchSize > 0, "probability tables differ in size")
    let samples = p.count / classes
    var sums: [Double] = []
    sums.reserveCapacity((samples + batchSize - 1) / batchSize)
    p.withUnsafeBufferPointer { p in
        q.withUnsafeBufferPointer { q in
            for sample in 0 ..< samples {
                if sample % batchSize == 0 { sums.append(0) }
                var distance = 0.0
                for c in sample * classes ..< (sample + 1) * classes { distance += abs(p[c] - q[c]) }
                sums[sums.count - 1] += distance / 2
            }
        }
    }
    return sums
}
