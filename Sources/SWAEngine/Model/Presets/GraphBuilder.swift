import SWAFormats
/// Appends nodes in PyTorch module order, so a graph's tensor keys come out in state_dict order.
struct GraphBuilder {
    private(set) var nodes: [ModelGraph.Node] = []

    /// `nn.Conv2d` named `name`, its tensors `name.weight` (and `name.bias`).
    @discardableResult
    mutating func conv(_ name: String, _ input: String, _ inChannels: Int, _ outChannels: Int, kernel: Int,
                       stride: Int = 1, padding: Int = 0, bias: Bool) -> String {
        let geometry = Conv2dGeometry(inChannels: inChannels, outChannels: outChannels, kernelHeight: kernel, kernelWidth: kernel,
                                      strideY: stride, strideX: stride, paddingY: padding, paddingX: padding)
        var tensors = ["weight": name + ".weight"]
        if bias { tensors["bias"] = name + ".bias" }
        nodes.append(.init(name: name, operation: .conv2d(geometry, bias: bias), inputs: [input], tensors: tensors))
        return name
    }

    /// `nn.BatchNorm2d` (or 1d) named `name` with PyTorch's five tensors.
    @discardableResult
    mutating func batchNorm(_ name: String, _ input: String, _ features: Int, momentum: Double = 0.1, spatial: Bool = true) -> String {
        let roles = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        nodes.append(.init(name: name, operation: .batchNorm(BatchNormAttributes(features: features, momentum: momentum, isSpatial: spatial)),
                           inputs: [input], tensors: Dictionary(uniqueKeysWithValues: roles.map { ($0, name + "." + $0) })))
        return name
    }

    @discardableResult
    mutating func linear(_ name: String, _ input: String, _ inFeatures: Int, _ outFeatures: Int) -> String {
        nodes.append(.init(name: name, operation: .linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: true),
                           inputs: [input], tensors: ["weight": name + ".weight", "bias": name + ".bias"]))
        return name
    }

    /// A parameter-free op.
    @discardableResult
    mutating func op(_ name: String, _ operation: GraphOperation, _ inputs: String...) -> String {
        nodes.append(.init(name: name, operation: operation, inputs: inputs))
        return name
    }

    /// Square pooling window `size` with stride `size`.
    static func window(_ size: Int) -> Pool2dGeometry {
        Pool2dGeometry(kernelHeight: size, kernelWidth: size, strideY: size, strideX: size, paddingY: 0, paddingX: 0)
    }
}
