import SWAFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What becomes of one tensor, decided by its name and dtype (docs/CLI.md, swa-avg, "Arithmetic").
enum TensorRule: Equatable, Sendable {
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

/// The rules for one tensor of an average, written once for both ways its bytes arrive.
///
/// Inputs hand over runs of the tensor's elements with `take`, in input order; `emit` then
/// writes the same run of the output. The lockstep path hands over chunks of every input side
/// by side, the accumulator path whole tensors one input after another; the rules, the NaN and
/// Inf check, the dtype conversion and every message are the same, and so is every output bit:
/// each element folds the inputs in input order in Float64 and is rounded once
/// (`accumulate`, `encodeAverage`), however the elements were split.
struct TensorCombiner: Sendable {
    /// How input bytes arrive, which decides when a combined tensor's inputs are scanned for NaN or Inf.
    enum Arrival: Sendable {
        /// Chunks of every input side by side, all at hand until the output chunk is written
        /// (lockstep). Combined inputs are scanned only when the average comes out NaN or
        /// infinite, which any NaN or Inf input makes it: even with weight 0, since 0·NaN and
        /// 0·Inf are NaN.
        case sideBySide
        /// Whole tensors, one input after another (accumulator): each is scanned as it
        /// arrives, since its bytes are gone when the output is written.
        case inTurn
    }

    /// The tensor in the first input's layout.
    let tensor: TensorInfo
    let rule: TensorRule
    /// The output's dtype: `tensor.dtype`, or the `--dtype` conversion for float tensors.
    let outputDType: DType
    let arrival: Arrival
    /// Input paths in input order, for messages.
    private let inputs: [String]
    /// The output path, for the overflow message.
    private let destination: String
    /// `(keep, weight)` per input: acc ← keep·acc + weight·x, the first input assigning.
    private let coefficients: [(keep: Double, weight: Double)]
    /// What the accumulated value is divided by before rounding.
    private let divisor: Double

    init(tensor: TensorInfo, outputDType: DType, request: AveragingRequest, arrival: Arrival) {
        self.tensor = tensor
        self.rule = TensorRule.of(tensor, buffers: request.buffers)
        self.outputDType = outputDType
        self.arrival = arrival
        inputs = request.inputs.map(\.path)
        destination = request.destination
        coefficients = request.inputs.indices.map(request.method.coefficients(input:))
        divisor = switch request.combinedTensors {
        case .average: request.method.divisor
        case .float64Sums: 1
        case let .averageOfSums(divisor, _): divisor
        }
    }

    // MARK: - Taking the inputs

    /// Takes input `index`'s elements `firstElement ..< firstElement + count` of the tensor,
    /// stored as `tensor.dtype` at `source`, into `slots`:
    /// - `.combine`: folds them into `slots.sums`;
    /// - `.fromLastInput`: checks that they are finite; keeps the last input's in `slots.kept`;
    /// - `.mustAgree`: keeps the first input's in `slots.kept`; every other's must equal them.
    /// - Throws: naming the input, the tensor and (NaN or Inf) the element at fault.
    func take(input index: Int, _ source: UnsafeRawPointer, count: Int, firstElement: Int, into slots: CombinerSlots) throws {
        let byteCount = count * tensor.dtype.byteSize
        switch rule {
        case .combine:
            if arrival == .inTurn { try checkFinite(input: index, source, count: count, firstElement: firstElement) }
            let (keep, weight) = coefficients[index]
            accumulate(source, dtype: tensor.dtype, count: count, into: slots.sums, keep: keep, weight: weight, first: index == 0)
        case .fromLastInput:
            try checkFinite(input: index, source, count: count, firstElement: firstElement)
            if index == inputs.count - 1 { slots.kept.copyMemory(from: source, byteCount: byteCount) }
        case .mustAgree:
            if index == 0 {
                slots.kept.copyMemory(from: source, byteCount: byteCount)
            } else if memcmp(slots.kept, source, byteCount) != 0 {
                throw SWAError(file: inputs[index], "tensor '\(tensor.name)' (\(tensor.dtype.name)) differs from \(inputs[0]); "
                    + "integer and bool tensors are not averaged, so every input must hold the same values")
            }
        }
    }

    // MARK: - Writing the output

