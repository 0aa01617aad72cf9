import SWAFormats

// MARK: - Graph JSON (docs/GRAPH.md, versions 1 and 2)
//
// Foundation's JSONDecoder reads the document's shape into a GraphDocument; the ops and their
// attributes are checked here, and the graph as a whole (names, edges, shapes) by ModelGraph.init.

extension ModelGraph {
    /// The newest graph format version this build reads and writes.
    public static let formatVersion = 2
    /// The versions this build reads: 1 (the presets' ops) and 2 (adds the ops of torchvision's
    /// families, GRAPH.md).
    public static let readableVersions = 1 ... formatVersion

    /// The version `json` writes: the oldest that has every op of the graph, so a graph of
    /// version-1 ops stays readable by older builds.
    public var requiredVersion: Int {
        nodes.map(\.operation.formatVersion).max() ?? 1
    }

    /// Parses graph JSON (docs/GRAPH.md); `source` names where it came from (a file, or
    /// "FILE (swa.graph)") in errors, which name the node and attribute at fault.
    public init(json text: String, source: String) throws {
        do {
            try self.init(document: try GraphDocument(json: text))
        } catch let error as SWAError {
            throw SWAError(file: source, error.message)
        }
    }

    /// Builds the graph a decoded document describes, checking each node's op and attributes.
    init(document: GraphDocument) throws {
        let nodes = try document.nodes.map(Self.node(from:))
        try self.init(inputName: document.input.name, inputShape: document.input.shape, nodes: nodes, outputName: document.output)
    }

