import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// Shards of `swa-eval` (`EvaluationJob.runShard`) merged (`EvaluationJob.merge`) against the
/// single process on the fixtures: every count, metric and curve point bit for bit, for any
/// number of shards (the Float64 sums are kept per batch and added in batch order,
/// `BatchwiseSums`).
@Suite struct EvaluationShardTests {
    static func job(model: String, folder: String, limit: Int? = nil, batchSize: Int = 64) -> EvaluationJob {
        var data = DataRequest(path: TestSupport.fixtures + "/data/test.npz", batchSize: batchSize)
        data.limit = limit
        return EvaluationJob(modelPath: model, modelSource: .metadata, data: data, ensembleInputs: [TestSupport.checkpoints],
                             selection: CheckpointSelection(start: 14, every: 2), beforeBNPath: model)
    }

    static func merged(_ job: EvaluationJob, count: Int, folder: String, tag: String) throws -> EvaluationReport {
        var partials: [String] = []
        for index in 0..<count {
            let partial = folder + "/eval-\(tag)-\(index)"
            let report = try job.runShard(try ShardSpec(index: index, count: count), partial: partial)
            #expect(report.shard == "\(index)/\(count)")
            partials.append(partial)
        }
        return try EvaluationJob.merge(partials.shuffled())
    }

    /// Expects two metrics to be equal bit for bit.
    static func expectSame(_ a: ClassificationMetrics, _ b: ClassificationMetrics, _ what: String) {
        for (x, y, name) in [(a.accuracy, b.accuracy, "accuracy"), (a.nll, b.nll, "nll"), (a.ece, b.ece, "ece"), (a.brier, b.brier, "brier")] {
            #expect(x.bitPattern == y.bitPattern, "\(what) \(name): \(x) vs \(y)")
        }
    }

    static func expectSameReport(_ merged: EvaluationReport, _ single: EvaluationReport) throws {
        #expect(merged.data.samples == single.data.samples && merged.data.path == single.data.path)
        #expect(merged.data.normalization == single.data.normalization)
        #expect(merged.model.path == single.model.path && merged.model.bn == single.model.bn)
        expectSame(merged.model.metrics, single.model.metrics, "model")
        let before = try #require(merged.modelBeforeBN), singleBefore = try #require(single.modelBeforeBN)
        expectSame(before.metrics, singleBefore.metrics, "before BN")
        let ensemble = try #require(merged.ensemble), singleEnsemble = try #require(single.ensemble)
        #expect(ensemble.members.map(\.path) == singleEnsemble.members.map(\.path))
        for (a, b) in zip(ensemble.members, singleEnsemble.members) { expectSame(a.metrics, b.metrics, a.path) }
        #expect(ensemble.curve.map(\.k) == singleEnsemble.curve.map(\.k))
        for (a, b) in zip(ensemble.curve, singleEnsemble.curve) { expectSame(a.metrics, b.metrics, "curve k=\(a.k)") }
        expectSame(ensemble.metrics, singleEnsemble.metrics, "ensemble")
        #expect(merged.agreement == single.agreement)
        let linearization = try #require(merged.linearization), singleLinearization = try #require(single.linearization)
        for (x, y) in [(linearization.modelVsEnsemble, singleLinearization.modelVsEnsemble), (linearization.memberPairs!, singleLinearization.memberPairs!)] {
            #expect(x.bitPattern == y.bitPattern, "linearization \(x) vs \(y)")
        }
        #expect(merged.forwardPasses.ensemble == single.forwardPasses.ensemble)
    }

    @Test(arguments: [1, 2, 3, 7])
    func mergedShardsGiveTheSingleProcessReport(_ count: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let job = Self.job(model: model, folder: folder)
            let single = try job.run()
            #expect(single.ensemble?.members.count ?? 0 >= 3)
            let merged = try Self.merged(job, count: count, folder: folder, tag: "\(count)")
            try Self.expectSameReport(merged, single)
        }
    }

    @Test func shardsWithNoSamplesStillWriteAndMerge() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            // 3 batches over 7 shards: shards 3...6 evaluate nothing.
            let job = Self.job(model: model, folder: folder, limit: 150, batchSize: 50)
            let single = try job.run()
            let merged = try Self.merged(job, count: 7, folder: folder, tag: "empty")
            try Self.expectSameReport(merged, single)
            let empty = try PartialResultFile.read(folder + "/eval-empty-6")
            #expect(try empty.tensors.integers("scalars", file: "") == [0, 0, 0])
        }
    }

    @Test func theMergeWritesTheCurveFilesAndRefusesOtherRuns() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let job = Self.job(model: model, folder: folder, limit: 200, batchSize: 50)
            _ = try job.runShard(try ShardSpec(index: 0, count: 2), partial: folder + "/a0")
            _ = try job.runShard(try ShardSpec(index: 1, count: 2), partial: folder + "/a1")
            let report = try EvaluationJob.merge([folder + "/a0", folder + "/a1"], csvPath: folder + "/curve.csv")
            #expect(try String(contentsOfFile: folder + "/curve.csv", encoding: .utf8) == report.curveCSV)
            // Another batch size is another run.
            let other = Self.job(model: model, folder: folder, limit: 200, batchSize: 40)
            _ = try other.runShard(try ShardSpec(index: 1, count: 2), partial: folder + "/b1")
            let error = try #require(throws: SWAError.self) { try EvaluationJob.merge([folder + "/a0", folder + "/b1"]) }
            #expect(error.message.contains("option batch_size is '40', but '50'"))
            // A BN partial is another kind.
            let bn = BatchNormUpdateJob(modelPath: model, modelSource: .metadata,
                                        data: DataRequest(path: TestSupport.fixtures + "/data/train.npz", limit: 64, batchSize: 64), output: "")
            _ = try bn.runShard(try ShardSpec(index: 0, count: 1), partial: folder + "/bn")
            let kind = try #require(throws: SWAError.self) { try EvaluationJob.merge([folder + "/bn"]) }
            #expect(kind.file == folder + "/bn" && kind.message.contains("needs 'eval' partials"))
        }
    }
}
