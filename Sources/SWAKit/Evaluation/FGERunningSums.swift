/// The FGE part of `EvaluationSums` added one sample at a time, from every member's
/// probabilities for that sample: the members' metrics, the curve of the first k members, the
/// member pairs' and the model's total variations, and the top-class agreement.
///
/// Nothing here grows with the number of samples but one row of sums per batch
/// (`BatchwiseSums`): one running sum of C probabilities (the first k members' sum, k = 1 … K)
/// stands in for the N×C table of `FGEEnsemble`. Every Float64 add happens in the order
/// `FGEEnsemble` and `EvaluationJob.evaluateOneModelPerPass` do it over their whole tables
/// (per sample, members in order; per batch sum, samples in order), so the sums are the same
/// bit for bit.
struct FGERunningSums {
    /// Classes C of every probability row.
    let classes: Int
    /// Per member, in member order.
    private(set) var members: [MetricSums]
    /// `curve[k-1]`: the ensemble of the first k members.
    private(set) var curve: [MetricSums]
    /// Per batch, Σ ½‖p_i − p_j‖₁ per pair, pairs (columns) in the order (0,1), (0,2), (1,2), (0,3), …
    private(set) var memberPairTotalVariations: BatchwiseSums
    /// Samples whose top class is the same for the model and the whole ensemble.
    private(set) var agreements = 0
    /// Per batch, Σ ½‖p_model − p_ensemble‖₁.
    private(set) var modelEnsembleTotalVariation = BatchwiseSums(width: 1)

    /// The sum of the first k members' probabilities of the current sample, `[classes]`.
    private var running: [Double]
    /// `running / k`: the ensemble's probabilities of the current sample, `[classes]`.
    private var ensemble: [Double]

    /// Empty sums for `memberCount` members (at least one) of `classes` classes.
    init(memberCount: Int, classes: Int) {
        precondition(memberCount >= 1 && classes >= 1)
        self.classes = classes
        members = Array(repeating: MetricSums(), count: memberCount)
        curve = Array(repeating: MetricSums(), count: memberCount)
        memberPairTotalVariations = BatchwiseSums(width: memberCount * (memberCount - 1) / 2)
        running = Array(repeating: 0, count: classes)
        ensemble = Array(repeating: 0, count: classes)
    }

    /// Starts the next batch of the pass: later samples add to its sums.
    mutating func startBatch() {
        for k in members.indices {
            members[k].startBatch()
            curve[k].startBatch()
        }
        memberPairTotalVariations.startBatch()
        modelEnsembleTotalVariation.startBatch()
    }

    /// Adds one sample to the current batch (`startBatch` first).
    /// - Parameters:
    ///   - member: member index → that member's probabilities of the sample, `[classes]`.
    ///   - memberLabelLogProbability: member index → its log-softmax at the label.
    ///   - label: the sample's label, in `0 ..< classes`.
    ///   - model: the evaluated model's probabilities of the sample, `[classes]`.
    mutating func add(member: (Int) -> UnsafePointer<Double>, memberLabelLogProbability: (Int) -> Double,
                      label: Int, model: UnsafePointer<Double>) {
        let count = members.count
        for c in 0..<classes { running[c] = 0 }
        var pair = 0
        for k in 0..<count {
            let p = member(k)
            members[k].add(row: p, classes: classes, label: label, labelLogProbability: memberLabelLogProbability(k))
            for c in 0..<classes { running[c] += p[c] }
            for c in 0..<classes { ensemble[c] = running[c] / Double(k + 1) }
            ensemble.withUnsafeBufferPointer { curve[k].add(row: $0.baseAddress!, classes: classes, label: label, labelLogProbability: nil) }
            for earlier in 0..<k {
                memberPairTotalVariations.add(totalVariation(member(earlier), p, classes: classes), to: pair)
                pair += 1
            }
        }
        // `ensemble` now holds all K members' mean, the ensemble the model is compared with.
        ensemble.withUnsafeBufferPointer { all in
            if Self.topClass(model, classes: classes) == Self.topClass(all.baseAddress!, classes: classes) { agreements += 1 }
            modelEnsembleTotalVariation.add(totalVariation(model, all.baseAddress!, classes: classes), to: 0)
        }
    }

    /// The top class, ties to the lowest (as `topClassAgreementCount`).
    private static func topClass(_ row: UnsafePointer<Double>, classes: Int) -> Int {
        var best = 0
        for c in 1..<max(classes, 1) where row[c] > row[best] { best = c }
        return best
    }
}
