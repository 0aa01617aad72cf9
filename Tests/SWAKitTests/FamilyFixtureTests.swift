import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// One small model per torchvision family (fixtures/make_family_fixtures.py), exported by
/// tools/export_graph.py: the BN pass and inference against PyTorch's `update_bn` and
/// `model.eval()` (goldens computed in float64).
@Suite("torchvision families against PyTorch")
struct FamilyFixtureTests {
    static let folder = TestSupport.fixtures + "/families"
    static let families = ["resnet", "regnet", "mobilenet_v2", "mobilenet_v3", "densenet", "efficientnet"]

    @Test("BN running statistics within 1e-4 relative and logits within 1e-4 of PyTorch", arguments: families)
    func batchNormPassAndLogitsMatchPyTorch(_ family: String) throws {
        let checkpoint = try LoadedCheckpoint(path: "\(Self.folder)/\(family).safetensors.zst")
        let graph = try ModelSource.metadata.graph(for: checkpoint)
        // The graph in the checkpoint is the exporter's JSON file.
        let file = try String(contentsOfFile: "\(Self.folder)/\(family).json", encoding: .utf8)
        #expect(try ModelGraph(json: file, source: "\(family).json") == graph)
        #expect(graph.requiredVersion == 2)
        let parameters = try ModelParameters(graph: graph, checkpoint: checkpoint)
        let golden = try LoadedCheckpoint(path: "\(Self.folder)/\(family)-golden.safetensors")
        let batchSize = Int(golden.header.metadata["batch_size"] ?? "") ?? 0
        #expect(batchSize == 5)

        let data = try DataSet(path: "\(Self.folder)/data.npz", preprocessing: nil)
        let result = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: batchSize)
        #expect(result.batches == 3)
        let statisticKeys = golden.header.tensors.map(\.name).filter { $0 != "logits" }
        #expect(Set(statisticKeys) == Set(result.statistics.keys))
        #expect(statisticKeys.count == 2 * graph.batchNormNodes.count)
        for key in statisticKeys.sorted() {
            let expected = try #require(golden.floats(key)).map(Double.init)
            let actual = try #require(result.statistics[key]).map(Double.init)
            // Relative to the layer's scale: a mean near 0 is compared against its neighbours' size.
            let scale = expected.map(abs).max() ?? 1
            #expect(TestSupport.allClose(actual, expected, rtol: 1e-4, atol: 1e-4 * scale), "\(family): \(key)")
        }

        let updated = try result.applied(to: parameters)
        var logits: [Float] = []
        try data.forEachBatch(size: 12) { batch in
            logits = ForwardPass(parameters: updated).run(batch.x, batch: batch.count, mode: .inference)
        }
        let expected = try #require(golden.floats("logits"))
        #expect(logits.count == expected.count)
        #expect(TestSupport.allClose(logits.map(Double.init), expected.map(Double.init), rtol: 0, atol: 1e-4), "\(family): logits")
        // Not a trivially small output: the logits spread.
        #expect((expected.map(abs).max() ?? 0) > 0.05)
    }

    @Test("Every family's graph names the ops it is in the fixtures for", arguments: [
        ("resnet", ["conv2d", "batchnorm2d", "relu", "maxpool2d", "add", "adaptive_avgpool2d", "flatten", "linear"]),
        ("regnet", ["conv2d", "add", "adaptive_avgpool2d"]),
        ("mobilenet_v2", ["conv2d", "relu6", "add", "dropout"]),
        ("mobilenet_v3", ["hardswish", "hardsigmoid", "mul", "adaptive_avgpool2d", "dropout"]),
        ("densenet", ["cat", "avgpool2d", "maxpool2d"]),
        ("efficientnet", ["silu", "sigmoid", "mul", "stochastic_depth", "dropout"]),
    ])
    func familiesCoverTheirOps(_ family: String, _ ops: [String]) throws {
        let graph = try ModelGraph(json: try String(contentsOfFile: "\(Self.folder)/\(family).json", encoding: .utf8), source: family)
        let used = Set(graph.nodes.map(\.operation.name))
        for op in ops { #expect(used.contains(op), "\(family) uses no \(op)") }
        if family == "regnet" || family == "mobilenet_v2" {
            #expect(graph.nodes.contains { if case let .conv2d(g, _) = $0.operation { g.groups > 1 } else { false } })
        }
    }
}
