import Foundation
import SWAData
import SWAEngine

/// The model, `--before-bn` and every FGE member evaluated in one pass over the data: each
/// batch is read, decoded and normalised once, then run through every model in turn, and
/// every metric is summed sample by sample (`MetricSums`, `FGERunningSums`).
///
/// This replaces one pass per model, which decoded the data K + 1 (or K + 2) times — for an
/// image folder, JPEG decoding and resizing dominate a small model's pass — and held each
/// member's `[samples, classes]` probabilities for the curve and the member pairs.
///
/// Memory: every model's weights at once (`ModelParameters.byteCount` each; the caller checks
/// them against `EvaluationJob.maxResidentBytes`), one batch's activations (the forward passes
/// share their buffers, `ForwardPass.rebound(to:)`), and per batch (K + 2) × batch × C Float64
/// probabilities. Nothing grows with the number of samples except the evaluator's labels
/// (8 bytes each) and one row of Float64 sums per batch (`BatchwiseSums`). The sums equal those
/// of one pass per model bit for bit: the same batches give the same logits, and every Float64
/// add happens in the same order.
struct JointEvaluation {
    /// The evaluated model, `--before-bn`'s and the members' weights.
    let model: ModelParameters
    let beforeBN: ModelParameters?
    let members: [ModelParameters]
    let evaluator: Evaluator

    /// Runs the pass and returns the sums of `EvaluationSums` it fills: everything but
    /// `samples` and the report's description.
    /// - Parameter onBatch: samples done so far (progress).
    func run(onBatch: (Int) -> Void = { _ in }) throws -> EvaluationSums {
        let classes = model.graph.outputShape.reduce(1, *)
        let range = evaluator.samples
        let labels = evaluator.labels
        let modelPass = ForwardPass(parameters: model)
        let beforeBNPass = beforeBN.map { modelPass.rebound(to: $0) }
        let memberPasses = members.map { modelPass.rebound(to: $0) }

        var sums = EvaluationSums()
        var beforeBNSums = MetricSums()
        var memberSeconds = [Double](repeating: 0, count: members.count)
        var fge = members.isEmpty ? nil : FGERunningSums(memberCount: members.count, classes: classes)
        // One batch's predictions of every model: slot 0 the model, 1 `--before-bn`, 2 + m member m;
        // `[slots, batchSize, classes]` probabilities and `[slots, batchSize]` log p(label).
        let slots = 2 + members.count, batchSize = evaluator.batchSize
        var probabilities = [Double](repeating: 0, count: slots * batchSize * classes)
        var labelLogProbabilities = [Double](repeating: 0, count: slots * batchSize)

        try evaluator.data.forEachBatch(size: batchSize, samples: range) { batch in
            let rows = min(batch.count, range.upperBound - batch.firstIndex)
            let first = batch.firstIndex - range.lowerBound
            probabilities.withUnsafeMutableBufferPointer { table in
                labelLogProbabilities.withUnsafeMutableBufferPointer { labelLogs in
                    func predict(_ pass: ForwardPass, slot: Int) -> Double {
                        Self.predict(pass, batch: batch, rows: rows, labels: labels, first: first,
                                     into: table.baseAddress! + slot * batchSize * classes,
                                     labelLogProbabilities: labelLogs.baseAddress! + slot * batchSize)
                    }
                    func row(_ slot: Int, _ row: Int) -> UnsafePointer<Double> {
                        UnsafePointer(table.baseAddress! + (slot * batchSize + row) * classes)
                    }
                    sums.modelSeconds += predict(modelPass, slot: 0)
                    if let beforeBNPass { sums.beforeBNSeconds += predict(beforeBNPass, slot: 1) }
                    for (index, pass) in memberPasses.enumerated() { memberSeconds[index] += predict(pass, slot: 2 + index) }
                    sums.model.startBatch()
                    if beforeBN != nil { beforeBNSums.startBatch() }
                    fge?.startBatch()
                    for sample in 0..<rows {
                        let label = Int(labels[first + sample])
                        sums.model.add(row: row(0, sample), classes: classes, label: label, labelLogProbability: labelLogs[sample])
                        if beforeBN != nil {
                            beforeBNSums.add(row: row(1, sample), classes: classes, label: label,
                                             labelLogProbability: labelLogs[batchSize + sample])
                        }
                        fge?.add(member: { row(2 + $0, sample) }, memberLabelLogProbability: { labelLogs[(2 + $0) * batchSize + sample] },
                                 label: label, model: row(0, sample))
                    }
                }
            }
            onBatch(first + batch.count)
        }
        if beforeBN != nil { sums.beforeBN = beforeBNSums }
        if let fge {
            sums.members = fge.members
            sums.curve = fge.curve
            sums.memberPairTotalVariationSums = fge.memberPairTotalVariations
            sums.agreements = fge.agreements
            sums.modelEnsembleTotalVariationSums = fge.modelEnsembleTotalVariation
            sums.memberSeconds = memberSeconds
        }
        return sums
    }

    /// Runs `pass` in inference mode on `batch` and writes its first `rows` rows' softmax
    /// (Float64, as `ModelPredictions` computes it) to `probabilities` (`[rows, classes]`) and
    /// their log-softmax at the label to `labelLogProbabilities`; `labels[first + row]` is
    /// row `row`'s label.
    /// - Returns: the seconds it took.
    private static func predict(_ pass: ForwardPass, batch: Batch, rows: Int, labels: [Int64], first: Int,
                                into probabilities: UnsafeMutablePointer<Double>,
                                labelLogProbabilities: UnsafeMutablePointer<Double>) -> Double {
        let started = Date()
        let classes = pass.parameters.graph.outputShape.reduce(1, *)
        let logits = pass.run(batch.x, batch: batch.count, mode: .inference)
        logits.withUnsafeBufferPointer { logits in
            for row in 0..<rows {
                let (p, logP) = softmax(logits: logits.baseAddress! + row * classes, classes: classes)
                (probabilities + row * classes).update(from: p, count: classes)
                labelLogProbabilities[row] = logP[Int(labels[first + row])]
            }
        }
        return Date().timeIntervalSince(started)
    }
}
