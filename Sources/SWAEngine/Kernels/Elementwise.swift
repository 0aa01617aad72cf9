import SWAFormats
// Elementwise kernels on flat float buffers of any shape. Each element depends only on the
// same element of the inputs, so the output may be an input (in place) and the chunking
// cannot change a result.

/// Rectified linear unit, as `torch.nn.functional.relu`: `output[i] = max(input[i], 0)` for
/// `count` elements; NaN stays NaN, as in PyTorch. `output` may be `input` (in place).
public func relu(_ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
    precondition(count >= 0, "relu: negative count")
    // Each chunk writes its own range of elements only.
    nonisolated(unsafe) let input = input, output = output
    Parallel.forEachChunk(of: count, chunks: Parallel.chunkCount(items: count, itemCost: 1)) { range in
        for index in range {
            let value = input[index]
            // `value < 0` is false for NaN, which therefore passes through.
            output[index] = value < 0 ? 0 : value
        }
    }
}

/// Elementwise sum, as `torch.add` of two tensors of the same shape (the residual connection):
/// `output[i] = a[i] + b[i]` for `count` elements. `output` may be `a` or `b` (in place).
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
    precondition(count >= 0, "add: negative count")
    // Each chunk writes its own range of elements only.
    nonisolated(unsafe) let a = a, b = b, output = output
    Parallel.forEachChunk(of: count, chunks: Parallel.chunkCount(items: count, itemCost: 1)) { range in
        for index in range {
            output[index] = a[index] + b[index]
        }
    }
}
