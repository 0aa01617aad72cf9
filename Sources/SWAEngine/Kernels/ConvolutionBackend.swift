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
///
/// oneDNN always runs in its blocked layouts (`OneDNNConvolution.Layout.blocked`, its direct
/// JIT kernels): on plain NCHW it falls back to its own im2col + gemm, whose results change
/// with the OpenMP thread count (measured: 3 and 4 threads differ from 1 and 2 in the last
/// bits; `OneDNNConvolutionTests`), which would break the rule that results do not depend on
/// the core count.
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
        case .dnnl: return OneDNN.isAvailable ? .oneDNN(.blocked) : .blas
        case .auto:
            guard OneDNN.isAvailable, Self.prefersOneDNN(geometry, height: height, width: width, isa: OneDNN.isa) else { return .blas }
            return .oneDNN(.blocked)
        }
    }

    /// Whether oneDNN (blocked layouts, direct JIT kernels) measured consistently faster than
    /// im2col + sgemm for this shape on a CPU where oneDNN reports `isa` (docs/PERFORMANCE.md,
    /// "oneDNN convolutions", `make bench-dnnl`):
    ///
    /// - AVX-512 (`avx512_core` and up; AMD EPYC with AVX-512, 2 free cores, 2026-12-02): every
    ///   convolution with a kernel larger than 1×1. oneDNN's `brgconv:avx512_core` beat im2col
    ///   on every 3×3 layer of PreResNet-20/164, VGG16-BN and WRN-28-10 with ≥ 16 input
    ///   channels: by 1.1–3.1x against OpenBLAS's AVX-512 (SkylakeX) kernels and 1.4–4.5x
    ///   against its AVX2 (Haswell) ones, reorders included, and on the families' 3×3, 5×5 and
    ///   7×7, grouped and depthwise layers by 1.3–29x. The first layers (3 input channels) were
    ///   a tie either way. 1×1 layers stay on sgemm: oneDNN blocked was mixed there (0.48–1.61x
    ///   against SkylakeX's sgemm, 0.6–1.9x against Haswell's), slower on the large planes,
    ///   where reordering big activations costs more than the product saves.
    /// - AVX2 (AMD EPYC, 2 shared cores): oneDNN won some wide 3×3 stride-1 layers and lost
    ///   others of the same kind, every 1×1 and strided layer, and most small family layers,
    ///   where its OpenMP threads stall when the cores are shared (a descheduled thread holds up
    ///   the whole layer). No rule over the shape separated its wins from its losses, so `auto`
    ///   keeps im2col + sgemm there.
    static func prefersOneDNN(_ geometry: Conv2dGeometry, height: Int, width: Int, isa: String) -> Bool {
        guard isa.hasPrefix("avx512_core") else { return false }
        return geometry.kernelHeight * geometry.kernelWidth > 1
    }
}
