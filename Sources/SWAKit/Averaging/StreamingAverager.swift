import SWAData
import SWAEngine
import SWAFormats
import Dispatch
import Foundation
import Synchronization

/// Averages checkpoints tensor by tensor in lockstep, writing the result as it goes.
///
/// All inputs of one run share one byte layout, so the k-th bytes of every input belong to
/// the same tensor: each input is read one chunk at a time (decompressed in parallel), the
/// chunk is combined in Float64 in input order, rounded once and written. Peak memory is one
/// chunk per input plus libzstd's windows, whatever the checkpoint size (docs/CLI.md, swa-avg, "Memory").
/// Inputs whose layouts differ are read tensor by tensor at their own offsets when every one
/// allows it (plain or sharded safetensors: `averageByRandomAccess`), else through an
/// accumulator of the model's size.
public final class StreamingAverager {
    /// What to average and where to write it.
    public let request: AveragingRequest
    /// Bytes read from disk so far, across all inputs (for progress).
    public let bytesRead = ByteCounter()
    /// Total bytes on disk of all inputs.
    public var bytesTotal: Int { request.inputs.reduce(0) { $0 + $1.fileByteCount } }

    /// An averager for `request`; nothing is read until `run` or `plan`.
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
        try run(note: note, onChunk: onChunk) { outputMetadata(hashes: $0) }
    }

    /// `run`, with the output's metadata made by `metadata` from the inputs' SHA-256 (hex, input order).
    func run(note: (String) -> Void, onChunk: () -> Void, metadata: ([String]) throws -> [String: String]) throws -> AveragingReport {
        let started = Date()
        let strategy = try chooseStrategy()
        switch strategy {
        case .lockstep: break
        case .randomAccess:
            note("the inputs lay out their tensors in different orders; reading each tensor where every input holds it (bounded memory), then each input once more front to back to hash and verify it")
        case .accumulator:
            note("the inputs lay out their tensors in different orders; averaging through an accumulator of the model's size instead of streaming")
        }
        let reference = request.inputs[0].header.tensors
        let writer = try makeCheckpointOutput(destination: request.destination, tensors: outputSpecs, overwrite: request.overwrite,
                                              options: outputOptions)
        do {
            let hashes = switch strategy {
            case .lockstep: try averageInLockstep(reference, writer: writer, onChunk: onChunk)
            case .randomAccess: try averageByRandomAccess(reference, writer: writer, onChunk: onChunk)
            case .accumulator: try averageWithAccumulator(reference, writer: writer, onChunk: onChunk)
            }
            let (bytes, frames) = try writer.finish(metadata: metadata(hashes))
            return report(hashes: hashes, strategy: strategy.rawValue,
                          outputBytes: bytes, frames: frames, seconds: Date().timeIntervalSince(started))
        } catch {
            writer.discard()
            throw error
        }
    }

    /// The plan without reading any tensor data (`--dry-run`).
    public func plan() throws -> AveragingReport {
        let strategy = try chooseStrategy()
        return report(hashes: nil, strategy: strategy.rawValue, outputBytes: nil, frames: nil, seconds: 0)
    }

    // MARK: - Lockstep

    private func averageInLockstep(_ tensors: [TensorInfo], writer: any CheckpointOutput, onChunk: () -> Void) throws -> [String] {
        let work = try SideBySideWork(self, tensors: tensors, writer: writer)
        defer { work.output.deallocate() }
        let (chunkElements, inputs, storage, output) = (work.chunkElements, work.inputs, work.storage, work.output)
        for (index, combiner) in work.combiners.enumerated() {
            let tensor = combiner.tensor
            let written = writesTensor(index)
            var done = 0
            while done < tensor.elementCount || (done == 0 && tensor.elementCount == 0) {
                let elements = min(chunkElements, tensor.elementCount - done)
                try readChunk(inputs, byteCount: elements * tensor.dtype.byteSize)
                guard written else {
                    // Another shard's tensor: read past (and hashed), not combined.
                    done += elements
                    if elements == 0 { break }
                    continue
                }
                try combineChunk(inputs, combiner, elements: elements, firstElement: done, slots: storage.slots, output: output.baseAddress!)
                try writer.writeData(UnsafeRawBufferPointer(rebasing: output[..<(elements * combiner.outputDType.byteSize)]))
                done += elements
                onChunk()
                if elements == 0 { break }
            }
        }
        return try finishInputs(inputs)
    }

    /// What the side-by-side strategies (lockstep and random access) set up alike: the chunk size
    /// (the budget split over the inputs, 8 bytes per element at most), every input opened with
    /// a buffer of one chunk, a combiner per tensor, their scratch, and one output chunk, which
    /// the caller deallocates.
    struct SideBySideWork {
        let chunkElements: Int
        let inputs: [AveragingInput]
        let combiners: [TensorCombiner]
        let storage: CombinerStorage
        let output: UnsafeMutableRawBufferPointer

        init(_ averager: StreamingAverager, tensors: [TensorInfo], writer: any CheckpointOutput) throws {
            let request = averager.request
            chunkElements = max(4096, min(1 << 20, Self.bufferBudget(request) / request.inputs.count / 8))
            let chunkElements = chunkElements
            inputs = try request.inputs.map { try AveragingInput(entry: $0, bufferByteCount: chunkElements * 8, counter: averager.bytesRead) }
            combiners = tensors.map { tensor in
                TensorCombiner(tensor: tensor, outputDType: averager.outputDType(of: tensor), request: request, arrival: .sideBySide)
            }
            // Kept bytes only for the chunks of copied tensors: BN statistics and counters are small.
            let keptByteCount = combiners.filter { $0.rule != .combine }
                .map { min(chunkElements, $0.tensor.elementCount) * $0.tensor.dtype.byteSize }.max() ?? 0
            storage = CombinerStorage(elements: chunkElements, keptByteCount: keptByteCount)
            output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * 8, alignment: 64)
        }

        /// Bytes of read buffers for all inputs: the request's budget, but at most 1 GiB ÷ n for n
        /// inputs (16 MiB at 64). Each open zstd input also holds about 1 MiB of libzstd state
        /// (its window and block buffers) that no budget bounds, so past 16 inputs the buffers
        /// shrink as inputs grow: peak memory stays under 128 MiB to 64 inputs (docs/PERFORMANCE.md).
        static func bufferBudget(_ request: AveragingRequest) -> Int {
            min(request.chunkBudget, (1 << 30) / max(1, request.inputs.count))
        }
    }

    /// Fills every input's buffer with its next `byteCount` bytes, decompressing in parallel.
    private func readChunk(_ inputs: [AveragingInput], byteCount: Int) throws {
        _ = try concurrently(inputs.count) { index in try inputs[index].readChunk(byteCount: byteCount) }
    }

    /// Combines the chunk of `combiner`'s tensor in every input's buffer into `output`.
    ///
    /// A combined tensor's chunk is split into parts across threads; each part owns a disjoint
    /// element range of the slots and the output, and every element folds the inputs in input
    /// order, so the bits do not depend on the split. Chunks of copied tensors (BN statistics,
    /// integer tensors) are small and never split, so which input an error names cannot depend on it.
    func combineChunk(_ inputs: [AveragingInput], _ combiner: TensorCombiner, elements: Int, firstElement: Int,
                              slots: CombinerSlots, output: UnsafeMutableRawPointer) throws {
        let parts = combiner.rule == .combine ? min(request.threads, max(1, elements / 16384)) : 1
        let inputSize = combiner.tensor.dtype.byteSize, outputSize = combiner.outputDType.byteSize
        // Each part reads and writes only elements [lower, upper) through these pointers.
        nonisolated(unsafe) let sources = inputs.map { UnsafeRawPointer($0.buffer.baseAddress!) }
        nonisolated(unsafe) let slots = slots
        nonisolated(unsafe) let output = output
        let finite = try concurrently(parts) { part in
            let lower = elements * part / parts, upper = elements * (part + 1) / parts
            let partSlots = slots.advanced(by: lower, dtype: combiner.tensor.dtype)
            for (index, source) in sources.enumerated() {
                try combiner.take(input: index, source + lower * inputSize, count: upper - lower,
                                  firstElement: firstElement + lower, into: partSlots)
            }
            return combiner.emit(count: upper - lower, from: partSlots, into: output + lower * outputSize)
        }
        if finite.contains(false) {
            throw combiner.nonFiniteError(sources: sources, count: elements, firstElement: firstElement)
        }
    }

    func finishInputs(_ inputs: [AveragingInput]) throws -> [String] {
        try concurrently(inputs.count) { index in try inputs[index].finish() }
    }

    // MARK: - Parallel work

    /// Runs `body` for every index in `0..<iterations`, concurrently when `request.threads`
    /// allows, and returns the results in index order.
    ///
    /// If any iteration throws, the error of the lowest index is thrown (after all have run),
    /// so which error a user sees does not depend on scheduling.
    func concurrently<T: Sendable>(_ iterations: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        if iterations == 1 || request.threads == 1 {
            return try (0..<iterations).map(body)
        }
        let results = Mutex<[Result<T, any Error>?]>(Array(repeating: nil, count: iterations))
        DispatchQueue.concurrentPerform(iterations: iterations) { index in
            let result = Result { try body(index) }
            results.withLock { $0[index] = result }
        }
        return try results.withLock { $0 }.map { try $0!.get() }
    }
}
