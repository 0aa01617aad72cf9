import SWAData
import SWAEngine
import SWAFormats
/// How the selected checkpoints are combined (docs/CLI.md, swa-avg, "Arithmetic").
public enum AveragingMethod: Sendable, Equatable {
    /// Σ wᵢ·xᵢ / Σ wᵢ in input order; equal weights give the SWA average.
    case weighted([Double])
    /// e ← D·e + (1−D)·x in input order, e₀ = x₀.
    case ema(decay: Double)

    /// The value recorded in `swa.method`.
    public var metadataValue: String {
        switch self {
        case let .weighted(weights): Set(weights).count <= 1 ? "uniform" : "weighted"
        case let .ema(decay): "ema:\(decay)"
        }
    }
}

/// What happens to batch-norm running statistics (`running_mean`, `running_var`).
public enum BufferPolicy: String, Sendable, CaseIterable, Codable {
    /// Averaged like the weights (the default).
    case average
    /// Taken from the last input, as `AveragedModel(use_buffers=False)` does.
    case last
}

/// The dtype of averaged float tensors in the output; integer tensors keep theirs.
public enum OutputDType: Sendable, Equatable {
    /// Each tensor keeps its input dtype.
    case keep
    /// Float tensors are rounded to this dtype (`--dtype f32|f16|bf16`).
    case convert(DType)

    /// `keep`, or the target's name in lower case (`f32`, `bf16` ...): as `--dtype` takes it,
    /// and as partial results record it.
    public var optionText: String {
        switch self {
        case .keep: "keep"
        case let .convert(dtype): dtype.name.lowercased()
        }
    }

    /// The dtype choice `optionText` names; nil for anything else.
    public init?(optionText text: String) {
        if text == "keep" {
            self = .keep
        } else if let dtype = DType(rawValue: text.uppercased()), dtype.isFloatingPoint {
            self = .convert(dtype)
        } else {
            return nil
        }
    }

    /// The output dtype of a tensor stored as `input`.
    func resolve(_ input: DType) -> DType {
        guard input.isFloatingPoint, case let .convert(target) = self else { return input }
        return target
    }
}

/// `…num_batches_tracked`: PyTorch's BN step counter.
func isBatchNormCounter(_ name: String) -> Bool {
    name == "num_batches_tracked" || name.hasSuffix(".num_batches_tracked")
}

/// `…running_mean` / `…running_var`: PyTorch's BN running statistics.
func isBatchNormStatistic(_ name: String) -> Bool {
    ["running_mean", "running_var"].contains { name == $0 || name.hasSuffix("." + $0) }
}
