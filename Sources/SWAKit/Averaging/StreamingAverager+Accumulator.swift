import SWAData
import SWAEngine
import SWAFormats
// MARK: - Accumulator fallback

extension StreamingAverager {
    /// Averages inputs whose tensors are laid out in different orders: each input is read
    /// whole, in its own order, into Float64 accumulators of the model's size; then the
    /// result is written in the first input's layout. Same arithmetic, same result as
    /// lockstep, but memory grows with the model (8 bytes per element) and inputs are
    /// decompressed one after another.
    func averageWithAccumulator(_ tensors: [TensorInfo], writer: CheckpointWriter, onChunk: () -> Void) throws -> [String] {
        var sums: [String: [Double]] = [:]
        var raw: [String: [UInt8]] = [:]
        var firstRaw: [String: (path: String, bytes: [UInt8])] = [:]
        var hashes: [String] = []
        for (index, entry) in request.inputs.enumerated() {
            let input = try AveragingInput(entry: entry, bufferByteCount: 8, counter: bytesRead)
            let (keep, weight) = coefficients(index)
            for tensor in input.reader.header.tensors {
                let bytes = try input.reader.readTensorBytes(tensor)
                let rule = TensorRule.of(tensor, buffers: request.buffers)
                if tensor.dtype.isFloatingPoint, let bad = bytes.withUnsafeBytes({
                    firstNonFiniteElement($0.baseAddress!, dtype: tensor.dtype, count: tensor.elementCount)
                }) {
                    throw SWAError(file: entry.path, "tensor '\(tensor.name)' holds NaN or Inf (element \(bad))")
                }
                switch rule {
                case .combine:
                    var sum = sums[tensor.name] ?? [Double](repeating: 0, count: tensor.elementCount)
                    bytes.withUnsafeBytes { source in
                        sum.withUnsafeMutableBufferPointer { acc in
                            accumulate(source.baseAddress!, dtype: tensor.dtype, count: tensor.elementCount,
                                       into: acc.baseAddress!, keep: keep, weight: weight, first: index == 0)
                        }
                    }
                    sums[tensor.name] = sum
                case .fromLastInput:
                    raw[tensor.name] = bytes
                case .mustAgree:
                    if let first = firstRaw[tensor.name], first.bytes != bytes {
                        throw SWAError(file: entry.path, "tensor '\(tensor.name)' (\(tensor.dtype.name)) differs from \(first.path); "
                            + "integer and bool tensors are not averaged, so every input must hold the same values")
                    }
                    firstRaw[tensor.name] = firstRaw[tensor.name] ?? (entry.path, bytes)
                    raw[tensor.name] = bytes
                }
                onChunk()
            }
            hashes.append(try input.finish())
        }
        for (tensorIndex, tensor) in tensors.enumerated() {
            let outputDType = writer.tensors[tensorIndex].dtype
            var output = [UInt8](repeating: 0, count: tensor.elementCount * outputDType.byteSize)
            if let sum = sums[tensor.name] {
                let finite = sum.withUnsafeBufferPointer { acc in
                    output.withUnsafeMutableBytes { out in
                        encodeAverage(acc.baseAddress!, count: tensor.elementCount, divisor: divisor, as: outputDType, into: out.baseAddress!)
                    }
                }
                guard finite else { throw SWAError(file: request.destination, "tensor '\(tensor.name)': the average overflows \(outputDType.name)") }
            } else if let bytes = raw[tensor.name] {
                if outputDType == tensor.dtype {
                    output = bytes
                } else {
                    var values = [Double](repeating: 0, count: tensor.elementCount)
                    bytes.withUnsafeBytes { source in
                        values.withUnsafeMutableBufferPointer { acc in
                            accumulate(source.baseAddress!, dtype: tensor.dtype, count: tensor.elementCount,
                                       into: acc.baseAddress!, keep: 0, weight: 1, first: true)
                        }
                    }
                    _ = values.withUnsafeBufferPointer { acc in
                        output.withUnsafeMutableBytes { out in
                            encodeAverage(acc.baseAddress!, count: tensor.elementCount, divisor: 1, as: outputDType, into: out.baseAddress!)
                        }
                    }
                }
            }
            try output.withUnsafeBytes { try writer.writeData($0) }
        }
        return hashes
    }
}