    /// One node of the graph: its op built from `attrs`, defaults filled in as PyTorch's.
    private static func node(from written: GraphDocument.Node) throws -> Node {
        let name = written.name, op = written.op
        let attributes = AttributeReader(node: name, values: written.attrs ?? [:])
        let operation: GraphOperation
        switch op {
        case "conv2d":
            let kernel = try attributes.pair("kernel_size")
            let stride = try attributes.pair("stride", default: (1, 1))
            let padding = try attributes.pair("padding", default: (0, 0))
            let dilation = try attributes.pair("dilation", default: (1, 1))
            operation = .conv2d(Conv2dGeometry(
                inChannels: try attributes.integer("in_channels"), outChannels: try attributes.integer("out_channels"),
                kernelHeight: kernel.0, kernelWidth: kernel.1, strideY: stride.0, strideX: stride.1,
                paddingY: padding.0, paddingX: padding.1, dilationY: dilation.0, dilationX: dilation.1,
                groups: try attributes.integer("groups", default: 1)), bias: try attributes.bool("bias", default: true))
        case "batchnorm1d", "batchnorm2d":
            operation = .batchNorm(BatchNormAttributes(
                features: try attributes.integer("num_features"), eps: try attributes.number("eps", default: 1e-5),
                momentum: try attributes.optionalNumber("momentum"), affine: try attributes.bool("affine", default: true),
                isSpatial: op == "batchnorm2d"))
        case "linear":
            operation = .linear(inFeatures: try attributes.integer("in_features"), outFeatures: try attributes.integer("out_features"),
                                bias: try attributes.bool("bias", default: true))
        case "maxpool2d", "avgpool2d":
            let kernel = try attributes.pair("kernel_size")
            let stride = try attributes.pair("stride", default: kernel)
            let padding = try attributes.pair("padding", default: (0, 0))
            if op == "maxpool2d", try attributes.pair("dilation", default: (1, 1)) != (1, 1) {
                throw SWAError("graph: node '\(name)' (maxpool2d): only dilation 1 is supported")
            }
            let geometry = Pool2dGeometry(kernelHeight: kernel.0, kernelWidth: kernel.1, strideY: stride.0, strideX: stride.1,
                                          paddingY: padding.0, paddingX: padding.1,
                                          ceilMode: try attributes.bool("ceil_mode", default: false),
                                          countIncludePad: op == "maxpool2d" ? true : try attributes.bool("count_include_pad", default: true))
            operation = op == "maxpool2d" ? .maxPool2d(geometry) : .avgPool2d(geometry)
        case "adaptive_avgpool2d":
            let size = try attributes.pair("output_size")
            operation = .adaptiveAvgPool2d(height: size.0, width: size.1)
        case "global_avgpool2d": operation = .globalAvgPool2d
        case "mean":
            guard let dims = attributes.values["dim"]?.listValue?.compactMap(\.integerValue),
                  Set(dims) == [2, 3] || Set(dims) == [-2, -1], dims.count == 2 else {
                throw SWAError("graph: node '\(name)' (mean): attribute 'dim' must be [2, 3] (the mean over H and W)")
            }
            operation = .mean(keepDimensions: try attributes.bool("keepdim", default: false))
        case "flatten":
            guard try attributes.integer("start_dim", default: 1) == 1 else {
                throw SWAError("graph: node '\(name)' (flatten): only start_dim 1 is supported")
            }
            operation = .flatten
        case "relu": operation = .relu
        case "relu6": operation = .activation(.hardtanh(min: 0, max: 6))
        case "hardtanh":
            operation = .activation(.hardtanh(min: Float(try attributes.number("min_val", default: -1)),
                                              max: Float(try attributes.number("max_val", default: 1))))
        case "hardswish": operation = .activation(.hardswish)
        case "hardsigmoid": operation = .activation(.hardsigmoid)
        case "silu": operation = .activation(.silu)
        case "sigmoid": operation = .activation(.sigmoid)
        case "tanh": operation = .activation(.tanh)
        case "gelu":
            switch attributes.values["approximate"] ?? .string("none") {
            case .string("none"): operation = .activation(.gelu(tanhApproximation: false))
            case .string("tanh"): operation = .activation(.gelu(tanhApproximation: true))
            default: throw attributes.fail("approximate", #""none" or "tanh""#)
            }
        case "dropout": operation = .dropout(p: try attributes.number("p", default: 0.5))
        case "stochastic_depth": operation = .stochasticDepth(p: try attributes.number("p", default: 0))
        case "add": operation = .add
        case "mul": operation = .mul
        case "cat":
            guard try attributes.signedInteger("dim", default: 1) == 1 else {
                throw SWAError("graph: node '\(name)' (cat): only dim 1 (channels) is supported")
            }
            operation = .concat
        case "identity": operation = .identity
        default:
            throw SWAError("graph: node '\(name)' has unknown op '\(op)' (known: \(knownOps))")
        }
        return Node(name: name, operation: operation, inputs: written.inputs ?? [], tensors: written.tensors ?? [:])
    }

    /// Every op name graph JSON may use, for the message about an unknown one.
    static let knownOps = "conv2d batchnorm1d batchnorm2d linear relu relu6 hardtanh hardswish hardsigmoid silu sigmoid gelu tanh "
        + "maxpool2d avgpool2d adaptive_avgpool2d global_avgpool2d mean flatten dropout stochastic_depth add mul cat identity"

    // MARK: - Writing

    /// The graph as JSON text (what `swa.graph` holds): compact, keys sorted, every attribute
    /// written out with its value, so that reading it back gives an equal graph.
    public var json: String { JSONCoding.encode(document) }

    /// The document `json` writes; `attrs` and `tensors` are left out when empty.
    var document: GraphDocument {
        GraphDocument(
            version: requiredVersion,
            input: .init(name: inputName, shape: inputShape),
            nodes: nodes.map { node in
                let attributes = Self.attributes(of: node.operation)
                return GraphDocument.Node(name: node.name, op: node.operation.name, inputs: node.inputs,
                                          attrs: attributes.isEmpty ? nil : attributes,
                                          tensors: node.tensors.isEmpty ? nil : node.tensors)
            },
            output: outputName)
    }

    private static func attributes(of operation: GraphOperation) -> [String: AnyJSONValue] {
        func pair(_ a: Int, _ b: Int) -> AnyJSONValue { .list([.integer(a), .integer(b)]) }
        switch operation {
        case let .conv2d(g, bias):
            return ["in_channels": .integer(g.inChannels), "out_channels": .integer(g.outChannels),
                    "kernel_size": pair(g.kernelHeight, g.kernelWidth), "stride": pair(g.strideY, g.strideX),
                    "padding": pair(g.paddingY, g.paddingX), "dilation": pair(g.dilationY, g.dilationX),
                    "groups": .integer(g.groups), "bias": .bool(bias)]
        case let .batchNorm(a):
            return ["num_features": .integer(a.features), "eps": .number(a.eps),
                    "momentum": a.momentum.map(AnyJSONValue.number) ?? .null, "affine": .bool(a.affine)]
        case let .linear(inFeatures, outFeatures, bias):
            return ["in_features": .integer(inFeatures), "out_features": .integer(outFeatures), "bias": .bool(bias)]
        case let .maxPool2d(g), let .avgPool2d(g):
            var values: [String: AnyJSONValue] = ["kernel_size": pair(g.kernelHeight, g.kernelWidth), "stride": pair(g.strideY, g.strideX),
                                                  "padding": pair(g.paddingY, g.paddingX)]
            // Written when not the default only, so that a version-1 graph reads as before.
            if g.ceilMode { values["ceil_mode"] = .bool(true) }
            if !g.countIncludePad { values["count_include_pad"] = .bool(false) }
            return values
        case let .adaptiveAvgPool2d(height, width): return ["output_size": pair(height, width)]
        case let .mean(keepDimensions): return ["dim": .list([.integer(2), .integer(3)]), "keepdim": .bool(keepDimensions)]
        case let .activation(.hardtanh(low, high)):
            return low == 0 && high == 6 ? [:] : ["min_val": .number(Double(low)), "max_val": .number(Double(high))]
        case let .activation(.gelu(tanhApproximation)): return ["approximate": .string(tanhApproximation ? "tanh" : "none")]
        case .flatten: return ["start_dim": .integer(1)]
        case let .dropout(p): return ["p": .number(p)]
        case let .stochasticDepth(p): return ["p": .number(p)]
        case .concat: return ["dim": .integer(1)]
        case .relu, .activation, .globalAvgPool2d, .add, .mul, .identity: return [:]
        }
    }
}

/// Reads one node's `attrs` with errors that name the node and the attribute.
private struct AttributeReader {
    let node: String
    let values: [String: AnyJSONValue]

