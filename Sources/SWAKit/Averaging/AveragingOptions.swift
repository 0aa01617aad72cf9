import SWAData
import SWAEngine
import SWAFormats
/// How the selected checkpoints are combined (DESIGN §5).
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
    case keep
    case convert(DType)

    func resolve(_ input: DType) -> DType {
        guard input.isFloatingPoint, case let .convert(target) = self else { return input }
        return target
    }
}

/// What becomes of one tensor, decided by its name and dtype.
enum TensorRule: Equatable {
    /// Combined with the averaging method.
    case combine
    /// Copied from the last input (BN counters always; BN statistics with `--buffers last`).
    case fromLastInput
    /// Integer or bool tensors that are not BN counters: every input must hold the same bytes.
    case mustAgree

    static func of(_ tensor: TensorInfo, buffers: BufferPolicy) -> TensorRule {
        if isBatchNormCounter(tensor.name) { return .fromLastInput }
        if !tensor.dtype.isFloatingPoint { return .mustAgree }
        if isBatchNormStatistic(tensor.name), buffers == .last { return .fromLastInput }
        return .combine
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
