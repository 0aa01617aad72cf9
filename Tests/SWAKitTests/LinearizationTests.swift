import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// swa-eval's §3.5 check against total variations computed naively from each model's predictions.
@Suite("Linearization")
struct LinearizationTests {
    @Test("Total variation ½‖p − q‖₁ summed per batch, on hand-made tables")
    func totalVariation() {
        // Sample 1: ½(0.5 + 0.5) = 0.5; sample 2: identical, 0.
        #expect(totalVariationBatchSums([1, 0, 0.3, 0.7], [0.5, 0.5, 0.3, 0.7], classes: 2, batchSize: 2) == [0.5])
        #expect(totalVariationBatchSums([1, 0, 0.3, 0.7], [0.5, 0.5, 0.3, 0.7], classes: 2, batchSize: 1) == [0.5, 0])
        #expect(totalVariationBatchSums([], [], classes: 3, batchSize: 4) == [])
    }

    @Test("swa-eval's linearization equals the naive computation from the model's and the members' predictions")
    func evaluationReport() throws {
        let data = DataRequest(path: TestSupport.fixtures + "/data/test.npz")
        let model = TestSupport.checkpoints + "/ckpt-019.safetensors.zst"
        let selection = CheckpointSelection(start: 10, every: 2)
        let report = try EvaluationJob(modelPath: model, modelSource: .metadata, data: data, ensembleInputs: [TestSupport.checkpoints],
                                       selection: selection).run()
        let linearization = try #require(report.linearization)

        let loaded = try LoadedModel(path: model, source: .metadata)
        let evaluator = try Evaluator(data: try data.open(for: loaded), classes: 10, batchSize: 128)
        let own = try evaluator.predictions(of: loaded.parameters).probabilities
        let members = try selection.apply(to: discoverCheckpoints([TestSupport.checkpoints])).map {
            try evaluator.predictions(of: LoadedModel(path: $0.path, source: .metadata).parameters).probabilities
        }
        #expect(members.count == 6)
        let samples = own.count / 10
        var ensemble = [Double](repeating: 0, count: own.count)
        for member in members { for i in ensemble.indices { ensemble[i] += member[i] / Double(members.count) } }
        func naive(_ p: [Double], _ q: [Double]) -> Double {
            var total = 0.0
            for i in p.indices { total += abs(p[i] - q[i]) }
            return total / 2 / Double(samples)
        }
        var pairs: [Double] = []
        for i in members.indices { for j in members.indices where i < j { pairs.append(naive(members[i], members[j])) } }
        #expect(pairs.count == 15)
        #expect(abs(linearization.modelVsEnsemble - naive(own, ensemble)) < 1e-12)
        #expect(abs(try #require(linearization.memberPairs) - pairs.reduce(0, +) / 15) < 1e-12)
        #expect(linearization.modelVsEnsemble > 0 && linearization.memberPairs! > 0)
    }

    @Test("One member: no pairs")
    func oneMember() throws {
        let report = try EvaluationJob(modelPath: TestSupport.checkpoints + "/ckpt-020.safetensors.zst", modelSource: .metadata,
                                       data: DataRequest(path: TestSupport.fixtures + "/data/test.npz"),
                                       ensembleInputs: [TestSupport.checkpoints], selection: CheckpointSelection(last: 1)).run()
        let linearization = try #require(report.linearization)
        #expect(linearization.memberPairs == nil)
        #expect(linearization.modelVsEnsemble == 0)  // the model is the only member
    }
}
