import SWAData
import SWAEngine
import SWAFormats
import Dispatch
import Foundation

/// Averages checkpoints tensor by tensor in lockstep, writing the result as it goes.
///
/// All inputs of one run share one byte layout, so the k-th bytes of every input belong to
/// the same tensor: each input is read one chunk at a time (decompressed in parallel), the
/// chunk is combined in Float64 in input order, rounded once and written. Peak memory is one
/// chunk per input plus libzstd's windows, whatever the checkpoint size (DESIGN §5).
/// Inputs whose layouts differ fall back to an accumulator of the model's size.
public final class StreamingAverager {
    public let request: AveragingRequest
    /// Bytes read from disk so far, across all inputs (for progress).
    public let bytesRead = ByteCounter()
    /// Total bytes on disk of all inputs.
    public var bytesTotal: Int { request.inputs.reduce(0) { $0 + $1.fileByteCount } }

    public init(request: AveragingRequest) {
        self.request = request
    }

    /// Whether all inputs share one byte layout (else the accumulator path is taken).
    /// Throws, naming file and tensor, if the inputs do not hold the same tensors.
    public func checkInputs() throws -> Bool {
        try request.validate()
        return try checkSameTensors(request.inputs)
    }

    /// Runs the average and writes the output.
    /// - Parameters:
    ///   - note: receives a line for the user when the accumulator fallback is taken.
    ///   - onChunk: called on the calling thread after each chunk (progress).
    public func run(note: (String) -> Void = { _ in }, onChunk: () -> Void = {}) throws -> AveragingReport {
        let started = Date()
        let lockstep = try checkInputs()
        if !lockstep {
            note("the inputs lay out their tensors in different orders; averaging through an accumulator of the model's size instead of streaming")
        }
        let reference = request.inputs[0].header.tensors
        let outputSpecs = reference.map { TensorSpec(name: $0.name, dtype: request.outputDType.resolve($0.dtype), shape: $0.shape) }
        let writer = try CheckpointWriter(destination: request.destination, tensors: outputSpecs, overwrite: request.overwrite)
        do {
            let hashes = lockstep
                ? try averageInLockstep(reference, writer: writer, onChunk: onChunk)
                : try averageWithAccumulator(reference, writer: writer, onChunk: onChunk)
            let (bytes, frames) = try writer.finish(metadata: outputMetadata(hashes: hashes))
            return report(hashes: hashes, strategy: lockstep ? "lockstep" : "accumulator",
                          outputBytes: bytes, frames: frames, seconds: Date().timeIntervalSince(started))
        } catch {
            writer.discard()
            throw error
        }
    }

    /// The plan without reading any tensor data (`--dry-run`).
    public func plan() throws -> AveragingReport {
        let lockstep = try checkInputs()
        return report(hashes: nil, strategy: lockstep ? "lockstep" : "accumulator", outputBytes: nil, frames: nil, seconds: 0)
    }

    // MARK: - Per-input coefficients

    /// `(keep, weight)` for input `index`: acc ← keep·acc + weight·x (the first input assigns).
    func coefficients(_ index: Int) -> (keep: Double, weight: Double) {
        switch request.method {
        case let .weighted(weights): (1, weights[index])
        case let .ema(decay): index == 0 ? (0, 1) : (decay, 1 - decay)
        }
    }

    /// What the accumulated value is divided by before rounding.
    var divisor: Double {
        switch request.method {
        case let .weighted(weights): weights.reduce(0, +)
        case .ema: 1
        }
    }

    // MARK: - Lockstep

