import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Metrics on hand-computed cases, and the FGE ensemble and SWA model against PyTorch.
@Suite struct EvaluationTests {
    // MARK: - Metrics by hand

    @Test func metricsOfAHandComputedCase() {
        // Three samples, two classes.
        let probabilities: [Double] = [0.9, 0.1,   // label 0, right, confidence 0.9
                                       0.4, 0.6,   // label 0, wrong, confidence 0.6
                                       0.3, 0.7]   // label 1, right, confidence 0.7
        let metrics = ClassificationMetrics(probabilities: probabilities, classes: 2, labels: [0, 0, 1])
        #expect(metrics.accuracy == 2.0 / 3)
        let expectedNLL: Double = -(log(0.9) + log(0.4) + log(0.7)) / 3
        #expect(abs(metrics.nll - expectedNLL) < 1e-15)
        // Brier: (0.1² + 0.1²) + (0.6² + 0.6²) + (0.3² + 0.3²) over 3.
        let expectedBrier: Double = (0.02 + 0.72 + 0.18) / 3
        #expect(abs(metrics.brier - expectedBrier) < 1e-15)
        // ECE: bins (8/15, 9/15] holds 0.6 (wrong), (10/15, 11/15] holds 0.7 (right), (13/15, 14/15] holds 0.9 (right).
        let expectedECE: Double = (0.6 + 0.3 + 0.1) / 3
        #expect(abs(metrics.ece - expectedECE) < 1e-15)
    }

    @Test func samplesInOneBinAreCalibratedTogether() {
        // Confidences 0.95 and 0.96 share the bin (14/15, 1]; one right, one wrong.
        let metrics = ClassificationMetrics(probabilities: [0.95, 0.05, 0.04, 0.96], classes: 2, labels: [0, 0])
        #expect(abs(metrics.ece - abs(0.5 - 0.955)) < 1e-15)
        #expect(metrics.accuracy == 0.5)
    }

    @Test func tiesGoToTheLowestClassLikeArgmax() {
        let metrics = ClassificationMetrics(probabilities: [0.5, 0.5, 0.5, 0.5], classes: 2, labels: [0, 1])
        #expect(metrics.accuracy == 0.5)
        #expect(topClassAgreement([0.5, 0.5], [0.6, 0.4], classes: 2) == 1)
        #expect(topClassAgreement([0.4, 0.6], [0.6, 0.4], classes: 2) == 0)
    }

    @Test func softmaxIsStableForLargeLogits() {
        let logits: [Float] = [1000, 999, -1000]
        let (p, logP) = logits.withUnsafeBufferPointer { softmax(logits: $0.baseAddress!, classes: 3) }
        #expect(abs(p[0] - 1 / (1 + exp(-1.0))) < 1e-15)
        #expect(abs(logP[1] - (-1 - log(1 + exp(-1.0)))) < 1e-12)
        #expect(p[2] == 0)
        #expect(logP[2].isFinite)
    }

    @Test func labelsBeyondTheClassesAreNamed() throws {
        let error = try #require(throws: SWAError.self) { try checkLabels([0, 3, 10], classes: 10, data: "test.npz") }
        #expect(error.description == "test.npz: label 10 of sample 2 is out of range for a model with 10 classes")
    }

    // MARK: - Against PyTorch

    @Test func membersEnsembleCurveAndSWAMatchPyTorch() throws {
        let golden = try JSONValue.parse(String(contentsOfFile: TestSupport.golden + "/golden.json", encoding: .utf8))["eval"]!
        try TestSupport.withTemporaryDirectory { folder in
            let entries = try CheckpointSelection(start: 10, every: 2).apply(to: discoverCheckpoints([TestSupport.checkpoints]))
            let first = try LoadedCheckpoint(path: entries[0].path)
            let graph = try ModelSource.metadata.graph(for: first)
            let preprocessing = try Preprocessing.parse(metadataJSON: first.header.metadata["swa.preprocess"]!)
            let data = try DataSet(path: TestSupport.fixtures + "/data/test.npz", preprocessing: preprocessing)
            let labels = try data.labels()
            let ensemble = try FGEEnsemble(entries: entries, graph: graph, data: data, labels: labels, batchSize: 100)
            let goldenMembers = try #require(golden["members"]?.arrayValue)
            #expect(ensemble.members.count == goldenMembers.count)
            for (member, expected) in zip(ensemble.members, goldenMembers) {
                expectMatches(member.metrics, expected, "member \(member.path)")
            }
            for (k, expected) in (golden["curve"]?.arrayValue ?? []).enumerated() {
                expectMatches(ensemble.curve[k], expected, "curve k=\(k + 1)")
            }
            expectMatches(ensemble.metrics!, golden["ensemble"]!, "ensemble")

            // The SWA model: average, BN update as update_bn, evaluate.
            _ = try StreamingAverager(request: AveragingRequest(inputs: entries, method: .weighted(Array(repeating: 1, count: entries.count)),
                                                                destination: folder + "/swa.bin")).run()
            let averaged = try LoadedCheckpoint(path: folder + "/swa.bin")
            let stale = try ModelParameters(graph: graph, checkpoint: averaged)
            let train = try DataSet(path: TestSupport.fixtures + "/data/train.npz", preprocessing: preprocessing)
            let update = try BatchNormUpdate(parameters: stale, weighting: .batch).run(data: train, batchSize: 64)
            try update.write(over: averaged, metadata: averaged.header.metadata, to: folder + "/swa-bn.bin", overwrite: false)
            let swa = try ModelParameters(graph: graph, checkpoint: LoadedCheckpoint(path: folder + "/swa-bn.bin"))
            let swaPredictions = try ModelPredictions(parameters: swa, data: data, labels: labels, batchSize: 128)
            expectMatches(swaPredictions.metrics(labels: labels), golden["swa"]!, "swa")
            let stalePredictions = try ModelPredictions(parameters: stale, data: data, labels: labels, batchSize: 128)
            expectMatches(stalePredictions.metrics(labels: labels), golden["swa_stale"]!, "swa before BN update")
            #expect(topClassAgreement(swaPredictions.probabilities, ensemble.probabilities, classes: 10) == golden["agreement"]!.doubleValue!)
        }
    }

    /// Accuracy exactly (same predictions), NLL within 1e-5 relative, ECE and Brier within 1e-5 absolute.
    private func expectMatches(_ metrics: ClassificationMetrics, _ expected: JSONValue, _ what: String) {
        #expect(metrics.accuracy == expected["accuracy"]!.doubleValue!, "\(what) accuracy")
        let nll = expected["nll"]!.doubleValue!
        #expect(abs(metrics.nll - nll) <= 1e-5 * abs(nll), "\(what) nll \(metrics.nll) vs \(nll)")
        #expect(abs(metrics.ece - expected["ece"]!.doubleValue!) <= 1e-5, "\(what) ece")
        #expect(abs(metrics.brier - expected["brier"]!.doubleValue!) <= 1e-5, "\(what) brier")
    }
}
