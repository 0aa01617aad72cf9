import SWAData
import SWAEngine
import SWAFormats
// MARK: - Accumulator fallback

extension StreamingAverager {
    /// Averages inputs whose tensors are laid out in different orders: each input is read
    /// whole, in its own order, tensor by tensor into storage of the model's size (Float64
    /// sums for combined tensors, the kept bytes for copied ones); then the result is written
    /// in the first input's layout. The same `TensorCombiner` rules, so the same result as
    /// lockstep, but memory grows with the model (8 bytes per element) and inputs are
    /// decompressed one after another.
    func averageWithAccumulator(_ tensors: [TensorInfo], writer: any CheckpointOutput, onChunk: () -> Void) throws -> [String] {
        let combiners = Dictionary(uniqueKeysWithValues: tensors.map { tensor in
            (tensor.name, TensorCombiner(tensor: tensor, outputDType: outputDType(of: tensor), request: request, arrival: .inTurn))
        })
        let storage = combiners.mapValues { CombinerStorage(wholeTensorFor: $0) }
        let largest = tensors.map(\.byteCount).max() ?? 0
        var hashes: [String] = []
        for (index, entry) in request.inputs.enumerated() {
            let input = try AveragingInput(entry: entry, bufferByteCount: largest, counter: bytesRead)
            for tensor in entry.header.tensors {
                // checkSameTensors matched every name, dtype and shape to the first input's.
                guard let combiner = combiners[tensor.name], let slots = storage[tensor.name]?.slots else {
                    throw SWAError(file: entry.path, "internal: tensor '\(tensor.name)' is not in the first input")
                }
                try input.readChunk(byteCount: tensor.byteCount)
                try combiner.take(input: index, input.buffer.baseAddress!, count: tensor.elementCount, firstElement: 0, into: slots)
                onChunk()
            }
            hashes.append(try input.finish())
        }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, writer.tensors.map(\.byteCount).max() ?? 0), alignment: 64)
        defer { output.deallocate() }
        for (index, tensor) in tensors.enumerated() where writesTensor(index) {
            let combiner = combiners[tensor.name]!, slots = storage[tensor.name]!.slots
            let finite = combiner.emit(count: tensor.elementCount, from: slots, into: output.baseAddress!)
            // Each input was scanned for NaN and Inf as it arrived; what is left is overflow.
            guard finite else { throw combiner.nonFiniteError(sources: [], count: tensor.elementCount, firstElement: 0) }
            try writer.writeData(UnsafeRawBufferPointer(rebasing: output[..<(tensor.elementCount * combiner.outputDType.byteSize)]))
        }
        return hashes
    }
}
