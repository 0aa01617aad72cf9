/// Runs a bound model forward on batches of samples on the CPU.
///
/// Activations are Float32, NCHW, one contiguous array per node, freed after their last use.
/// Batch norm runs with running statistics (`.inference`, PyTorch's `model.eval()`) or with
/// batch statistics (`.training`, `model.train()`), reporting each layer's batch mean and
/// unbiased variance; dropout is the identity in both modes (DESIGN §5).
public struct ForwardPass: Sendable {
    public enum Mode: Sendable { case inference, training }

    /// One BN layer's statistics over one batch, as PyTorch's training mode computes them.
    public struct BatchStatistics: Sendable {
        public var node: String
        public var mean: [Double]
        /// Unbiased (n−1) variance: what PyTorch folds into `running_var`.
        public var unbiasedVariance: [Double]
    }

    public let parameters: ModelParameters
    /// For each node, the index of the last node that reads its output.
    private let lastUse: [String: Int]

    public init(parameters: ModelParameters) {
        self.parameters = parameters
        var lastUse: [String: Int] = [:]
        for (index, node) in parameters.graph.nodes.enumerated() {
            for input in node.inputs { lastUse[input] = index }
        }
        self.lastUse = lastUse
    }

    /// Runs one batch.
    /// - Parameters:
    ///   - input: `[batch, inputShape...]`, normalised, NCHW.
    ///   - statistics: receives each BN layer's batch statistics in `.training` mode, in graph order.
    /// - Returns: the output node's activations, `[batch, outputShape...]` (logits).
    public func run(_ input: [Float], batch: Int, mode: Mode, statistics: ((BatchStatistics) -> Void)? = nil) -> [Float] {
        let graph = parameters.graph
        precondition(input.count == batch * graph.inputShape.reduce(1, *), "input does not match the graph's input shape")
        var activations: [String: [Float]] = [graph.inputName: input]
        for (index, node) in graph.nodes.enumerated() {
            let inputShape = graph.shapes[node.inputs[0]]!
            let outputCount = batch * graph.shapes[node.name]!.reduce(1, *)
            let output = apply(node, to: activations[node.inputs[0]]!, second: node.inputs.count > 1 ? activations[node.inputs[1]] : nil,
                               inputShape: inputShape, batch: batch, outputCount: outputCount, mode: mode, statistics: statistics)
            activations[node.name] = output
            for name in Set(node.inputs) where lastUse[name] == index && name != graph.outputName {
                activations[name] = nil
            }
        }
        return activations[graph.outputName]!
    }

    private func apply(_ node: ModelGraph.Node, to input: [Float], second: [Float]?, inputShape: [Int], batch: Int,
                       outputCount: Int, mode: Mode, statistics: ((BatchStatistics) -> Void)?) -> [Float] {
        let values = parameters.values
        func tensor(_ role: String) -> [Float]? { node.tensors[role].flatMap { values[$0] } }
        switch node.operation {
        case let .conv2d(geometry, _):
            let weight = tensor("weight")!, bias = tensor("bias")
            return [Float](unsafeUninitializedCapacity: outputCount) { out, count in
                input.withUnsafeBufferPointer { x in
                    weight.withUnsafeBufferPointer { w in
                        withOptionalPointer(bias) { b in
                            conv2d(x.baseAddress!, batch: batch, height: inputShape[1], width: inputShape[2], geometry: geometry,
                                   weight: w.baseAddress!, bias: b, output: out.baseAddress!)
                        }
                    }
                }
                count = outputCount
            }
        case let .linear(inFeatures, outFeatures, _):
            let weight = tensor("weight")!, bias = tensor("bias")
            return [Float](unsafeUninitializedCapacity: outputCount) { out, count in
                input.withUnsafeBufferPointer { x in
                    weight.withUnsafeBufferPointer { w in
                        withOptionalPointer(bias) { b in
                            linear(x.baseAddress!, batch: batch, inFeatures: inFeatures, outFeatures: outFeatures,
                                   weight: w.baseAddress!, bias: b, output: out.baseAddress!)
                        }
                    }
                }
                count = outputCount
            }
        case let .batchNorm(attributes):
            let spatial = inputShape.dropFirst().reduce(1, *)
            let weight = tensor("weight"), bias = tensor("bias")
            var result = [Float](repeating: 0, count: outputCount)
            input.withUnsafeBufferPointer { x in
                result.withUnsafeMutableBufferPointer { out in
                    withOptionalPointer(weight) { w in
                        withOptionalPointer(bias) { b in
                            switch mode {
                            case .training:
                                let (mean, variance) = batchNormTraining(x.baseAddress!, batch: batch, channels: attributes.features, spatial: spatial,
                                                                         eps: attributes.eps, weight: w, bias: b, output: out.baseAddress!)
                                statistics?(BatchStatistics(node: node.name, mean: mean, unbiasedVariance: variance))
                            case .inference:
                                let runningMean = tensor("running_mean")!, runningVariance = tensor("running_var")!
                                runningMean.withUnsafeBufferPointer { m in
                                    runningVariance.withUnsafeBufferPointer { v in
                                        batchNormInference(x.baseAddress!, batch: batch, channels: attributes.features, spatial: spatial,
                                                           eps: attributes.eps, runningMean: m.baseAddress!, runningVariance: v.baseAddress!,
                                                           weight: w, bias: b, output: out.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return result
        case .relu:
            var result = input
            result.withUnsafeMutableBufferPointer { relu($0.baseAddress!, count: outputCount, output: $0.baseAddress!) }
            return result
        case .add:
            var result = input
            second!.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { add($0.baseAddress!, b.baseAddress!, count: outputCount, output: $0.baseAddress!) }
            }
            return result
        case let .maxPool2d(geometry), let .avgPool2d(geometry):
            let isMax = if case .maxPool2d = node.operation { true } else { false }
            return [Float](unsafeUninitializedCapacity: outputCount) { out, count in
                input.withUnsafeBufferPointer { x in
                    if isMax {
                        maxPool2d(x.baseAddress!, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                                  geometry: geometry, output: out.baseAddress!)
                    } else {
                        avgPool2d(x.baseAddress!, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                                  geometry: geometry, output: out.baseAddress!)
                    }
                }
                count = outputCount
            }
        case .globalAvgPool2d:
            return [Float](unsafeUninitializedCapacity: outputCount) { out, count in
                input.withUnsafeBufferPointer { x in
                    globalAvgPool2d(x.baseAddress!, batch: batch, channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                                    output: out.baseAddress!)
                }
                count = outputCount
            }
        case .flatten, .dropout, .identity:
            return input
        }
    }
}

/// Calls `body` with a pointer to `array`'s elements, or nil when there is no array.
private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
