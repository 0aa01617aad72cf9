import SWAFormats
/// A model as a small DAG of named operations over NCHW activations (GRAPH.md, versions 1 and 2).
///
/// Node names follow PyTorch module paths and tensors are named by state_dict keys, so a
/// `model.state_dict()` saved with safetensors binds without renaming. A graph is valid once
/// built: names unique, inputs defined, no cycle, ops and attributes known, shapes consistent.
public struct ModelGraph: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var name: String
        public var operation: GraphOperation
        public var inputs: [String]
        /// Checkpoint keys by role (`"weight"`, `"running_mean"`, ...).
        public var tensors: [String: String]

        public init(name: String, operation: GraphOperation, inputs: [String], tensors: [String: String] = [:]) {
            self.name = name
            self.operation = operation
            self.inputs = inputs
            self.tensors = tensors
        }
    }

    /// Name of the graph's input (the batch of samples).
    public var inputName: String
    /// Shape of one sample: `[C, H, W]` or `[F]`.
    public var inputShape: [Int]
    /// Nodes in an order where every input comes before its use.
    public private(set) var nodes: [Node]
    /// The node whose output is the model's output (logits).
    public var outputName: String
    /// Shape of one sample's activation after each node (and the input).
    public private(set) var shapes: [String: [Int]]

    /// Builds and validates a graph; errors name the node at fault.
    public init(inputName: String = "x", inputShape: [Int], nodes: [Node], outputName: String) throws {
        self.inputName = inputName
        self.inputShape = inputShape
        self.outputName = outputName
        self.nodes = try Self.topologicallySorted(nodes, inputName: inputName)
        guard self.nodes.contains(where: { $0.name == outputName }) else {
            throw SWAError("graph: output '\(outputName)' is not a node")
        }
        shapes = try Self.inferShapes(self.nodes, inputName: inputName, inputShape: inputShape)
    }

    /// The output shape of one sample, e.g. `[10]` for ten classes.
    public var outputShape: [Int] { shapes[outputName]! }

    /// Every checkpoint key the graph binds, in node order.
    public var tensorKeys: [String] {
        nodes.flatMap { node in node.operation.tensorRoles().compactMap { node.tensors[$0.role] } }
    }

    /// Nodes that are batch-norm layers.
    public var batchNormNodes: [Node] {
        nodes.filter { if case .batchNorm = $0.operation { true } else { false } }
    }

    // MARK: - Validation

    private static func topologicallySorted(_ nodes: [Node], inputName: String) throws -> [Node] {
        var byName: [String: Node] = [:]
        for node in nodes {
            guard node.name != inputName, byName[node.name] == nil else {
                throw SWAError("graph: node name '\(node.name)' is used twice")
            }
            let counts = node.operation.inputCounts
            guard counts.contains(node.inputs.count) else {
                let expected = counts.upperBound == Int.max ? "at least \(counts.lowerBound)" : "\(counts.lowerBound)"
                throw SWAError("graph: node '\(node.name)' (\(node.operation.name)) takes \(expected) input(s), has \(node.inputs.count)")
            }
            byName[node.name] = node
        }
        for node in nodes {
            for input in node.inputs where input != inputName && byName[input] == nil {
                throw SWAError("graph: node '\(node.name)' has input '\(input)', which is not defined")
            }
            for role in node.operation.tensorRoles() where role.required && node.tensors[role.role] == nil {
                throw SWAError("graph: node '\(node.name)' (\(node.operation.name)) names no tensor for its \(role.role)")
            }
            let known = Set(node.operation.tensorRoles().map(\.role))
            for role in node.tensors.keys where !known.contains(role) {
                throw SWAError("graph: node '\(node.name)' (\(node.operation.name)) has no tensor role '\(role)'")
            }
        }
        // Depth-first, keeping the given order where it is already valid.
        var sorted: [Node] = []
        var state: [String: Bool] = [:]  // false = in progress, true = done
        func visit(_ node: Node) throws {
            if state[node.name] == true { return }
            if state[node.name] == false { throw SWAError("graph: node '\(node.name)' is part of a cycle") }
            state[node.name] = false
            for input in node.inputs where input != inputName { try visit(byName[input]!) }
            state[node.name] = true
            sorted.append(node)
        }
        for node in nodes { try visit(node) }
        return sorted
    }

    private static func inferShapes(_ nodes: [Node], inputName: String, inputShape: [Int]) throws -> [String: [Int]] {
        guard inputShape.count == 3 || inputShape.count == 1, inputShape.allSatisfy({ $0 > 0 }) else {
            throw SWAError("graph: input shape \(inputShape) must be [C, H, W] or [F] with positive sizes")
        }
        var shapes = [inputName: inputShape]
        for node in nodes {
            let input = shapes[node.inputs[0]]!
            func fail(_ reason: String) -> SWAError {
                SWAError("graph: node '\(node.name)' (\(node.operation.name)): \(reason)")
            }
            func spatial() throws -> (c: Int, h: Int, w: Int) {
                guard input.count == 3 else { throw fail("needs an input of shape [C, H, W], got \(input)") }
                return (input[0], input[1], input[2])
            }
            let output: [Int]
            switch node.operation {
            case let .conv2d(geometry, _):
                let (c, h, w) = try spatial()
                guard c == geometry.inChannels else { throw fail("expects \(geometry.inChannels) input channels, gets \(c)") }
                guard geometry.groups > 0, c % geometry.groups == 0, geometry.outChannels % geometry.groups == 0 else {
                    throw fail("groups \(geometry.groups) must divide \(c) input and \(geometry.outChannels) output channels")
                }
                let size = geometry.outputSize(height: h, width: w)
                guard size.height > 0, size.width > 0 else { throw fail("input \(h)x\(w) is too small for this convolution") }
                output = [geometry.outChannels, size.height, size.width]
            case let .batchNorm(attributes):
                guard input.count == (attributes.isSpatial ? 3 : 1) else {
                    throw fail("needs an input of shape \(attributes.isSpatial ? "[C, H, W]" : "[F]"), got \(input)")
                }
                guard input[0] == attributes.features else { throw fail("has \(attributes.features) features, its input has \(input[0])") }
                output = input
            case let .linear(inFeatures, outFeatures, _):
                guard input == [inFeatures] else { throw fail("expects [\(inFeatures)] features, gets \(input) (flatten first?)") }
                output = [outFeatures]
            case let .maxPool2d(geometry), let .avgPool2d(geometry):
                let (c, h, w) = try spatial()
                if let problem = geometry.problem { throw fail(problem) }
                let size = geometry.outputSize(height: h, width: w)
                guard size.height > 0, size.width > 0 else { throw fail("input \(h)x\(w) is too small for this pooling") }
                output = [c, size.height, size.width]
            case let .adaptiveAvgPool2d(height, width):
                let c = try spatial().c
                guard height > 0, width > 0 else { throw fail("output size \(height)x\(width) must be positive") }
                output = [c, height, width]
            case .globalAvgPool2d:
                output = [try spatial().c]
            case let .mean(keepDimensions):
                let c = try spatial().c
                output = keepDimensions ? [c, 1, 1] : [c]
            case .flatten:
                output = [input.reduce(1, *)]
            case .add, .mul:
                let other = shapes[node.inputs[1]]!
                guard let shape = broadcastShape(input, other) else {
                    throw fail("cannot broadcast shapes \(input) and \(other) (each size must match or be 1)")
                }
                output = shape
            case .concat:
                let (_, h, w) = try spatial()
                var channels = 0
                for name in node.inputs {
                    let shape = shapes[name]!
                    guard shape.count == 3, shape[1] == h, shape[2] == w else {
                        throw fail("joins channels of [C, \(h), \(w)] inputs, '\(name)' is \(shape)")
                    }
                    channels += shape[0]
                }
                output = [channels, h, w]
            case .relu, .activation, .dropout, .stochasticDepth, .identity:
                output = input
            }
            shapes[node.name] = output
        }
        return shapes
    }
}

/// PyTorch's broadcasting of two per-sample shapes: aligned from the right, each pair of sizes
/// equal or one of them 1; nil when they do not broadcast. The batch dimension is common.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    let a = Array(repeating: 1, count: rank - a.count) + a, b = Array(repeating: 1, count: rank - b.count) + b
    var shape: [Int] = []
    for (x, y) in zip(a, b) {
        guard x == y || x == 1 || y == 1 else { return nil }
        shape.append(x == 1 ? y : x)
    }
    return shape
}
