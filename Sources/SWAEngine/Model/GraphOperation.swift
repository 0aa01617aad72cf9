import SWAFormats
/// The operations a model graph may use (GRAPH.md), with PyTorch's semantics and attributes.
public enum GraphOperation: Sendable, Equatable {
    /// `nn.Conv2d`: weight `[out, in/groups, kh, kw]`, optional bias `[out]`.
    case conv2d(Conv2dGeometry, bias: Bool)
    /// `nn.BatchNorm1d` (input `[n, c]`) or `nn.BatchNorm2d` (input `[n, c, h, w]`).
    case batchNorm(BatchNormAttributes)
    /// `nn.Linear`: weight `[out, in]`, optional bias `[out]`.
    case linear(inFeatures: Int, outFeatures: Int, bias: Bool)
    case relu
    /// `nn.MaxPool2d` (ceil_mode false).
    case maxPool2d(Pool2dGeometry)
    /// `nn.AvgPool2d` (count_include_pad true, ceil_mode false).
    case avgPool2d(Pool2dGeometry)
    /// `nn.AdaptiveAvgPool2d(1)` followed by flattening: `[n, c, h, w] -> [n, c]`.
    case globalAvgPool2d
    /// `torch.flatten(x, start_dim)`; only start_dim 1 is meaningful for a batch.
    case flatten
    /// `nn.Dropout`: identity here, in training and in inference (docs/CLI.md, swa-bn-update).
    case dropout(p: Double)
    /// Elementwise sum of two inputs of one shape (residual connections).
    case add
    case identity

    /// The op's name in graph JSON.
    public var name: String {
        switch self {
        case .conv2d: "conv2d"
        case let .batchNorm(attributes): attributes.isSpatial ? "batchnorm2d" : "batchnorm1d"
        case .linear: "linear"
        case .relu: "relu"
        case .maxPool2d: "maxpool2d"
        case .avgPool2d: "avgpool2d"
        case .globalAvgPool2d: "global_avgpool2d"
        case .flatten: "flatten"
        case .dropout: "dropout"
        case .add: "add"
        case .identity: "identity"
        }
    }

    /// How many inputs the op takes.
    var inputCount: Int { self == .add ? 2 : 1 }

    /// The checkpoint tensors the op needs, by role, with their shapes.
    func tensorRoles() -> [(role: String, shape: [Int], required: Bool)] {
        switch self {
        case let .conv2d(geometry, bias):
            var roles = [("weight", [geometry.outChannels, geometry.inChannels / geometry.groups, geometry.kernelHeight, geometry.kernelWidth], true)]
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