    private func averageInLockstep(_ tensors: [TensorInfo], writer: CheckpointWriter, onChunk: () -> Void) throws -> [String] {
        let count = request.inputs.count
        // Elements per chunk: the budget split over inputs, 8 bytes per element at most.
        let chunkElements = max(4096, min(1 << 20, request.chunkBudget / count / 8))
        let inputs = try request.inputs.map { try AveragingInput(entry: $0, bufferByteCount: chunkElements * 8, counter: bytesRead) }
        let accumulator = UnsafeMutableBufferPointer<Double>.allocate(capacity: chunkElements)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * 8, alignment: 64)
        defer {
            accumulator.deallocate()
            output.deallocate()
        }
        for (tensorIndex, tensor) in tensors.enumerated() {
            let rule = TensorRule.of(tensor, buffers: request.buffers)
            let outputDType = writer.tensors[tensorIndex].dtype
            var done = 0
            while done < tensor.elementCount || (done == 0 && tensor.elementCount == 0) {
                let elements = min(chunkElements, tensor.elementCount - done)
                let byteCount = elements * tensor.dtype.byteSize
                try readChunk(inputs, byteCount: byteCount)
                try combineChunk(inputs, tensor: tensor, rule: rule, elements: elements, firstElement: done,
                                 accumulator: accumulator.baseAddress!, outputDType: outputDType, output: output.baseAddress!)
                try writer.writeData(UnsafeRawBufferPointer(rebasing: output[..<(elements * outputDType.byteSize)]))
                done += elements
                onChunk()
                if elements == 0 { break }
            }
        }
        return try finishInputs(inputs)
    }

    /// Fills every input's buffer with its next `byteCount` bytes, decompressing in parallel.
    private func readChunk(_ inputs: [AveragingInput], byteCount: Int) throws {
        let failures = UnsafeMutableBufferPointer<SWAError?>.allocate(capacity: inputs.count)
        failures.initialize(repeating: nil)
        defer { failures.deallocate() }
        nonisolated(unsafe) let slots = failures  // each input writes only its own slot
        let work: @Sendable (Int) -> Void = { index in
            do {
                try inputs[index].reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: inputs[index].buffer[..<byteCount]))
            } catch {
                slots[index] = error as? SWAError ?? SWAError(file: inputs[index].entry.path, "\(error)")
            }
        }
        try runParallel(iterations: inputs.count, work)
        if let failure = failures.compactMap({ $0 }).first { throw failure }
    }

    /// Combines one chunk of `tensor` from every input into `output`, per the tensor's rule.
    private func combineChunk(_ inputs: [AveragingInput], tensor: TensorInfo, rule: TensorRule, elements: Int, firstElement: Int,
                              accumulator: UnsafeMutablePointer<Double>, outputDType: DType, output: UnsafeMutableRawPointer) throws {
        let dtype = tensor.dtype
        let byteCount = elements * dtype.byteSize
        switch rule {
        case .mustAgree:
            let first = UnsafeRawBufferPointer(inputs[0].buffer)
            for input in inputs.dropFirst() where memcmp(first.baseAddress!, input.buffer.baseAddress!, byteCount) != 0 {
                throw SWAError(file: input.entry.path, "tensor '\(tensor.name)' (\(dtype.name)) differs from \(inputs[0].entry.path); "
                    + "integer and bool tensors are not averaged, so every input must hold the same values")
            }
            output.copyMemory(from: first.baseAddress!, byteCount: byteCount)
        case .fromLastInput:
            try checkFinite(inputs, tensor: tensor, elements: elements, firstElement: firstElement)
            let last = inputs[inputs.count - 1].buffer.baseAddress!
            if dtype == outputDType {
                output.copyMemory(from: last, byteCount: byteCount)
            } else {
                accumulate(last, dtype: dtype, count: elements, into: accumulator, keep: 0, weight: 1, first: true)
                _ = encodeAverage(accumulator, count: elements, divisor: 1, as: outputDType, into: output)
            }
        case .combine:
            nonisolated(unsafe) let acc = accumulator
            nonisolated(unsafe) let out = output
            let parts = min(request.threads, max(1, elements / 16384))
            let finite = UnsafeMutableBufferPointer<Bool>.allocate(capacity: parts)
            defer { finite.deallocate() }
            nonisolated(unsafe) let finiteSlots = finite
            let divisor = self.divisor
            let coefficients = (0..<inputs.count).map(coefficients)
            // Each part owns a disjoint element range; every element sums inputs in input order.
            try runParallel(iterations: parts) { part in
                let lower = elements * part / parts, upper = elements * (part + 1) / parts
                for (index, input) in inputs.enumerated() {
                    accumulate(input.buffer.baseAddress! + lower * dtype.byteSize, dtype: dtype, count: upper - lower,
                               into: acc + lower, keep: coefficients[index].keep, weight: coefficients[index].weight, first: index == 0)
                }
                finiteSlots[part] = encodeAverage(acc + lower, count: upper - lower, divisor: divisor,
                                                  as: outputDType, into: out + lower * outputDType.byteSize)
            }
            if finite.contains(false) {
                try checkFinite(inputs, tensor: tensor, elements: elements, firstElement: firstElement)
                throw SWAError(file: request.destination, "tensor '\(tensor.name)': the average overflows \(outputDType.name)")
            }
        }
    }

    /// Throws, naming the first input and element, if any input chunk holds NaN or ±inf.
    private func checkFinite(_ inputs: [AveragingInput], tensor: TensorInfo, elements: Int, firstElement: Int) throws {
        for input in inputs {
            if let bad = firstNonFiniteElement(input.buffer.baseAddress!, dtype: tensor.dtype, count: elements) {
                throw SWAError(file: input.entry.path, "tensor '\(tensor.name)' holds NaN or Inf (element \(firstElement + bad))")
            }
        }
    }

    private func finishInputs(_ inputs: [AveragingInput]) throws -> [String] {
        let hashes = UnsafeMutableBufferPointer<String>.allocate(capacity: inputs.count)
        hashes.initialize(repeating: "")
        let failures = UnsafeMutableBufferPointer<SWAError?>.allocate(capacity: inputs.count)
        failures.initialize(repeating: nil)
        defer {
            hashes.deallocate()
            failures.deallocate()
        }
        nonisolated(unsafe) let hashSlots = hashes
        nonisolated(unsafe) let failureSlots = failures
        try runParallel(iterations: inputs.count) { index in
            do {
                hashSlots[index] = try inputs[index].finish()
            } catch {
                failureSlots[index] = error as? SWAError ?? SWAError(file: inputs[index].entry.path, "\(error)")
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        return Array(hashes)
    }

    func runParallel(iterations: Int, _ body: @Sendable (Int) -> Void) throws {
        if iterations == 1 || request.threads == 1 {
            for index in 0..<iterations { body(index) }
        } else {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        }
    }
}
