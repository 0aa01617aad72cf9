import SWAData
import SWAEngine
import SWAFormats
import Foundation

/// Everything `swa-avg` needs to write one averaged checkpoint.
public struct AveragingRequest: Sendable {
    /// Checkpoints to combine, in training order (already selected).
    public var inputs: [CheckpointEntry]
    /// How inputs are combined: weights or EMA decay.
    public var method: AveragingMethod
    /// What happens to BN running statistics.
    public var buffers: BufferPolicy
    /// The dtype of averaged float tensors.
    public var outputDType: OutputDType
    /// Output path; written atomically.
    public var destination: String
    /// Replace an existing output (`--force`).
    public var overwrite: Bool
    /// Threads for decompression and accumulation; the result does not depend on it.
    public var threads: Int
    /// Bytes of read buffers shared by all inputs; bounds memory whatever the model size.
    public var chunkBudget: Int
    /// Shard size and side files of a plain or Hugging Face folder output (`-o NAME.safetensors`,
    /// `-o FOLDER/`). When `sideFilesFrom` is nil, a folder output copies the non-weight files
    /// of the last input, if that input is a model folder or an index.
    public var outputOptions = OutputOptions()
    /// Only these tensors (indices in the first input's tensor order) are written; every input
    /// is still read whole, to hash it for `swa.sources` (a tensor-range shard, docs/SCALE.md).
    /// `nil`: all tensors.
    public var tensorRange: Range<Int>?
    /// What the combined (float, averaged) tensors become: the average, or the undivided
    /// Float64 sums of a checkpoint-range shard, or the average of such sums.
    public var combinedTensors: CombinedTensorFinish = .average

    /// A request; `threads` below 1 counts as 1. `validate()` checks the method against the inputs.
    public init(inputs: [CheckpointEntry], method: AveragingMethod, buffers: BufferPolicy = .average,
                outputDType: OutputDType = .keep, destination: String, overwrite: Bool = false,
                threads: Int = WorkerThreads.count, chunkBudget: Int = 64 << 20) {
        self.inputs = inputs
        self.method = method
        self.buffers = buffers
        self.outputDType = outputDType
        self.destination = destination
        self.overwrite = overwrite
        self.threads = max(1, threads)
        self.chunkBudget = chunkBudget
    }

    /// Checks the method against the inputs: one weight per input, weights finite and not
    /// negative with a positive sum, EMA decay in [0, 1].
    public func validate() throws {
        guard !inputs.isEmpty else { throw SWAError("nothing to average: no checkpoint selected") }
        switch method {
        case let .weighted(weights):
            guard weights.count == inputs.count else {
                throw SWAError("--weights gives \(weights.count) weights for \(inputs.count) selected checkpoints")
            }
            guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }), weights.reduce(0, +) > 0 else {
                throw SWAError("--weights must be finite, not negative, and not all zero")
            }
        case let .ema(decay):
            guard decay >= 0, decay <= 1 else { throw SWAError("--ema decay must lie in [0, 1], got \(decay)") }
        }
    }

    /// The weight each input gets (EMA: the effective weight of each input in the result).
    public var effectiveWeights: [Double] {
        switch method {
        case let .weighted(weights):
            let total = weights.reduce(0, +)
            return weights.map { $0 / total }
        case let .ema(decay):
            let n = inputs.count
            return (0..<n).map { index in
                let survival = pow(decay, Double(n - 1 - index))
                return index == 0 ? survival : (1 - decay) * survival
            }
        }
    }
}

/// What the combined tensors of an average become (`AveragingRequest.combinedTensors`).
public enum CombinedTensorFinish: Sendable, Equatable {
    /// Σ wᵢ·xᵢ / Σ wᵢ rounded once to the output dtype: the average.
    case average
    /// Σ wᵢ·xᵢ over the inputs, undivided, stored as F64: one checkpoint-range shard's partial
    /// sums. Copied tensors (BN counters, integer tensors) keep their dtype.
    case float64Sums
    /// The inputs are partial sums of one run in shard order: Σ over them, divided by
    /// `divisor` (the run's Σ wᵢ) and rounded once to `--dtype` applied to `inputDTypes[name]`,
    /// the dtype the summed tensor had in the checkpoints.
    case averageOfSums(divisor: Double, inputDTypes: [String: DType])
}

/// What `swa-avg` did; printed by `--json` (snake_case keys).
public struct AveragingReport: Codable, Sendable {
    /// One input as the report lists it.
    public struct Input: Codable, Sendable {
        /// The path as found.
        public var path: String
        /// Its training position (step, epoch or the number in its name).
        public var position: Double
        /// Share of this input in the result (sums to 1).
        public var weight: Double
        /// SHA-256 of the file's bytes on disk; nil in a dry run.
        public var sha256: String?
    }

    /// The inputs in training order.
    public var inputs: [Input]
    /// Where positions came from (`PositionSource.rawValue`); set by the caller that discovered the inputs.
    public var positionSource: String
    /// `swa.method`: `uniform`, `weighted` or `ema:<decay>`.
    public var method: String
    /// `--buffers`: `average` or `last`.
    public var buffers: String
    /// The output path.
    public var output: String
    /// Size of the output file in bytes; nil in a dry run.
    public var outputBytes: Int?
    /// zstd frames in the output, the seek table's included; nil in a dry run.
    public var frames: Int?
    /// "lockstep" (bounded memory), "random access" (inputs laid out differently, bounded
    /// memory, each input read twice) or "accumulator" (laid out differently, zstd: memory of the model's size).
    public var strategy: String
    /// Wall-clock time of the run, in seconds.
    public var seconds: Double
    /// Whether nothing was read or written (`--dry-run`).
    public var dryRun: Bool
}
