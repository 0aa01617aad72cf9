import SWAFormats

/// Everything an evaluation report is computed from, over a set of samples (all of them, or a
/// shard's): counts, and Float64 sums kept per batch (`BatchwiseSums`), that add across shards
/// (docs/SCALE.md). The single process builds its report from these sums too
/// (`EvaluationReport(description:sums:)`), so a merge gives its report bit for bit.
public struct EvaluationSums: Sendable, Equatable {
    /// Samples summed.
    public var samples = 0
    public var model = MetricSums()
    /// The model before its BN update (`--before-bn`), if evaluated.
    public var beforeBN: MetricSums?
    /// Per ensemble member, in member order.
    public var members: [MetricSums] = []
    /// `curve[k-1]`: the ensemble of the first k members.
    public var curve: [MetricSums] = []
    /// Samples where the model's and the ensemble's top classes agree.
    public var agreements = 0
    /// Per batch, Σ over its samples of ½‖p_model − p_ensemble‖₁ (one column; no batches
    /// without an ensemble).
    public var modelEnsembleTotalVariationSums = BatchwiseSums(width: 1)
    /// Per batch, for each member pair (columns in the order of
    /// `FGEEnsemble.memberPairTotalVariationSums`), Σ over its samples of ½‖p_i − p_j‖₁.
    public var memberPairTotalVariationSums = BatchwiseSums(width: 0)
    /// Σ over samples of ½‖p_model − p_ensemble‖₁ (batch sums added in batch order).
    public var modelEnsembleTotalVariation: Double { modelEnsembleTotalVariationSums.total(0) }
    /// Per member pair, Σ over samples of ½‖p_i − p_j‖₁ (batch sums added in batch order).
    public var memberPairTotalVariations: [Double] { memberPairTotalVariationSums.totals }
    /// Seconds of forward passes: the model, the model before BN, each member.
    public var modelSeconds = 0.0, beforeBNSeconds = 0.0
    public var memberSeconds: [Double] = []

    public init() {}

    /// Adds the sums of a later shard of the same run (same members, same `--before-bn`).
    public mutating func add(_ other: EvaluationSums) {
        samples += other.samples
        model.add(other.model)
        if let theirs = other.beforeBN {
            var mine = beforeBN ?? MetricSums()
            mine.add(theirs)
            beforeBN = mine
        }
        members = Self.added(members, other.members)
        curve = Self.added(curve, other.curve)
        agreements += other.agreements
        modelEnsembleTotalVariationSums.append(other.modelEnsembleTotalVariationSums)
        memberPairTotalVariationSums.append(other.memberPairTotalVariationSums)
        modelSeconds += other.modelSeconds
        beforeBNSeconds += other.beforeBNSeconds
        memberSeconds = memberSeconds.isEmpty ? other.memberSeconds : zip(memberSeconds, other.memberSeconds).map { $0 + $1 }
    }

    private static func added(_ a: [MetricSums], _ b: [MetricSums]) -> [MetricSums] {
        guard !a.isEmpty else { return b }
        return zip(a, b).map { var sum = $0; sum.add($1); return sum }
    }
}

/// What an evaluation report says besides its numbers: the data, the paths, the BN states.
/// A shard records it in its partial (`swa.eval`) so the merge needs neither MODEL nor DATA.
public struct EvaluationDescription: Sendable, Equatable, Codable {
    public var dataPath: String
    /// Samples of the whole data set (not of a shard).
    public var samples: Int
    public var normalization: NormalizationRecord
    public var modelPath: String
    /// The model's BN state as reports name it (`updated`, `stale`, `unknown`).
    public var modelBN: String
    public var beforeBNPath: String?
    public var beforeBNState: String?
    /// Ensemble members in order; empty without an ensemble.
    public var memberPaths: [String]

    enum CodingKeys: String, CodingKey {
        case dataPath = "data_path", samples, normalization, modelPath = "model_path", modelBN = "model_bn"
        case beforeBNPath = "before_bn_path", beforeBNState = "before_bn_state", memberPaths = "member_paths"
    }
}

extension EvaluationReport {
    /// The report of an evaluation whose sums are `sums`: metrics divide the sums, so the same
    /// sums give the same report whether one process or a merge of shards added them.
    public init(description: EvaluationDescription, sums: EvaluationSums) {
        let n = Double(sums.samples)
        var ensemble: EnsembleSummary?
        var agreement: Double?
        var linearization: Linearization?
        if !description.memberPaths.isEmpty, let last = sums.curve.last {
            ensemble = EnsembleSummary(
                members: zip(description.memberPaths, sums.members).map { MemberSummary(path: $0, metrics: $1.metrics) },
                metrics: last.metrics,
                curve: sums.curve.enumerated().map { CurvePoint(k: $0.offset + 1, metrics: $0.element.metrics) },
                seconds: sums.memberSeconds.reduce(0) { $0 + $1 })
            agreement = sums.samples > 0 ? Double(sums.agreements) / n : 0
            linearization = Linearization(modelVsEnsemble: sums.samples > 0 ? sums.modelEnsembleTotalVariation / n : 0,
                                          memberPairs: FGEEnsemble.meanOverPairs(sums.memberPairTotalVariations, samples: sums.samples))
        }
        self.init(data: .init(path: description.dataPath, samples: description.samples, normalization: description.normalization),
                  model: .init(path: description.modelPath, metrics: sums.model.metrics, bn: description.modelBN, seconds: sums.modelSeconds),
                  modelBeforeBN: description.beforeBNPath.flatMap { path in
                      sums.beforeBN.map { ModelSummary(path: path, metrics: $0.metrics, bn: description.beforeBNState ?? "unknown", seconds: sums.beforeBNSeconds) }
                  },
                  ensemble: ensemble, agreement: agreement, linearization: linearization,
                  forwardPasses: .init(model: 1, ensemble: description.memberPaths.count))
    }
}
