import SWAFormats
// MARK: - Graph JSON (GRAPH.md, version 1)

extension ModelGraph {
    /// The graph format version this build reads and writes.
    public static let formatVersion = 1

    /// Parses graph JSON; `source` names where it came from (a file, or "swa.graph of FILE") in errors.
    public init(json text: String, source: String) throws {
        let document: JSONValue
        do {
            document = try JSONValue.parse(text)
        } catch {
            throw SWAError(file: source, "graph is not valid JSON: \(error)")
        }
        do {
            try self.init(document: document)
        } catch let error as SWAError {
            throw SWAError(file: source, error.message)
        }
    }

    private init(document: JSONValue) throws {
        guard document["format"]?.stringValue == "swa.graph" else {
            throw SWAError("graph: \"format\" must be \"swa.graph\"")
        }
        guard let version = document["version"]?.unsignedIntegerValue, version == UInt64(Self.formatVersion) else {
            throw SWAError("graph: version \(document["version"]?.serialized ?? "missing") is not supported (this build reads version \(Self.formatVersion))")
        }
        guard let input = document["input"], let inputName = input["name"]?.stringValue,
              let inputShape = input["shape"]?.arrayValue?.map({ $0.unsignedIntegerValue.map(Int.init) }), !inputShape.contains(nil) else {
            throw SWAError("graph: \"input\" must be {\"name\": ..., \"shape\": [C, H, W] or [F]}")
        }
        guard let outputName = document["output"]?.stringValue else { throw SWAError("graph: \"output\" must name a node") }
        guard let nodeValues = document["nodes"]?.arrayValue else { throw SWAError("graph: \"nodes\" must be a list") }
        let nodes = try nodeValues.enumerated().map { index, value in try Self.parseNode(value, index: index) }
        try self.init(inputName: inputName, inputShape: inputShape.map { $0! }, nodes: nodes, outputName: outputName)
    }

    private static func parseNode(_ value: JSONValue, index: Int) throws -> Node {
        guard let name = value["name"]?.stringValue else { throw SWAError("graph: node #\(index) has no name") }
        guard let op = value["op"]?.stringValue else { throw SWAError("graph: node '\(name)' has no op") }
        let inputs = try (value["inputs"]?.arrayValue ?? []).map { item in
            guard let text = item.stringValue else { throw SWAError("graph: node '\(name)': inputs must be node names") }
            return text
        }
        var tensors: [String: String] = [:]
        for (role, key) in value["tensors"]?.objectMembers ?? [] {
            guard let text = key.stringValue else { throw SWAError("graph: node '\(name)': tensor '\(role)' must be a key string") }
            tensors[role] = text
        }
        let attributes = AttributeReader(node: name, members: value["attrs"]?.objectMembers ?? [])
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
            let geometry = Pool2dGeometry(kernelHeight: kernel.0, kernelWidth: kernel.1, strideY: stride.0, strideX: stride.1,
                                          paddingY: padding.0, paddingX: padding.1)
            operation = op == "maxpool2d" ? .maxPool2d(geometry) : .avgPool2d(geometry)
        case "global_avgpool2d": operation = .globalAvgPool2d
        case "flatten":
            guard try attributes.integer("start_dim", default: 1) == 1 else {
                throw SWAError("graph: node '\(name)' (flatten): only start_dim 1 is supported")
            }
            operation = .flatten
        case "relu": operation = .relu
        case "dropout": operation = .dropout(p: try attributes.number("p", default: 0.5))
        case "add": operation = .add
        case "identity": operation = .identity
        default:
            throw SWAError("graph: node '\(name)' has unknown op '\(op)' (known: conv2d batchnorm1d batchnorm2d linear relu maxpool2d avgpool2d global_avgpool2d flatten dropout add identity)")
        }
        return Node(name: name, operation: operation, inputs: inputs, tensors: tensors)
    }

    /// The graph as JSON text (what `swa.graph` holds).
    public var json: String {
        let nodeValues: [JSONValue] = nodes.map { node in
            var members: [(String, JSONValue)] = [("name", .string(node.name)), ("op", .string(node.operation.name)),
                                                   ("inputs", .array(node.inputs.map(JSONValue.string)))]
            let attributes = Self.attributes(of: node.operation)
            if !attributes.isEmpty { members.append(("attrs", .object(attributes))) }
            if !node.tensors.isEmpty {
                members.append(("tensors", .object(node.tensors.keys.sorted().map { ($0, .string(node.tensors[$0]!)) })))
            }
            return .object(members)
        }
        return JSONValue.object([
            ("format", .string("swa.graph")), ("version", .number(String(Self.formatVersion))),
            ("input", .object([("name", .string(inputName)), ("shape", .array(inputShape.map { .number(String($0)) }))])),
            ("nodes", .array(nodeValues)), ("output", .string(outputName)),
        ]).serialized
    }

    private static func attributes(of operation: GraphOperation) -> [(String, JSONValue)] {
        func int(_ value: Int) -> JSONValue { .number(String(value)) }
        func pair(_ a: Int, _ b: Int) -> JSONValue { .array([int(a), int(b)]) }
        switch operation {
        case let .conv2d(g, bias):
            return [("in_channels", int(g.inChannels)), ("out_channels", int(g.outChannels)),
                    ("kernel_size", pair(g.kernelHeight, g.kernelWidth)), ("stride", pair(g.strideY, g.strideX)),
                    ("padding", pair(g.paddingY, g.paddingX)), ("dilation", pair(g.dilationY, g.dilationX)),
                    ("groups", int(g.groups)), ("bias", .bool(bias))]
        case let .batchNorm(a):
            return [("num_features", int(a.features)), ("eps", .number(String(a.eps))),
                    ("momentum", a.momentum.map { .number(String($0)) } ?? .null), ("affine", .bool(a.affine))]
        case let .linear(inFeatures, outFeatures, bias):
            return [("in_features", int(inFeatures)), ("out_features", int(outFeatures)), ("bias", .bool(bias))]
        case let .maxPool2d(g), let .avgPool2d(g):
            return [("kernel_size", pair(g.kernelHeight, g.kernelWidth)), ("stride", pair(g.strideY, g.strideX)),
                    ("padding", pair(g.paddingY, g.paddingX))]
        case .flatten: return [("start_dim", int(1))]
        case let .dropout(p): return [("p", .number(String(p)))]
        default: return []
        }
    }
}

