import Foundation
import Testing
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Graph JSON through JSONDecoder/JSONEncoder (docs/GRAPH.md): round trips of every preset and
/// the fixture, the text written, and one line naming the place for a document of the wrong shape.
@Suite struct GraphJSONTests {
    // MARK: - Round trips

    @Test(arguments: ["vgg16bn", "preresnet20", "preresnet164", "wrn28x10"])
    func presetsRoundTrip(_ name: String) throws {
        let graph = try ArchitecturePreset(name: name).graph(classes: 10)
        let json = graph.json
        let again = try ModelGraph(json: json, source: "round trip")
        #expect(again == graph)
        #expect(again.json == json)
    }

    @Test func fixtureGraphRoundTrips() throws {
        let checkpoint = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-020.safetensors.zst")
        let written = try #require(checkpoint.header.metadata["swa.graph"])
        let graph = try ModelGraph(json: written, source: "fixture")
        let again = try ModelGraph(json: graph.json, source: "round trip")
        #expect(again == graph)
        #expect(again.json == graph.json)
    }

    @Test func numbersRoundTripExactly() throws {
        let awkward = [1e-5, 1e-3, 0.1, 1.0000000000000002e-05, Double.leastNormalMagnitude.nextDown, 1, 0, 12_345.678_901_234_5]
        for eps in awkward {
            for momentum in [nil, 0.1, 1e-05, 0.999_999_999_999_999_9] {
                let graph = try ModelGraph(inputShape: [4], nodes: [
                    .init(name: "bn", operation: .batchNorm(.init(features: 4, eps: eps, momentum: momentum, isSpatial: false)),
                          inputs: ["x"], tensors: Self.batchNormKeys("bn")),
                    .init(name: "drop", operation: .dropout(p: eps), inputs: ["bn"]),
                ], outputName: "drop")
                let again = try ModelGraph(json: graph.json, source: "round trip")
                guard case let .batchNorm(attributes) = again.nodes[0].operation, case let .dropout(p) = again.nodes[1].operation else {
                    Issue.record("ops changed: \(again.nodes.map(\.operation))")
                    continue
                }
                #expect(attributes.eps.bitPattern == eps.bitPattern, "eps \(eps) came back as \(attributes.eps)")
                #expect(attributes.momentum?.bitPattern == momentum?.bitPattern)
                #expect(p.bitPattern == eps.bitPattern)
            }
        }
    }

    // MARK: - The text written

    @Test func writtenTextIsCompactWithSortedKeys() throws {
        let graph = try ModelGraph(inputShape: [1, 4, 4], nodes: [
            .init(name: "stem/conv", operation: .conv2d(Conv2dGeometry(inChannels: 1, outChannels: 2, kernelHeight: 3, kernelWidth: 3,
                                                                       paddingY: 1, paddingX: 1), bias: false),
                  inputs: ["x"], tensors: ["weight": "stem/conv.weight"]),
            .init(name: "bn", operation: .batchNorm(.init(features: 2)), inputs: ["stem/conv"], tensors: Self.batchNormKeys("bn")),
            .init(name: "relu", operation: .relu, inputs: ["bn"]),
        ], outputName: "relu")
        let expected = #"{"format":"swa.graph","input":{"name":"x","shape":[1,4,4]},"nodes":["#
            + #"{"attrs":{"bias":false,"dilation":[1,1],"groups":1,"in_channels":1,"kernel_size":[3,3],"out_channels":2,"padding":[1,1],"stride":[1,1]},"#
            + #""inputs":["x"],"name":"stem/conv","op":"conv2d","tensors":{"weight":"stem/conv.weight"}},"#
            + #"{"attrs":{"affine":true,"eps":1e-05,"momentum":0.1,"num_features":2},"inputs":["stem/conv"],"name":"bn","op":"batchnorm2d","#
            + #""tensors":{"bias":"bn.bias","num_batches_tracked":"bn.num_batches_tracked","running_mean":"bn.running_mean","running_var":"bn.running_var","weight":"bn.weight"}},"#
            + #"{"inputs":["bn"],"name":"relu","op":"relu"}],"output":"relu","version":1}"#
        #expect(graph.json == expected)
    }

    @Test func momentumNoneIsWrittenAsNull() throws {
        let graph = try ModelGraph(inputShape: [2], nodes: [
            .init(name: "bn", operation: .batchNorm(.init(features: 2, momentum: nil, isSpatial: false)), inputs: ["x"], tensors: Self.batchNormKeys("bn")),
        ], outputName: "bn")
        #expect(graph.json.contains(#""momentum":null"#))
        #expect(try ModelGraph(json: graph.json, source: "round trip") == graph)
    }

    // MARK: - Reading what people write

