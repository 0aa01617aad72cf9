import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
import SWATestSupport

/// Graph JSON version 2: the ops of torchvision's families read, written back, shape-checked,
/// planned and run; version-1 graphs still read and are still written as version 1.
@Suite("Graph JSON version 2")
struct GraphVersion2Tests {
    /// A squeeze-excitation block with every v2 op somewhere: input [4, 7, 6].
    static let text = #"""
    {"format": "swa.graph", "version": 2, "input": {"name": "x", "shape": [4, 7, 6]}, "nodes": [
     {"name": "dw", "op": "conv2d", "inputs": ["x"], "attrs": {"in_channels": 4, "out_channels": 4, "kernel_size": 3,
      "padding": [1, 2], "stride": [1, 2], "groups": 4, "bias": true}, "tensors": {"weight": "dw.weight", "bias": "dw.bias"}},
     {"name": "act", "op": "hardswish", "inputs": ["dw"]},
     {"name": "se.pool", "op": "adaptive_avgpool2d", "inputs": ["act"], "attrs": {"output_size": 1}},
     {"name": "se.gate", "op": "hardsigmoid", "inputs": ["se.pool"]},
     {"name": "se.mul", "op": "mul", "inputs": ["se.gate", "act"]},
     {"name": "sd", "op": "stochastic_depth", "inputs": ["se.mul"], "attrs": {"p": 0.2, "mode": "row"}},
     {"name": "six", "op": "relu6", "inputs": ["act"]},
     {"name": "cat", "op": "cat", "inputs": ["sd", "six", "act"], "attrs": {"dim": 1}},
     {"name": "pool", "op": "maxpool2d", "inputs": ["cat"], "attrs": {"kernel_size": 2, "ceil_mode": true}},
     {"name": "avg", "op": "avgpool2d", "inputs": ["pool"], "attrs": {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": false}},
     {"name": "g", "op": "gelu", "inputs": ["avg"], "attrs": {"approximate": "tanh"}},
     {"name": "t", "op": "tanh", "inputs": ["g"]},
     {"name": "s", "op": "silu", "inputs": ["t"]},
     {"name": "h", "op": "hardtanh", "inputs": ["s"], "attrs": {"min_val": -0.5, "max_val": 0.5}},
     {"name": "m", "op": "mean", "inputs": ["h"], "attrs": {"dim": [2, 3], "keepdim": false}},
     {"name": "fc", "op": "linear", "inputs": ["m"], "attrs": {"in_features": 12, "out_features": 3}, "tensors": {"weight": "fc.weight", "bias": "fc.bias"}},
     {"name": "out", "op": "sigmoid", "inputs": ["fc"]}
    ], "output": "out"}
    """#

    @Test("Every version-2 op reads, infers its shape, and writes back to an equal graph")
    func readsAndRoundTrips() throws {
        let graph = try ModelGraph(json: Self.text, source: "v2.json")
        #expect(graph.shapes["dw"] == [4, 7, 4])  // width (6 + 2·2 − 3) / 2 + 1
        #expect(graph.shapes["se.pool"] == [4, 1, 1])
        #expect(graph.shapes["se.mul"] == [4, 7, 4])
        #expect(graph.shapes["cat"] == [12, 7, 4])
        #expect(graph.shapes["pool"] == [12, 4, 2])  // ceil_mode: 7 → 4, 4 → 2
        #expect(graph.shapes["m"] == [12])
        #expect(graph.outputShape == [3])
        #expect(graph.requiredVersion == 2)
        #expect(graph.json.contains(#""version":2"#))
        #expect(try ModelGraph(json: graph.json, source: "round trip") == graph)
        let six = try #require(graph.nodes.first { $0.name == "six" })
        #expect(six.operation == .activation(.hardtanh(min: 0, max: 6)))
    }

    @Test("A graph of version-1 ops is written as version 1, so older builds still read it")
    func versionOneStaysVersionOne() throws {
        let graph = try ModelGraph(inputShape: [2, 4, 4], nodes: [
            .init(name: "pool", operation: .maxPool2d(.init(kernelHeight: 2, kernelWidth: 2)), inputs: ["x"]),
            .init(name: "relu", operation: .relu, inputs: ["pool"]),
        ], outputName: "relu")
        #expect(graph.requiredVersion == 1)
        #expect(graph.json.contains(#""version":1"#))
        #expect(!graph.json.contains("ceil_mode"))
        let ceil = try ModelGraph(inputShape: [2, 5, 5], nodes: [
            .init(name: "pool", operation: .maxPool2d(.init(kernelHeight: 2, kernelWidth: 2, ceilMode: true)), inputs: ["x"]),
        ], outputName: "pool")
        #expect(ceil.requiredVersion == 2)
    }

    @Test("Shape errors of the new ops name the node", arguments: [
        (#"{"name": "a", "op": "cat", "inputs": ["x", "p"]}"#, "graph: node 'a' (cat): joins channels of [C, 8, 8] inputs, 'p' is [3, 4, 4]"),
        (#"{"name": "a", "op": "add", "inputs": ["x", "p"]}"#,
         "graph: node 'a' (add): cannot broadcast shapes [3, 8, 8] and [3, 4, 4] (each size must match or be 1)"),
        (#"{"name": "a", "op": "mul", "inputs": ["x"]}"#, "graph: node 'a' (mul) takes 2 input(s), has 1"),
        (#"{"name": "a", "op": "cat", "inputs": []}"#, "graph: node 'a' (cat) takes at least 1 input(s), has 0"),
        (#"{"name": "a", "op": "cat", "inputs": ["x"], "attrs": {"dim": 2}}"#, "graph: node 'a' (cat): only dim 1 (channels) is supported"),
        (#"{"name": "a", "op": "mean", "inputs": ["x"], "attrs": {"dim": [1, 2]}}"#,
         "graph: node 'a' (mean): attribute 'dim' must be [2, 3] (the mean over H and W)"),
        (#"{"name": "a", "op": "gelu", "inputs": ["x"], "attrs": {"approximate": "erf"}}"#,
         #"graph: node 'a': attribute 'approximate' must be "none" or "tanh""#),
        (#"{"name": "a", "op": "avgpool2d", "inputs": ["x"], "attrs": {"kernel_size": 2, "padding": 2}}"#,
         "graph: node 'a' (avgpool2d): padding must be between 0 and half the kernel size"),
        (#"{"name": "a", "op": "maxpool2d", "inputs": ["x"], "attrs": {"kernel_size": 2, "dilation": 2}}"#,
         "graph: node 'a' (maxpool2d): only dilation 1 is supported"),
    ])
    func shapeErrors(_ node: String, _ message: String) throws {
        let text = #"{"format": "swa.graph", "version": 2, "input": {"name": "x", "shape": [3, 8, 8]}, "nodes": ["#
            + #"{"name": "p", "op": "maxpool2d", "inputs": ["x"], "attrs": {"kernel_size": 2}}, \#(node)], "output": "a"}"#
        let error = try #require(throws: SWAError.self) { try ModelGraph(json: text, source: "g.json") }
        #expect(error.description == "g.json: \(message)")
    }

    @Test("A broadcast add or mul writes in place only over the input of the output's shape")
    func broadcastNeverOverwritesTheSmallInput() throws {
        // gate [4, 1, 1] dies at the mul; x must not: the mul needs a fresh buffer or x's if dead.
        let graph = try ModelGraph(inputShape: [4, 5, 5], nodes: [
            .init(name: "feat", operation: .relu, inputs: ["x"]),
            .init(name: "pool", operation: .adaptiveAvgPool2d(height: 1, width: 1), inputs: ["feat"]),
            .init(name: "gate", operation: .activation(.sigmoid), inputs: ["pool"]),
            .init(name: "mul", operation: .mul, inputs: ["gate", "feat"]),
        ], outputName: "mul")
        let plan = ExecutionPlan(graph: graph)
        let mul = plan.steps[3]
        #expect(mul.output == .inPlace(input: 1))
        #expect(mul.outputSlot == mul.inputSlots[1])
        // And it computes gate · feat.
        var generator = SeededGenerator(seed: 3)
        let input = (0 ..< 2 * 100).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let parameters = ModelParameters(graph: graph, values: [:])
        let output = ForwardPass(parameters: parameters).run(input, batch: 2, mode: .inference)
        let feat = input.map { max($0, 0) }
        let pooled = ReferenceKernels.adaptiveAvgPool2d(feat, batch: 2, channels: 4, height: 5, width: 5, outputHeight: 1, outputWidth: 1)
        let gate = pooled.map { ReferenceKernels.activation(.sigmoid, $0) }
        let expected = ReferenceKernels.broadcast(add: false, gate, shape: [4, 1, 1], feat, shape: [4, 5, 5], batch: 2).output
        #expect(zip(output, expected).allSatisfy { abs($0 - $1) <= 1e-6 })
    }
}