    /// Writes the `count` output elements the inputs taken into `slots` make, as `outputDType`,
    /// to `output`: the average rounded once (`.combine`), or the kept input's elements, converted
    /// through Float64 when `--dtype` changes a copied float tensor's type.
    /// - Returns: `false` when a value written is NaN or infinite (an average, or a value beyond
    ///   the output dtype's range); `nonFiniteError` then says why.
    func emit(count: Int, from slots: CombinerSlots, into output: UnsafeMutableRawPointer) -> Bool {
        switch rule {
        case .combine:
            return encodeAverage(slots.sums, count: count, divisor: divisor, as: outputDType, into: output)
        case .fromLastInput, .mustAgree:
            if tensor.dtype == outputDType {
                output.copyMemory(from: slots.kept, byteCount: count * tensor.dtype.byteSize)
            } else {
                // Only float tensors convert. The inputs were checked finite, so `false` means a
                // value beyond the output dtype's range (e.g. a running variance above F16's 65504).
                accumulate(slots.kept, dtype: tensor.dtype, count: count, into: slots.sums, keep: 0, weight: 1, first: true)
                return encodeAverage(slots.sums, count: count, divisor: 1, as: outputDType, into: output)
            }
            return true
        }
    }

    /// Why the average of elements `firstElement ..< firstElement + count` is not finite: the
    /// first input, in input order, holding NaN or Inf there (scanned in `sources`, the inputs'
    /// bytes for those elements when still at hand: `.sideBySide`), else the overflow of the
    /// output dtype (the file named is the output).
    func nonFiniteError(sources: [UnsafeRawPointer], count: Int, firstElement: Int) -> SWAError {
        for (index, source) in sources.enumerated() {
            do {
                try checkFinite(input: index, source, count: count, firstElement: firstElement)
            } catch {
                return error
            }
        }
        let what = rule == .combine ? "the average" : "a value copied from the last input"
        return SWAError(file: destination, "tensor '\(tensor.name)': \(what) overflows \(outputDType.name)")
    }

    /// Throws, naming input `index`, the tensor and the element, if any of the `count` elements
    /// at `source` is NaN or ±inf. Integer tensors always pass.
    private func checkFinite(input index: Int, _ source: UnsafeRawPointer, count: Int, firstElement: Int) throws(SWAError) {
        if let bad = firstNonFiniteElement(source, dtype: tensor.dtype, count: count) {
            throw SWAError(file: inputs[index], "tensor '\(tensor.name)' holds NaN or Inf (element \(firstElement + bad))")
        }
    }
}

// MARK: - Where taken inputs wait

/// Where a `TensorCombiner` keeps what it took for a run of elements, until `emit`.
struct CombinerSlots {
    /// Float64 values, one per element: the running sums (`.combine`), or scratch for
    /// converting a copied tensor's dtype.
    var sums: UnsafeMutablePointer<Double>
    /// Raw bytes kept from one input, in the tensor's dtype: the last input's
    /// (`.fromLastInput`) or the first's (`.mustAgree`).
    var kept: UnsafeMutableRawPointer

    /// The slots of the run that starts `elements` further on, for a tensor stored as `dtype`.
    func advanced(by elements: Int, dtype: DType) -> CombinerSlots {
        CombinerSlots(sums: sums + elements, kept: kept + elements * dtype.byteSize)
    }
}

/// Memory for `CombinerSlots`: `elements` Float64 sums and `keptByteCount` bytes of kept
/// input, freed with the storage.
final class CombinerStorage {
    private let sums: UnsafeMutableBufferPointer<Double>
    private let kept: UnsafeMutableRawBufferPointer

    init(elements: Int, keptByteCount: Int) {
        sums = .allocate(capacity: max(1, elements))
        sums.initialize(repeating: 0)
        kept = .allocate(byteCount: max(1, keptByteCount), alignment: 64)
    }

    /// Storage for a whole tensor under `combiner`'s rule: sums where it combines or converts,
    /// kept bytes where it copies.
    convenience init(wholeTensorFor combiner: TensorCombiner) {
        let tensor = combiner.tensor
        let converts = combiner.rule != .combine && tensor.dtype != combiner.outputDType
        self.init(elements: combiner.rule == .combine || converts ? tensor.elementCount : 0,
                  keptByteCount: combiner.rule == .combine ? 0 : tensor.byteCount)
    }

    deinit {
        sums.deinitialize()
        sums.deallocate()
        kept.deallocate()
    }

    var slots: CombinerSlots {
        CombinerSlots(sums: sums.baseAddress!, kept: kept.baseAddress!)
    }
}

// MARK: - The method's arithmetic

extension AveragingMethod {
    /// `(keep, weight)` for input `index`: acc ← keep·acc + weight·x (the first input assigns).
    func coefficients(input index: Int) -> (keep: Double, weight: Double) {
        switch self {
        case let .weighted(weights): (1, weights[index])
        case let .ema(decay): index == 0 ? (0, 1) : (decay, 1 - decay)
        }
    }

    /// What the accumulated value is divided by before rounding: Σ wᵢ, or 1 for EMA.
    var divisor: Double {
        switch self {
        case let .weighted(weights): weights.reduce(0, +)
        case .ema: 1
        }
    }
}
