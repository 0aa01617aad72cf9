import SWAFormats
/// Runs a bound model forward on batches of samples on the CPU.
///
/// Activations are Float32, NCHW, in buffers that an `ExecutionPlan` assigns: elementwise
/// nodes write over a dead input, relabelling nodes share their input's buffer, a ReLU after a
/// batch norm runs inside it, and buffers are reused between nodes and batches. Batch norm runs with running statistics
/// (`.inference`, PyTorch's `model.eval()`) or with batch statistics (`.training`,
/// `model.train()`), reporting each layer's batch mean and unbiased variance; dropout and
/// stochastic depth are the identity in both modes (docs/GRAPH.md, Stochastic layers).
///
/// One pass at a time: `run` reuses the instance's buffers, so a `ForwardPass` is not shared
/// between threads (the kernels use the cores themselves).
public struct ForwardPass {
    public enum Mode: Sendable { case inference, training }

    /// One BN layer's statistics over one batch, as PyTorch's training mode computes them.
    public struct BatchStatistics: Sendable {
        public var node: String
        public var mean: [Double]
        /// Unbiased (n−1) variance: what PyTorch folds into `running_var`.
        public var unbiasedVariance: [Double]
    }

    public let parameters: ModelParameters
    private let plan: ExecutionPlan
    private let pool: ActivationPool
    private let convolutions: ConvolutionLayers

    /// - Parameters:
    ///   - convolutionPolicy: how each convolution layer picks im2col + sgemm or oneDNN
    ///     (`SWA_CONV_BACKEND` by default); decided here, once per layer.
    public init(parameters: ModelParameters, convolutionPolicy: ConvolutionBackendPolicy = .current) {
        self.parameters = parameters
        self.plan = ExecutionPlan(graph: parameters.graph)
        self.pool = ActivationPool()
        self.convolutions = ConvolutionLayers(graph: parameters.graph, policy: convolutionPolicy)
        BLASRuntime.configureForKernels()  // the one call on every tool's path
    }

    private init(parameters: ModelParameters, sharing other: ForwardPass) {
        self.parameters = parameters
        self.plan = other.plan
        self.convolutions = other.convolutions
        self.pool = other.pool
    }

    /// A pass over other weights of the same graph that shares this one's activation buffers,
    /// plan and convolution primitives: evaluating K models batch by batch then holds one set
    /// of activations, not K. The passes that share buffers run one at a time, like one pass.
    ///
    /// A oneDNN layer reorders its weights again whenever the weights it last ran differ
    /// (`OneDNNConvolution.run`), so alternating models costs that reorder per batch.
    /// - Precondition: `parameters.graph` is this pass's graph.
    public func rebound(to parameters: ModelParameters) -> ForwardPass {
        precondition(parameters.graph == self.parameters.graph, "a rebound forward pass needs the same graph")
        return ForwardPass(parameters: parameters, sharing: self)
    }

    /// The backend each convolution node runs on, by node name.
    public var convolutionBackends: [String: ConvolutionBackend] {
        Dictionary(uniqueKeysWithValues: convolutions.backends.map { (parameters.graph.nodes[$0.key].name, $0.value) })
    }

    /// Runs one batch.
    /// - Parameters:
    ///   - input: `[batch, inputShape...]`, normalised, NCHW.
    ///   - statistics: receives each BN layer's batch statistics in `.training` mode, in graph order.
    /// - Returns: the output node's activations, `[batch, outputShape...]` (logits).
    public func run(_ input: [Float], batch: Int, mode: Mode, statistics: ((BatchStatistics) -> Void)? = nil) -> [Float] {
        let graph = parameters.graph
        precondition(input.count == batch * graph.inputShape.reduce(1, *), "input does not match the graph's input shape")
        return input.withUnsafeBufferPointer { inputBuffer in
            // The buffer of each slot while it is in use; the input slot is the caller's array,
            // which is only ever read.
            var buffers = [UnsafeMutableBufferPointer<Float>?](repeating: nil, count: plan.slotCount)
            defer {
                for case let buffer? in buffers { pool.give(buffer) }
            }
            func pointer(_ slot: Int) -> UnsafePointer<Float> {
                slot == ExecutionPlan.inputSlot ? inputBuffer.baseAddress! : UnsafePointer(buffers[slot]!.baseAddress!)
            }
            for (index, (node, step)) in zip(graph.nodes, plan.steps).enumerated() {
                if step.output == .fresh {
                    buffers[step.outputSlot] = pool.take(count: batch * step.outputElementsPerSample)
                }
                if step.output != .alias {
                    apply(node, index: index, inputs: step.inputSlots.map(pointer), output: buffers[step.outputSlot]!.baseAddress!,
                          appliesReLU: step.appliesReLU, inputShapes: node.inputs.map { graph.shapes[$0]! },
                          outputShape: graph.shapes[node.name]!, batch: batch,
                          outputCount: batch * step.outputElementsPerSample, mode: mode, statistics: statistics)
                }
                for slot in step.releasedSlots {
                    if let buffer = buffers[slot] { pool.give(buffer) }
                    buffers[slot] = nil
                }
            }
            let outputCount = batch * graph.outputShape.reduce(1, *)
            return Array(UnsafeBufferPointer(start: pointer(plan.outputSlot), count: outputCount))
        }
    }

