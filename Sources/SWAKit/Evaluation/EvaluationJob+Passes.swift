import Foundation
import SWAEngine

// MARK: - The two ways through the data

extension EvaluationJob {
    /// Every model in one pass (`JointEvaluation`): the members are read first and held, then
    /// each batch is decoded once for the model, `--before-bn` and all members. One progress
    /// phase, titled by what runs ("model, 6 members").
    func evaluateInOnePass(model: ModelParameters, beforeBN: ModelParameters?, entries: [CheckpointEntry],
                           evaluator: Evaluator, progress: ProgressObserver) throws -> EvaluationSums {
        let title = (["model"] + (beforeBN == nil ? [] : ["before BN"])
            + (entries.isEmpty ? [] : ["\(entries.count) member\(entries.count == 1 ? "" : "s")"])).joined(separator: ", ")
        let total = evaluator.samples.count
        progress.begin(title, total: total)
        let members = try entries.map { try FGEEnsemble.loadMember($0, graph: model.graph) }
        let sums = try JointEvaluation(model: model, beforeBN: beforeBN, members: members, evaluator: evaluator)
            .run { progress.advance(to: $0) }
        progress.end(total)
        return sums
    }

    /// One pass per model, one member in memory at a time (`FGEEnsemble`), holding the model's
    /// and every member's `[samples, classes]` probabilities: for members whose weights do not
    /// fit `maxResidentBytes` together. The sums equal `evaluateInOnePass`'s bit for bit.
    func evaluateOneModelPerPass(model: ModelParameters, beforeBN: ModelParameters?, entries: [CheckpointEntry],
                                 evaluator: Evaluator, progress: ProgressObserver) throws -> EvaluationSums {
        var sums = EvaluationSums()
        let classes = model.graph.outputShape.reduce(1, *)
        let modelPredictions = try evaluator.evaluate(model, title: "model", progress: progress)
        sums.model = modelPredictions.sums(labels: evaluator.labels)
        sums.modelSeconds = modelPredictions.seconds
        if let beforeBN {
            let predictions = try evaluator.evaluate(beforeBN, title: "before BN", progress: progress)
            sums.beforeBN = predictions.sums(labels: evaluator.labels)
            sums.beforeBNSeconds = predictions.seconds
        }
        guard !entries.isEmpty else { return sums }
        var begun = false
        let total = evaluator.samples.count
        let fge = try FGEEnsemble(entries: entries, graph: model.graph, evaluator: evaluator,
                                  onMember: { index, _ in
                                      if begun { progress.end(total) }
                                      progress.begin("member \(index + 1)/\(entries.count)", total: total)
                                      begun = true
                                  },
                                  onBatch: { progress.advance(to: $0) })
        if begun { progress.end(total) }
        sums.members = fge.memberSums
        sums.curve = fge.curveSums
        sums.memberSeconds = fge.members.map(\.seconds)
        sums.memberPairTotalVariationSums = fge.memberPairTotalVariationBatches
        sums.agreements = topClassAgreementCount(modelPredictions.probabilities, fge.probabilities, classes: classes)
        sums.modelEnsembleTotalVariationSums = BatchwiseSums(columns: [
            totalVariationBatchSums(modelPredictions.probabilities, fge.probabilities, classes: classes, batchSize: evaluator.batchSize),
        ])
        return sums
    }
}