/// Reads one node's `attrs` with errors that name the node and the attribute.
private struct AttributeReader {
    let node: String
    let members: [(String, JSONValue)]

    func value(_ key: String) -> JSONValue? { members.first { $0.0 == key }?.1 }

    func fail(_ key: String, _ expected: String) -> SWAError {
        SWAError("graph: node '\(node)': attribute '\(key)' must be \(expected)")
    }

    func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = value(key) else {
            if let fallback { return fallback }
            throw SWAError("graph: node '\(node)': missing attribute '\(key)'")
        }
        guard let number = value.unsignedIntegerValue, number <= UInt64(Int32.max) else { throw fail(key, "a non-negative integer") }
        return Int(number)
    }

    /// An integer or a list of two, as PyTorch accepts for kernel_size, stride, padding, dilation.
    func pair(_ key: String, default fallback: (Int, Int)? = nil) throws -> (Int, Int) {
        guard let value = value(key) else {
            if let fallback { return fallback }
            throw SWAError("graph: node '\(node)': missing attribute '\(key)'")
        }
        if let number = value.unsignedIntegerValue, number <= UInt64(Int32.max) { return (Int(number), Int(number)) }
        guard let items = value.arrayValue, items.count == 2,
              let a = items[0].unsignedIntegerValue, let b = items[1].unsignedIntegerValue,
              a <= UInt64(Int32.max), b <= UInt64(Int32.max) else {
            throw fail(key, "an integer or a list of two integers")
        }
        return (Int(a), Int(b))
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = value(key) else { return fallback }
        guard case let .bool(flag) = value else { throw fail(key, "true or false") }
        return flag
    }

    func number(_ key: String, default fallback: Double) throws -> Double {
        guard let value = value(key) else { return fallback }
        guard let number = value.doubleValue else { throw fail(key, "a number") }
        return number
    }

    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = value(key), value != .null else { return nil }
        guard let number = value.doubleValue else { throw fail(key, "a number or null") }
        return number
    }
}
