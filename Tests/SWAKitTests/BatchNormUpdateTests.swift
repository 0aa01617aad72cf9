import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The BN pass and the forward engine against PyTorch's `update_bn` and logits on the fixtures.
@Suite struct BatchNormUpdateTests {
    @Test(arguments: [(BatchNormWeighting.batch, "bn_update_batch"), (.sample, "bn_update_sample")])
    func runningStatisticsMatchPyTorch(_ weighting: BatchNormWeighting, _ golden: String) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let (parameters, data) = try TestSupport.averagedFixtureModel(in: folder)
            let result = try BatchNormUpdate(parameters: parameters, weighting: weighting).run(data: data, batchSize: 64)
            #expect(result.batches == 21)
            #expect(result.samples == 1300)
            let expected = try LoadedCheckpoint(path: TestSupport.golden + "/\(golden).safetensors")
            #expect(result.statistics.count == 8)
            for (key, values) in result.statistics {
                let reference = try #require(expected.floats(key)).map(Double.init)
                #expect(TestSupport.allClose(values.map(Double.init), reference, rtol: 1e-4, atol: 1e-5), "\(key)")
            }
            for (key, count) in result.counters {
                #expect(count == 21, "\(key)")
                #expect(expected.tensors[key] == withUnsafeBytes(of: Int64(21).littleEndian) { Array($0) })
            }
        }
    }

    @Test func theTwoWeightingsDifferWhereTheLastBatchIsShort() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let (parameters, data) = try TestSupport.averagedFixtureModel(in: folder)
            let perBatch = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: 64)
            let perSample = try BatchNormUpdate(parameters: parameters, weighting: .sample).run(data: data, batchSize: 64)
            let key = "stem.1.running_var"
            #expect(!TestSupport.allClose(perBatch.statistics[key]!.map(Double.init), perSample.statistics[key]!.map(Double.init), rtol: 1e-4))
            // With batches that divide the data evenly (1300 = 13 × 100) the two agree.
            let even = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: 100)
            let evenSample = try BatchNormUpdate(parameters: parameters, weighting: .sample).run(data: data, batchSize: 100)
            #expect(TestSupport.allClose(even.statistics[key]!.map(Double.init), evenSample.statistics[key]!.map(Double.init), rtol: 1e-6))
        }
    }

    @Test func inferenceLogitsOfTheUpdatedModelMatchPyTorch() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let (parameters, data) = try TestSupport.averagedFixtureModel(in: folder)
            let result = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: 64)
            let averaged = try LoadedCheckpoint(path: folder + "/swa.bin")
            try result.write(over: averaged, metadata: averaged.header.metadata, to: folder + "/swa-bn.bin", overwrite: false)
            let updated = try LoadedCheckpoint(path: folder + "/swa-bn.bin")
            let model = try ModelParameters(graph: parameters.graph, checkpoint: updated)
            let test = try DataSet(path: TestSupport.fixtures + "/data/test.npz",
                                   preprocessing: try Preprocessing.parse(metadataJSON: updated.header.metadata["swa.preprocess"]!), limit: 16)
            var logits: [Float] = []
            try test.forEachBatch(size: 16) { batch in
                logits = ForwardPass(parameters: model).run(batch.x, batch: batch.count, mode: .inference)
            }
            let expected = try #require(try LoadedCheckpoint(path: TestSupport.golden + "/logits.safetensors").floats("logits"))
            #expect(logits.count == 160)
            #expect(TestSupport.allClose(logits.map(Double.init), expected.map(Double.init), rtol: 1e-4, atol: 1e-4))
        }
    }

    @Test(arguments: ["preresnet20", "vgg16bn"])
    func presetsRunForwardWithRandomWeights(_ name: String) throws {
        let graph = try ArchitecturePreset(name: name).graph(classes: 10)
        var generator = SeededGenerator(seed: 7)
        var values: [String: [Float]] = [:]
        for node in graph.nodes {
            for role in node.operation.tensorRoles() where role.role != "num_batches_tracked" {
                let count = role.shape.reduce(1, *)
                let fanIn = max(1, role.shape.dropFirst().reduce(1, *))
                values[node.tensors[role.role]!] = switch role.role {
                case "running_var": [Float](repeating: 1, count: count)
                case "running_mean", "bias": [Float](repeating: 0, count: count)
                default: (0..<count).map { _ in Float.random(in: -1...1, using: &generator) * (3 / Float(fanIn)).squareRoot() }
                }
            }
        }
        let parameters = ModelParameters(graph: graph, values: values)
        let input = (0..<(4 * 3 * 32 * 32)).map { _ in Float.random(in: -2...2, using: &generator) }
        for mode in [ForwardPass.Mode.inference, .training] {
            var layers = 0
            let logits = ForwardPass(parameters: parameters).run(input, batch: 4, mode: mode) { _ in layers += 1 }
            #expect(logits.count == 40)
            #expect(logits.allSatisfy { $0.isFinite })
            #expect(layers == (mode == .training ? graph.batchNormNodes.count : 0))
        }
    }
}
