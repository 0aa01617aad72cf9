import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// swa-eval's one pass over the data for the model, `--before-bn` and every FGE member
/// (`JointEvaluation`, `FGERunningSums`) against one pass per model (`ModelPredictions`,
/// `FGEEnsemble`, the N×C tables): the same sums bit for bit, with the data read once.
@Suite struct JointEvaluationTests {
    // MARK: - Running sums against whole tables

    /// Members' metrics, curve, pairs, agreement and model-vs-ensemble total variation, added
    /// sample by sample in batches of 8, equal those computed from whole `[samples, classes]`
    /// tables the way `FGEEnsemble` and `EvaluationJob` compute them, bit for bit, batch by batch.
    @Test func runningSumsEqualTheWholeTables() {
        var generator = SeededGenerator(seed: 14)
        let members = 4, samples = 37, classes = 5, batchSize = 8
        func table() -> [Double] {
            (0..<samples).flatMap { _ -> [Double] in
                let raw = (0..<classes).map { _ in Double.random(in: 0.01...1, using: &generator) }
                let total = raw.reduce(0, +)
                return raw.map { $0 / total }
            }
        }
        let tables = (0..<members).map { _ in table() }
        let logs = tables.map { $0.map { Foundation.log($0) - 1e-9 } }  // distinct from log(p): the member path must use them
        let model = table()
        let labels = (0..<samples).map { _ in Int64.random(in: 0..<Int64(classes), using: &generator) }

        var running = FGERunningSums(memberCount: members, classes: classes)
        let all = tables.flatMap { $0 }  // [members, samples, classes]
        all.withUnsafeBufferPointer { all in
            model.withUnsafeBufferPointer { model in
                for sample in 0..<samples {
                    if sample % batchSize == 0 { running.startBatch() }
                    let label = Int(labels[sample])
                    running.add(member: { all.baseAddress! + ($0 * samples + sample) * classes },
                                memberLabelLogProbability: { logs[$0][sample * classes + label] },
                                label: label, model: model.baseAddress! + sample * classes)
                }
            }
        }

        // The whole-table way (FGEEnsemble.init and EvaluationJob before the one pass).
        var sum = [Double](repeating: 0, count: samples * classes)
        var pairs: [[Double]] = []
        for (index, probabilities) in tables.enumerated() {
            let labelLogs = (0..<samples).map { logs[index][$0 * classes + Int(labels[$0])] }
            #expect(running.members[index] == MetricSums(probabilities: probabilities, classes: classes, labels: labels,
                                                         labelLogProbabilities: labelLogs, batchSize: batchSize), "member \(index)")
            for i in sum.indices { sum[i] += probabilities[i] }
            for previous in tables[..<index] {
                pairs.append(totalVariationBatchSums(previous, probabilities, classes: classes, batchSize: batchSize))
            }
            let k = Double(index + 1)
            #expect(running.curve[index] == MetricSums(probabilities: sum.map { $0 / k }, classes: classes, labels: labels,
                                                       batchSize: batchSize), "k \(index + 1)")
        }
        let ensemble = sum.map { $0 / Double(members) }
        #expect(running.memberPairTotalVariations == BatchwiseSums(columns: pairs))
        #expect(running.memberPairTotalVariations.width == 6 && running.memberPairTotalVariations.batchCount == 5)
        #expect(running.agreements == topClassAgreementCount(model, ensemble, classes: classes))
        #expect(running.agreements > 0 && running.agreements < samples)
        #expect(running.modelEnsembleTotalVariation
            == BatchwiseSums(columns: [totalVariationBatchSums(model, ensemble, classes: classes, batchSize: batchSize)]))
        #expect(running.members[0].batchSums.batchCount == 5)
    }

    // MARK: - The job both ways

    /// The fixture run (6 members, --before-bn, batches of 64 over 497 samples): the one pass
    /// and the per-model passes (a 1-byte --max-resident) give equal sums, bit for bit.
    @Test func onePassEqualsOnePassPerModel() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let job = Self.job(model: model)
            let progress = RecordingProgress()
            let joint = try job.evaluate(shard: nil, progress: progress)
            #expect(progress.phases == ["model, before BN, 6 members"])
            #expect(progress.lastDone == 497)
            #expect(progress.warnings.count == 1)  // stale statistics, nothing about memory

            var small = job
            small.maxResidentBytes = 1
            let separate = RecordingProgress()
            let perModel = try small.evaluate(shard: nil, progress: separate)
            #expect(separate.phases == ["model", "before BN"] + (1...6).map { "member \($0)/6" })
            let fallback = try #require(separate.warnings.last)
            #expect(fallback.hasPrefix("warning: the weights of the model, --before-bn and the 6 ensemble members take "), "\(fallback)")
            #expect(fallback.contains("more than --max-resident 1 B; evaluating one model per pass instead (the data is read 8 times"), "\(fallback)")

            #expect(Self.withoutTimes(joint.sums) == Self.withoutTimes(perModel.sums))
            #expect(joint.sums.curve.count == 6 && joint.sums.memberPairTotalVariations.count == 15 && joint.sums.beforeBN != nil)
            #expect(joint.sums.memberSeconds.count == 6 && joint.sums.memberSeconds.allSatisfy { $0 > 0 })
            let a = EvaluationReport(description: joint.description, sums: Self.withoutTimes(joint.sums))
            let b = EvaluationReport(description: perModel.description, sums: Self.withoutTimes(perModel.sums))
            #expect(JSONCoding.encode(a) == JSONCoding.encode(b))
            #expect(a.curveCSV == b.curveCSV)
        }
    }

    /// A shard's samples (the middle batches) the same both ways, bit for bit.
    @Test func aShardIsTheSameBothWays() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let job = Self.job(model: try TestSupport.averageFixtures(in: folder))
            var small = job
            small.maxResidentBytes = 1
            let shard = try ShardSpec(index: 1, count: 3)
            let joint = try job.evaluate(shard: shard, progress: SilentProgress())
            let perModel = try small.evaluate(shard: shard, progress: SilentProgress())
            #expect(joint.sums.samples == 192 && joint.batches == 3..<6)
            #expect(Self.withoutTimes(joint.sums) == Self.withoutTimes(perModel.sums))
        }
    }

    /// A budget the model and its members just fit takes the one pass; one byte less does not.
    @Test func theBudgetCountsTheModelAndEveryMember() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            var job = Self.job(model: model)
            job.beforeBNPath = nil
            let bytes = try LoadedModel(path: model, source: .metadata).parameters.byteCount
            #expect(bytes > 0)
            job.maxResidentBytes = 7 * bytes
            let fits = RecordingProgress()
            _ = try job.evaluate(shard: nil, progress: fits)
            #expect(fits.phases == ["model, 6 members"])
            job.maxResidentBytes = 7 * bytes - 1
            let over = RecordingProgress()
            _ = try job.evaluate(shard: nil, progress: over)
            #expect(over.phases.first == "model" && over.phases.count == 7)
        }
    }

    // MARK: - Reading the data once

    /// The one pass reads the data once for the model and six members; the per-model passes
    /// read it seven times. Same sums.
    @Test func theDataIsReadOnce() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let loaded = try LoadedModel(path: try TestSupport.averageFixtures(in: folder), source: .metadata)
            let data = try DataRequest(path: TestSupport.fixtures + "/data/test.npz", batchSize: 100).open(for: loaded)
            let counting = CountingBatchSource(data)
            let evaluator = try Evaluator(data: counting, classes: 10, batchSize: 100)
            let entries = try CheckpointSelection(start: 10, every: 2).apply(to: discoverCheckpoints([TestSupport.checkpoints]))
            let members = try entries.map { try FGEEnsemble.loadMember($0, graph: loaded.graph) }
            let joint = try JointEvaluation(model: loaded.parameters, beforeBN: nil, members: members, evaluator: evaluator).run()
            #expect(counting.passes == 1 && counting.batches == 5)

            let job = EvaluationJob(modelPath: loaded.path, modelSource: .metadata, data: DataRequest(path: data.path))
            let perModel = try job.evaluateOneModelPerPass(model: loaded.parameters, beforeBN: nil, entries: entries,
                                                           evaluator: evaluator, progress: SilentProgress())
            #expect(counting.passes == 8)
            #expect(Self.withoutTimes(joint) == Self.withoutTimes(perModel))
        }
    }

    /// An image folder (the expensive case to decode): the model with itself and a second
    /// copy as members, one pass against per-model passes, bit for bit.
    @Test func anImageFolderBothWays() throws {
        let images = TestSupport.fixtures + "/images"
        try TestSupport.withTemporaryDirectory { folder in
            for name in ["ckpt-1.safetensors", "ckpt-2.safetensors"] {
                try FileManager.default.copyItem(atPath: images + "/model.safetensors", toPath: folder + "/" + name)
            }
            var request = DataRequest(path: images + "/folder", batchSize: 4)
            request.preset = .cifar10
            request.folder.imagePipeline = ImagePipeline(resize: 36, centerCrop: 32)
            var job = EvaluationJob(modelPath: images + "/model.safetensors", modelSource: .metadata, data: request,
                                    ensembleInputs: [folder])
            let joint = try job.evaluate(shard: nil, progress: SilentProgress())
            job.maxResidentBytes = 1
            let perModel = try job.evaluate(shard: nil, progress: SilentProgress())
            #expect(joint.sums.samples == 15 && joint.sums.members.count == 2)
            #expect(Self.withoutTimes(joint.sums) == Self.withoutTimes(perModel.sums))
            // Members equal to the model: the ensemble is the model.
            #expect(joint.sums.agreements == 15 && joint.sums.memberPairTotalVariations == [0])
            #expect(joint.sums.members[0] == joint.sums.model)
        }
    }

    // MARK: - Shared forward buffers

    /// Passes rebound to other weights share one set of activation buffers; run alternately,
    /// each gives the logits of a pass of its own.
    @Test func reboundPassesAlternatingMatchPassesOfTheirOwn() throws {
        let entries = try CheckpointSelection(start: 16, every: 2).apply(to: discoverCheckpoints([TestSupport.checkpoints]))
        let first = try LoadedCheckpoint(path: entries[0].path)
        let graph = try ModelSource.metadata.graph(for: first)
        let models = try entries.map { try FGEEnsemble.loadMember($0, graph: graph) }
        let data = try DataSet(path: TestSupport.fixtures + "/data/test.npz",
                               preprocessing: try Preprocessing.parse(metadataJSON: first.header.metadata["swa.preprocess"]!))
        let shared = ForwardPass(parameters: models[0])
        let rebound = models.map { shared.rebound(to: $0) }
        var batches = 0
        try data.forEachBatch(size: 50) { batch in
            batches += 1
            for (index, pass) in rebound.enumerated() {
                let alone = ForwardPass(parameters: models[index]).run(batch.x, batch: batch.count, mode: .inference)
                #expect(pass.run(batch.x, batch: batch.count, mode: .inference) == alone, "model \(index)")
            }
        }
        #expect(batches == 10 && models.count == 3)
    }

    // MARK: - Helpers

    static func job(model: String) -> EvaluationJob {
        EvaluationJob(modelPath: model, modelSource: .metadata, data: DataRequest(path: TestSupport.fixtures + "/data/test.npz", batchSize: 64),
                      ensembleInputs: [TestSupport.checkpoints], selection: CheckpointSelection(start: 10, every: 2), beforeBNPath: model)
    }

    /// The sums with their wall times zeroed (they differ between any two runs).
    static func withoutTimes(_ sums: EvaluationSums) -> EvaluationSums {
        var sums = sums
        sums.modelSeconds = 0
        sums.beforeBNSeconds = 0
        sums.memberSeconds = sums.memberSeconds.map { _ in 0 }
        return sums
    }
}

/// A data set that counts the passes made over it and the batches served.
final class CountingBatchSource: BatchSource {
    let inner: DataSet
    private(set) var passes = 0
    private(set) var batches = 0

    init(_ inner: DataSet) { self.inner = inner }

    var path: String { inner.path }
    var sampleCount: Int { inner.sampleCount }
    var sampleShape: [Int] { inner.sampleShape }
    var hasLabels: Bool { inner.hasLabels }
    func labels() throws -> [Int64] { try inner.labels() }
    func forEachBatch(size: Int, _ body: (Batch) throws -> Void) throws {
        try forEachBatch(size: size, samples: 0..<sampleCount, body)
    }
    func forEachBatch(size: Int, samples: Range<Int>, _ body: (Batch) throws -> Void) throws {
        passes += 1
        try inner.forEachBatch(size: size, samples: samples) { batch in
            batches += 1
            try body(batch)
        }
    }
}