    /// Runs `node`'s kernel from `inputs` into `output` (which may be one of the inputs when
    /// the plan says in place); a batch norm with `appliesReLU` also does the ReLU after it.
    private func apply(_ node: ModelGraph.Node, index: Int, inputs: [UnsafePointer<Float>], output: UnsafeMutablePointer<Float>,
                       appliesReLU: Bool, inputShapes: [[Int]], outputShape: [Int], batch: Int, outputCount: Int,
                       mode: Mode, statistics: ((BatchStatistics) -> Void)?) {
        let values = parameters.values
        let inputShape = inputShapes[0]
        func tensor(_ role: String) -> [Float]? { node.tensors[role].flatMap { values[$0] } }
        let x = inputs[0]
        switch node.operation {
        case let .conv2d(geometry, _):
            let weight = tensor("weight")!, bias = tensor("bias")
            let primitive = convolutions.primitive(node: index, geometry: geometry, batch: batch, height: inputShape[1],
                                                   width: inputShape[2], hasBias: bias != nil)
            weight.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { b in
                    if let primitive {
                        primitive.run(x, weight: w.baseAddress!, bias: b, output: output)
                        return
                    }
                    conv2d(x, batch: batch, height: inputShape[1], width: inputShape[2], geometry: geometry,
                           weight: w.baseAddress!, bias: b, output: output)
                }
            }
        case let .linear(inFeatures, outFeatures, _):
            let weight = tensor("weight")!, bias = tensor("bias")
            weight.withUnsafeBufferPointer { w in
                withOptionalPointer(bias) { b in
                    linear(x, batch: batch, inFeatures: inFeatures, outFeatures: outFeatures,
                           weight: w.baseAddress!, bias: b, output: output)
                }
            }
        case let .batchNorm(attributes):
            let spatial = inputShape.dropFirst().reduce(1, *)
            withOptionalPointer(tensor("weight")) { w in
                withOptionalPointer(tensor("bias")) { b in
                    switch mode {
                    case .training:
                        let (mean, variance) = batchNormTraining(x, batch: batch, channels: attributes.features, spatial: spatial,
                                                                 eps: attributes.eps, weight: w, bias: b, output: output,
                                                                 relu: appliesReLU)
                        statistics?(BatchStatistics(node: node.name, mean: mean, unbiasedVariance: variance))
                    case .inference:
                        withOptionalPointer(tensor("running_mean")) { m in
                            withOptionalPointer(tensor("running_var")) { v in
                                batchNormInference(x, batch: batch, channels: attributes.features, spatial: spatial,
                                                   eps: attributes.eps, runningMean: m!, runningVariance: v!,
                                                   weight: w, bias: b, output: output, relu: appliesReLU)
                            }
                        }
                    }
                }
            }
        case .relu:
            relu(x, count: outputCount, output: output)
        case let .activation(activation):
            activate(activation, x, count: outputCount, output: output)
        case .add, .mul:
            broadcastBinary(node.operation == .add ? .add : .multiply, x, shape: inputShapes[0], inputs[1], shape: inputShapes[1],
                            batch: batch, outputShape: outputShape, output: output)
        case .concat:
            concatenateChannels(inputs, channels: inputShapes.map { $0[0] }, spatial: inputShape[1] * inputShape[2], batch: batch,
                                output: output)
        case let .maxPool2d(geometry):
            maxPool2d(x, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                      geometry: geometry, output: output)
        case let .avgPool2d(geometry):
            avgPool2d(x, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                      geometry: geometry, output: output)
        case let .adaptiveAvgPool2d(height, width):
            adaptiveAvgPool2d(x, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                              outputHeight: height, outputWidth: width, output: output)
        case .globalAvgPool2d, .mean:
            globalAvgPool2d(x, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                            output: output)
        case .flatten, .dropout, .stochasticDepth, .identity:
            preconditionFailure("relabelling node '\(node.name)' has no kernel; the plan aliases its input")
        }
    }
}

/// Calls `body` with a pointer to `array`'s elements, or nil when there is no array.
private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
