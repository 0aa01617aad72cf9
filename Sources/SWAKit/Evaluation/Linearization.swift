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

/// ½ Σ_c |p_c − q_c| between two probability rows of `classes` values, summed over c in order:
/// the one way every total variation of swa-eval is computed, so that the joint pass
/// (`FGERunningSums`) and the per-model pass (`totalVariationBatchSums`) agree bit for bit.
func totalVariation(_ p: UnsafePointer<Double>, _ q: UnsafePointer<Double>, classes: Int) -> Double {
    var distance = 0.0
    for c in 0 ..< classes { distance += abs(p[c] - q[c]) }
    return distance / 2
}

/// Per batch of `batchSize` samples (the first sample starting a batch), the sum over its
/// samples of ½ Σ_c |p_c − q_c| between two probability tables `[samples, classes]`, in sample
/// order: what a shard keeps so that the merge adds them in batch order (`BatchwiseSums`).
public func totalVariationBatchSums(_ p: [Double], _ q: [Double], classes: Int, batchSize: Int) -> [Double] {
    precondition(p.count == q.count && classes > 0 && batchSize > 0, "probability tables differ in size")
    let samples = p.count / classes
    var sums: [Double] = []
    sums.reserveCapacity((samples + batchSize - 1) / batchSize)
    p.withUnsafeBufferPointer { p in
        q.withUnsafeBufferPointer { q in
            for sample in 0 ..< samples {
                if sample % batchSize == 0 { sums.append(0) }
                sums[sums.count - 1] += totalVariation(p.baseAddress! + sample * classes, q.baseAddress! + sample * classes, classes: classes)
            }
        }
    }
    return sums
}