    @Test func leftOutInputsAttrsAndTensorsAreEmptyAndUnknownAttributesIgnored() throws {
        let text = Self.graph(nodes: [
            #"{"name": "flat", "op": "flatten", "inputs": ["x"], "attrs": {"note": {"any": ["json", 1, null]}}}"#,
            #"{"name": "id", "op": "identity", "inputs": ["flat"], "attrs": null, "tensors": null}"#,
        ], output: "id")
        let graph = try ModelGraph(json: text, source: "g.json")
        #expect(graph.nodes.map(\.operation) == [.flatten, .identity])
        let noInputs = Self.graph(nodes: [#"{"name": "a", "op": "relu"}"#], output: "a")
        let error = try #require(throws: SWAError.self) { try ModelGraph(json: noInputs, source: "g.json") }
        #expect(error.message == "graph: node 'a' (relu) takes 1 input(s), has 0")
    }

    @Test func wholeNumbersAreIntegersAndIntegersAreNumbers() throws {
        let text = Self.graph(nodes: [
            #"{"name": "bn", "op": "batchnorm1d", "inputs": ["x"], "attrs": {"num_features": 4.0, "eps": 1, "momentum": 0},"#
                + #" "tensors": {"weight": "w", "bias": "b", "running_mean": "m", "running_var": "v"}}"#,
        ], output: "bn")
        let graph = try ModelGraph(json: text, source: "g.json")
        #expect(graph.nodes[0].operation == .batchNorm(.init(features: 4, eps: 1, momentum: 0, isSpatial: false)))
    }

    // MARK: - Errors

    @Test("A document of the wrong shape is one line naming the place", arguments: [
        (#"{"name": "a", "op": "relu", "inputs": "x"}"#, "graph: nodes[1].inputs: expected a list of node names (node 'a')"),
        (#"{"name": "a", "op": "relu", "inputs": ["x", 3]}"#, "graph: nodes[1].inputs: expected a list of node names (node 'a')"),
        (#"{"name": "a", "inputs": ["x"]}"#, #"graph: nodes[1].op: missing, expected a string naming an op, such as "conv2d" (node 'a')"#),
        (#"{"op": "relu", "inputs": ["x"]}"#, "graph: nodes[1].name: missing, expected a string, the node's name"),
        (#"{"name": 7, "op": "relu", "inputs": ["x"]}"#, "graph: nodes[1].name: expected a string, the node's name"),
        (#"{"name": "a", "op": "relu", "inputs": ["x"], "tensors": {"weight": 3}}"#,
         "graph: nodes[1].tensors.weight: expected a checkpoint key (a string) (node 'a')"),
        (#"{"name": "a", "op": "relu", "inputs": ["x"], "tensors": ["w"]}"#,
         "graph: nodes[1].tensors: expected an object mapping tensor roles to checkpoint keys (node 'a')"),
        (#"{"name": "a", "op": "relu", "inputs": ["x"], "attrs": [1]}"#, "graph: nodes[1].attrs: expected an object of attributes (node 'a')"),
        (#""a""#, #"graph: nodes[1]: expected an object {"name", "op", "inputs", "attrs", "tensors"}"#),
    ])
    func badNodeShapesNameThePlace(_ node: String, _ message: String) throws {
        // The second node, so that the position is not 0 by chance.
        let text = Self.graph(nodes: [#"{"name": "x0", "op": "identity", "inputs": ["x"]}"#, node], output: "a")
        let error = try #require(throws: SWAError.self) { try ModelGraph(json: text, source: "model.json") }
        #expect(error.file == "model.json")
        #expect(error.message == message)
    }

    @Test("The top of the document, the input and the output", arguments: [
        (#"[]"#, #"graph: expected an object {"format": "swa.graph", "version": 2, "input", "nodes", "output"}"#),
        (#"{"format": "swa.graph", "version": 1, "nodes": [], "output": "x"}"#,
         #"graph: input: missing, expected an object {"name": ..., "shape": [C, H, W] or [F]}"#),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3, "32", 32]}, "nodes": [], "output": "x"}"#,
         "graph: input.shape: expected a list of sizes, [C, H, W] or [F]"),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": 3}, "nodes": [], "output": "x"}"#,
         "graph: input.shape: expected a list of sizes, [C, H, W] or [F]"),
        (#"{"format": "swa.graph", "version": 1, "input": {"shape": [3]}, "nodes": [], "output": "x"}"#,
         "graph: input.name: missing, expected a string, the name of the graph's input"),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3]}, "nodes": {}, "output": "x"}"#,
         "graph: nodes: expected a list of nodes"),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3]}, "nodes": []}"#,
         "graph: output: missing, expected a string, the name of the output node"),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3]}, "nodes": [], "output": null}"#,
         "graph: output: expected a string, the name of the output node"),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3]}, "nodes": [], "output": "x"}"#,
         "graph: output 'x' is not a node"),
        (#"{"version": 1, "input": {"name": "x", "shape": [3]}, "nodes": [], "output": "x"}"#, #"graph: "format" must be "swa.graph""#),
        (#"{"format": "swa.grph", "version": 1}"#, #"graph: "format" must be "swa.graph""#),
        (#"{"format": "swa.graph"}"#, "graph: version missing is not supported (this build reads versions 1 to 2)"),
        (#"{"format": "swa.graph", "version": "1"}"#, #"graph: version "1" is not supported (this build reads versions 1 to 2)"#),
        // A version this build does not know is refused before the rest is read.
        (#"{"format": "swa.graph", "version": 3, "graph": {"layers": []}}"#,
         "graph: version 3 is newer than this build reads (versions 1 to 2); use a newer swa"),
        (#"{"format": "swa.graph", "version": 0}"#, "graph: version 0 is not supported (this build reads versions 1 to 2)"),
        (#"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3]}"#,
         "graph is not valid JSON: unexpected end of JSON inside an object at byte 74"),
        ("", "graph is not valid JSON: unexpected end of JSON at byte 0"),
    ])
    func badDocumentsNameThePlace(_ text: String, _ message: String) throws {
        let error = try #require(throws: SWAError.self) { try ModelGraph(json: text, source: "g.json") }
        #expect(error.file == "g.json")
        #expect(error.message == message)
    }

    @Test("Attributes of the wrong type or value name the node and the attribute", arguments: [
        (#"{"name": "a", "op": "linear", "inputs": ["x"], "attrs": {"in_features": 4, "out_features": -2}}"#,
         "graph: node 'a': attribute 'out_features' must be a non-negative integer"),
        (#"{"name": "a", "op": "linear", "inputs": ["x"], "attrs": {"in_features": 4.5, "out_features": 2}}"#,
         "graph: node 'a': attribute 'in_features' must be a non-negative integer"),
        (#"{"name": "a", "op": "linear", "inputs": ["x"], "attrs": {"in_features": 4, "out_features": 2147483648}}"#,
         "graph: node 'a': attribute 'out_features' must be a non-negative integer"),
        (#"{"name": "a", "op": "linear", "inputs": ["x"], "attrs": {"in_features": 4, "out_features": 2, "bias": 1}}"#,
         "graph: node 'a': attribute 'bias' must be true or false"),
        (#"{"name": "a", "op": "maxpool2d", "inputs": ["x"], "attrs": {"kernel_size": [2, 2, 2]}}"#,
         "graph: node 'a': attribute 'kernel_size' must be an integer or a list of two integers"),
        (#"{"name": "a", "op": "maxpool2d", "inputs": ["x"], "attrs": {"kernel_size": [2, -1]}}"#,
         "graph: node 'a': attribute 'kernel_size' must be an integer or a list of two integers"),
        (#"{"name": "a", "op": "maxpool2d", "inputs": ["x"]}"#, "graph: node 'a': missing attribute 'kernel_size'"),
        (#"{"name": "a", "op": "batchnorm1d", "inputs": ["x"], "attrs": {"num_features": 4, "eps": "1e-5"}}"#,
         "graph: node 'a': attribute 'eps' must be a number"),
        (#"{"name": "a", "op": "batchnorm1d", "inputs": ["x"], "attrs": {"num_features": 4, "momentum": false}}"#,
         "graph: node 'a': attribute 'momentum' must be a number or null"),
        (#"{"name": "a", "op": "dropout", "inputs": ["x"], "attrs": {"p": null}}"#, "graph: node 'a': attribute 'p' must be a number"),
        (#"{"name": "a", "op": "flatten", "inputs": ["x"], "attrs": {"start_dim": 0}}"#, "graph: node 'a' (flatten): only start_dim 1 is supported"),
        (#"{"name": "a", "op": "Conv2d", "inputs": ["x"]}"#,
         "graph: node 'a' has unknown op 'Conv2d' (known: conv2d batchnorm1d batchnorm2d linear relu relu6 hardtanh hardswish hardsigmoid silu sigmoid gelu tanh maxpool2d avgpool2d adaptive_avgpool2d global_avgpool2d mean flatten dropout stochastic_depth add mul cat identity)"),
    ])
    func badAttributesNameNodeAndAttribute(_ node: String, _ message: String) throws {
        let error = try #require(throws: SWAError.self) { try ModelGraph(json: Self.graph(nodes: [node], output: "a"), source: "g.json") }
        #expect(error.description == "g.json: \(message)")
    }

    // MARK: - Helpers

    private static func batchNormKeys(_ name: String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { ($0, "\(name).\($0)") })
    }

    private static func graph(nodes: [String], output: String) -> String {
        #"{"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [4]}, "nodes": [\#(nodes.joined(separator: ", "))], "output": "\#(output)"}"#
    }
}
