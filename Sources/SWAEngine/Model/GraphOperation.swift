import SWAFormats
/// The operations a model graph may use (GRAPH.md), with PyTorch's semantics and attributes.
public enum GraphOperation: Sendable, Equatable {
    /// `nn.Conv2d`: weight `[out, in/groups, kh, kw]`, optional bias `[out]`; grouped and
    /// depthwise (`groups == in_channels`) included.
    case conv2d(Conv2dGeometry, bias: Bool)
    /// `nn.BatchNorm1d` (input `[n, c]`) or `nn.BatchNorm2d` (input `[n, c, h, w]`).
    case batchNorm(BatchNormAttributes)
    /// `nn.Linear`: weight `[out, in]`, optional bias `[out]`.
    case linear(inFeatures: Int, outFeatures: Int, bias: Bool)
    case relu
    /// An elementwise activation other than ReLU (version 2): `nn.ReLU6`, `nn.Hardtanh`,
    /// `nn.Hardswish`, `nn.Hardsigmoid`, `nn.SiLU`, `nn.Sigmoid`, `nn.GELU`, `nn.Tanh`.
    case activation(Activation)
    /// `nn.MaxPool2d` (dilation 1).
    case maxPool2d(Pool2dGeometry)
    /// `nn.AvgPool2d`.
    case avgPool2d(Pool2dGeometry)
    /// `nn.AdaptiveAvgPool2d((height, width))` (version 2): `[c, h, w] -> [c, height, width]`.
    case adaptiveAvgPool2d(height: Int, width: Int)
    /// `nn.AdaptiveAvgPool2d(1)` followed by flattening: `[n, c, h, w] -> [n, c]`.
    case globalAvgPool2d
    /// `x.mean((2, 3), keepdim)` (version 2): `[c, h, w] -> [c]`, or `[c, 1, 1]` keeping dimensions.
    case mean(keepDimensions: Bool)
    /// `torch.flatten(x, start_dim)`; only start_dim 1 is meaningful for a batch.
    case flatten
    /// `nn.Dropout`: identity here, in training and in inference (docs/GRAPH.md).
    case dropout(p: Double)
    /// torchvision's `StochasticDepth` (version 2): identity here, in training and in inference.
    case stochasticDepth(p: Double)
    /// Elementwise sum of two inputs, with PyTorch broadcasting (residual connections).
    case add
    /// Elementwise product of two inputs, with PyTorch broadcasting (version 2; squeeze-excitation
    /// `[c, 1, 1] · [c, h, w]`).
    case mul
    /// `torch.cat(inputs, 1)` (version 2): inputs `[c_i, h, w]` joined along the channels.
    case concat
    case identity

    /// The op's name in graph JSON.
    public var name: String {
        switch self {
        case .conv2d: "conv2d"
        case let .batchNorm(attributes): attributes.isSpatial ? "batchnorm2d" : "batchnorm1d"
        case .linear: "linear"
        case .relu: "relu"
        case let .activation(activation): activation.name
        case .maxPool2d: "maxpool2d"
        case .avgPool2d: "avgpool2d"
        case .adaptiveAvgPool2d: "adaptive_avgpool2d"
        case .globalAvgPool2d: "global_avgpool2d"
        case .mean: "mean"
        case .flatten: "flatten"
        case .dropout: "dropout"
        case .stochasticDepth: "stochastic_depth"
        case .add: "add"
        case .mul: "mul"
        case .concat: "cat"
        case .identity: "identity"
        }
    }

    /// How many inputs the op takes.
    var inputCounts: ClosedRange<Int> {
        switch self {
        case .add, .mul: 2 ... 2
        case .concat: 1 ... Int.max
        default: 1 ... 1
        }
    }

    /// The oldest graph format version that has this op with these attributes.
    var formatVersion: Int {
        switch self {
        case .activation, .adaptiveAvgPool2d, .mean, .stochasticDepth, .mul, .concat: 2
        case let .maxPool2d(geometry), let .avgPool2d(geometry): geometry.ceilMode || !geometry.countIncludePad ? 2 : 1
        default: 1
        }
    }

    /// The checkpoint tensors the op needs, by role, with their shapes.
    func tensorRoles() -> [(role: String, shape: [Int], required: Bool)] {
        switch self {
        case let .conv2d(geometry, bias):
            var roles = [("weight", [geometry.outChannels, geometry.inChannels / max(1, geometry.groups), geometry.kernelHeight, geometry.kernelWidth], true)]
            if bias { roles.append(("bias", [geometry.outChannels], true)) }
            return roles
        case let .batchNorm(attributes):
            let c = attributes.features
            var roles: [(String, [Int], Bool)] = []
            if attributes.affine { roles += [("weight", [c], true), ("bias", [c], true)] }
            // Checkpoints saved before PyTorch 0.4.1 have no num_batches_tracked.
            roles += [("running_mean", [c], true), ("running_var", [c], true), ("num_batches_tracked", [], false)]
            return roles
        case let .linear(inFeatures, outFeatures, bias):
            var roles = [("weight", [outFeatures, inFeatures], true)]
            if bias { roles.append(("bias", [outFeatures], true)) }
            return roles
        default:
            return []
        }
    }
}

/// An elementwise activation function, as PyTorch defines it.
public enum Activation: Sendable, Equatable {
    /// `clamp(x, min, max)`: `nn.Hardtanh(min, max)`; `nn.ReLU6` is `hardtanh(0, 6)`.
    case hardtanh(min: Float, max: Float)
    /// `x · clamp(x + 3, 0, 6) / 6`.
    case hardswish
    /// `clamp(x + 3, 0, 6) / 6`.
    case hardsigmoid
    /// `x · sigmoid(x)` (swish).
    case silu
    /// `1 / (1 + exp(−x))`.
    case sigmoid
    /// `x · Φ(x)` with the normal CDF through `erf`, or its `tanh` approximation
    /// (`nn.GELU(approximate="tanh")`).
    case gelu(tanhApproximation: Bool)
    case tanh

    /// The op name in graph JSON.
    public var name: String {
        switch self {
        case let .hardtanh(low, high): low == 0 && high == 6 ? "relu6" : "hardtanh"
        case .hardswish: "hardswish"
        case .hardsigmoid: "hardsigmoid"
        case .silu: "silu"
        case .sigmoid: "sigmoid"
        case .gelu: "gelu"
        case .tanh: "tanh"
        }
    }
}

/// `nn.BatchNorm1d/2d` settings.
public struct BatchNormAttributes: Sendable, Equatable {
    public var features: Int
    public var eps: Double
    /// PyTorch's momentum, kept for the record; the BN update ignores it (cumulative average).
    public var momentum: Double?
    /// Whether the layer has weight and bias.
    public var affine: Bool
    /// 2d (`[n, c, h, w]`) or 1d (`[n, c]`).
    public var isSpatial: Bool

    public init(features: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true, isSpatial: Bool = true) {
        self.features = features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.isSpatial = isSpatial
    }
}
