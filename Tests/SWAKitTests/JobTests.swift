import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// The BN update and the evaluation as library calls, against PyTorch's goldens on the fixtures.
@Suite struct JobTests {
    @Test func batchNormUpdateJobMatchesUpdateBNAndRecordsTheRun() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let job = BatchNormUpdateJob(modelPath: model, modelSource: .metadata,
                                         data: DataRequest(path: TestSupport.fixtures + "/data/train.npz", batchSize: 64),
                                         output: folder + "/swa-bn.bin")
            let progress = RecordingProgress()
            let report = try job.run(progress: progress)
            #expect(report.layers == 4 && report.batches == 21 && report.samples == 1300)
            #expect(progress.phases == ["bn update"])
            #expect(progress.lastDone == 1300)

            let updated = try LoadedCheckpoint(path: folder + "/swa-bn.bin")
            let golden = try LoadedCheckpoint(path: TestSupport.golden + "/bn_update_batch.safetensors")
            for info in golden.header.tensors where info.dtype.isFloatingPoint {
                #expect(TestSupport.allClose(updated.floats(info.name)!.map(Double.init), golden.floats(info.name)!.map(Double.init),
                                             rtol: 1e-4, atol: 1e-5), "\(info.name)")
            }
            guard case let .recomputed(record)? = updated.header.checkpointMetadata.batchNorm else {
                Issue.record("swa.bn is not a recomputed record")
                return
            }
            #expect(record.data == "train.npz" && record.batches == 21 && record.batchSize == 64 && record.weighting == "batch")
            #expect(record.dataSHA256 == report.dataSHA256)

            // The output exists now: a second run is refused before the pass.
            let again = try #require(throws: SWAError.self) { try job.run() }
            #expect(again.description == "\(folder)/swa-bn.bin: already exists; pass --force to replace it")
        }
    }

    @Test func evaluationJobMatchesPyTorchAndWarnsAboutStaleStatistics() throws {
        let golden = try JSONValue.parse(String(contentsOfFile: TestSupport.golden + "/golden.json", encoding: .utf8))["eval"]!
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let job = EvaluationJob(modelPath: model, modelSource: .metadata,
                                    data: DataRequest(path: TestSupport.fixtures + "/data/test.npz", batchSize: 100),
                                    ensembleInputs: [TestSupport.checkpoints], selection: CheckpointSelection(start: 10, every: 2),
                                    csvPath: folder + "/curve.csv")
            let progress = RecordingProgress()
            let report = try job.run(progress: progress)
            #expect(report.model.metrics.accuracy == golden["swa_stale"]!["accuracy"]!.doubleValue!)
            #expect(report.model.bn == "stale")
            #expect(progress.warnings.count == 1 && progress.warnings[0].contains("swa.bn = stale"))
            #expect(progress.phases == ["model, 6 members"])  // one pass over the data for the model and every member
            let ensemble = try #require(report.ensemble)
            #expect(ensemble.metrics.accuracy == golden["ensemble"]!["accuracy"]!.doubleValue!)
            #expect(ensemble.curve.map(\.k) == [1, 2, 3, 4, 5, 6])
            #expect(ensemble.curve.last!.metrics == ensemble.metrics)
            let csv = try String(contentsOfFile: folder + "/curve.csv", encoding: .utf8)
            #expect(csv == report.curveCSV)
            #expect(csv.split(separator: "\n").count == 7)
        }
    }

    @Test func dataOfTheWrongShapeIsRefusedOnce() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let request = DataRequest(path: TestSupport.fixtures + "/data/test.npz", layout: .nhwc)
            let loaded = try LoadedModel(path: model, source: .metadata)
            let error = try #require(throws: SWAError.self) { try request.open(for: loaded) }
            #expect(error.description == TestSupport.fixtures + "/data/test.npz: samples have shape [8, 1, 8], the model expects [1, 8, 8]; x looks channels-first (N×C×H×W): pass --layout nchw")
        }
    }
}

/// Records what a job reports, for tests.
final class RecordingProgress: ProgressObserver {
    var phases: [String] = []
    var lastDone = 0
    var warnings: [String] = []
    func begin(_ title: String, total: Int) { phases.append(title) }
    func advance(to done: Int) { lastDone = done }
    func end(_ done: Int) { lastDone = done }
    func warn(_ message: String) { warnings.append(message) }
}
