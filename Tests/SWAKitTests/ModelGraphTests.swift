import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Graph JSON: the fixture's graph, round trips, and every rejection naming the node.
@Suite struct ModelGraphTests {
    @Test func fixtureGraphLoadsWithInferredShapes() throws {
        let graph = try fixtureGraph()
        #expect(graph.inputShape == [1, 8, 8])
        #expect(graph.shapes["pool"] == [16, 4, 4])
        #expect(graph.shapes["flatten"] == [256])
        #expect(graph.outputShape == [10])
        #expect(graph.batchNormNodes.map(\.name) == ["stem.1", "block.bn1", "block.bn2", "head.1"])
        #expect(graph.tensorKeys.count == 27)
    }

    @Test func jsonRoundTripsToTheSameGraph() throws {
        let graph = try fixtureGraph()
        #expect(try ModelGraph(json: graph.json, source: "round trip") == graph)
        let preset = try ArchitecturePreset(name: "preresnet20").graph(classes: 10)
        #expect(try ModelGraph(json: preset.json, source: "round trip") == preset)
    }

    @Test func nodesMayComeInAnyOrder() throws {
        let text = graphJSON(nodes: [
            #"{"name": "fc", "op": "linear", "inputs": ["flat"], "attrs": {"in_features": 4, "out_features": 2}, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}"#,
            #"{"name": "flat", "op": "flatten", "inputs": ["x"]}"#,
        ], output: "fc", inputShape: [1, 2, 2])
        let graph = try ModelGraph(json: text, source: "test")
        #expect(graph.nodes.map(\.name) == ["flat", "fc"])
    }

    @Test(arguments: [
        (#"{"name": "a", "op": "softmax", "inputs": ["x"]}"#, "node 'a' has unknown op 'softmax'"),
        (#"{"name": "a", "op": "relu", "inputs": ["missing"]}"#, "node 'a' has input 'missing', which is not defined"),
        (#"{"name": "a", "op": "add", "inputs": ["x"]}"#, "node 'a' (add) takes 2 input(s), has 1"),
        (#"{"name": "a", "op": "conv2d", "inputs": ["x"], "attrs": {"in_channels": 3, "out_channels": 4, "kernel_size": 3}, "tensors": {"weight": "w", "bias": "b"}}"#,
         "node 'a' (conv2d): expects 3 input channels, gets 1"),
        (#"{"name": "a", "op": "conv2d", "inputs": ["x"], "attrs": {"in_channels": 1, "out_channels": 4}, "tensors": {"weight": "w", "bias": "b"}}"#,
         "node 'a': missing attribute 'kernel_size'"),
        (#"{"name": "a", "op": "conv2d", "inputs": ["x"], "attrs": {"in_channels": 1, "out_channels": 4, "kernel_size": 3, "bias": false}}"#,
         "node 'a' (conv2d) names no tensor for its weight"),
        (#"{"name": "a", "op": "linear", "inputs": ["x"], "attrs": {"in_features": 4, "out_features": 2}, "tensors": {"weight": "w", "bias": "b"}}"#,
         "node 'a' (linear): expects [4] features, gets [1, 2, 2] (flatten first?)"),
        (#"{"name": "a", "op": "maxpool2d", "inputs": ["x"], "attrs": {"kernel_size": 3}}"#, "node 'a' (maxpool2d): input 2x2 is too small"),
        (#"{"name": "a", "op": "relu", "inputs": ["x"], "tensors": {"weight": "w"}}"#, "node 'a' (relu) has no tensor role 'weight'"),
        (#"{"name": "a", "op": "conv2d", "inputs": ["x"], "attrs": {"in_channels": 1, "out_channels": 4, "kernel_size": "3"}, "tensors": {"weight": "w"}}"#,
         "node 'a': attribute 'kernel_size' must be an integer or a list of two integers"),
    ])
    func badNodesAreNamed(_ node: String, _ message: String) throws {
        let text = graphJSON(nodes: [node], output: "a", inputShape: [1, 2, 2])
        let error = try #require(throws: SWAError.self) { try ModelGraph(json: text, source: "model.json") }
        #expect(error.file == "model.json")
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test func cyclesAndDuplicatesAreRefused() throws {
        let cycle = graphJSON(nodes: [#"{"name": "a", "op": "relu", "inputs": ["b"]}"#, #"{"name": "b", "op": "relu", "inputs": ["a"]}"#],
                              output: "b", inputShape: [4])
        let cycleError = try #require(throws: SWAError.self) { try ModelGraph(json: cycle, source: "g.json") }
        #expect(cycleError.message.contains("is part of a cycle"))
        let twice = graphJSON(nodes: [#"{"name": "a", "op": "relu", "inputs": ["x"]}"#, #"{"name": "a", "op": "relu", "inputs": ["x"]}"#],
                              output: "a", inputShape: [4])
        let twiceError = try #require(throws: SWAError.self) { try ModelGraph(json: twice, source: "g.json") }
        #expect(twiceError.message.contains("node name 'a' is used twice"))
        let version = #"{"format": "swa.graph", "version": 3, "input": {"name": "x", "shape": [4]}, "nodes": [], "output": "x"}"#
        let versionError = try #require(throws: SWAError.self) { try ModelGraph(json: version, source: "g.json") }
        #expect(versionError.message.contains("version 3 is newer than this build reads"))
    }

    // MARK: - Binding

    @Test func bindingChecksEveryKey() throws {
        let graph = try fixtureGraph()
        let path = TestSupport.checkpoints + "/ckpt-010.safetensors.zst"
        var checkpoint = try LoadedCheckpoint(path: path)
        _ = try ModelParameters(graph: graph, checkpoint: checkpoint)

        var missing = checkpoint
        missing.header.tensors.removeAll { $0.name == "block.conv2.weight" }
        let missingError = try #require(throws: SWAError.self) { try ModelParameters(graph: graph, checkpoint: missing) }
        #expect(missingError.description.contains("missing tensor 'block.conv2.weight' (the weight of graph node 'block.conv2')"))
        #expect(missingError.file == path)

        var extra = checkpoint
        extra.header.tensors.append(TensorInfo(name: "n_averaged", dtype: .i64, shape: [], dataOffsets: 0..<8))
        let extraError = try #require(throws: SWAError.self) { try ModelParameters(graph: graph, checkpoint: extra) }
        #expect(extraError.message.contains("tensor 'n_averaged' is not used by the model graph"))

        let index = checkpoint.header.tensors.firstIndex { $0.name == "head.4.bias" }!
        checkpoint.header.tensors[index].shape = [5]
        let shapeError = try #require(throws: SWAError.self) { try ModelParameters(graph: graph, checkpoint: checkpoint) }
        #expect(shapeError.message.contains("tensor 'head.4.bias' has shape [5], graph node 'head.4' expects [10]"))
    }

    // MARK: - Helpers

    private func fixtureGraph() throws -> ModelGraph {
        let checkpoint = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-020.safetensors.zst")
        return try ModelSource.metadata.graph(for: checkpoint)
    }

    private func graphJSON(nodes: [String], output: String, inputShape: [Int]) -> String {
        #"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": \#(inputShape)}, "nodes": [\#(nodes.joined(separator: ","))], "output": "\#(output)"}"#
    }
}