    func fail(_ key: String, _ expected: String) -> SWAError {
        SWAError("graph: node '\(node)': attribute '\(key)' must be \(expected)")
    }

    func missing(_ key: String) -> SWAError {
        SWAError("graph: node '\(node)': missing attribute '\(key)'")
    }

    /// A size or count: an integer from 0 to `Int32.max`.
    private func size(_ value: AnyJSONValue) -> Int? {
        guard let integer = value.integerValue, (0...Int(Int32.max)).contains(integer) else { return nil }
        return integer
    }

    func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw missing(key)
        }
        guard let integer = size(value) else { throw fail(key, "a non-negative integer") }
        return integer
    }

    /// An integer or a list of two, as PyTorch accepts for kernel_size, stride, padding, dilation.
    func pair(_ key: String, default fallback: (Int, Int)? = nil) throws -> (Int, Int) {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw missing(key)
        }
        if let integer = size(value) { return (integer, integer) }
        guard let items = value.listValue, items.count == 2, let a = size(items[0]), let b = size(items[1]) else {
            throw fail(key, "an integer or a list of two integers")
        }
        return (a, b)
    }

    /// An integer that may be negative (a dimension such as `dim`).
    func signedInteger(_ key: String, default fallback: Int) throws -> Int {
        guard let value = values[key] else { return fallback }
        guard let integer = value.integerValue else { throw fail(key, "an integer") }
        return integer
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = values[key] else { return fallback }
        guard case let .bool(flag) = value else { throw fail(key, "true or false") }
        return flag
    }

    func number(_ key: String, default fallback: Double) throws -> Double {
        guard let value = values[key] else { return fallback }
        guard let number = value.doubleValue else { throw fail(key, "a number") }
        return number
    }

    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = values[key], value != .null else { return nil }
        guard let number = value.doubleValue else { throw fail(key, "a number or null") }
        return number
    }
}
