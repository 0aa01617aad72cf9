import SWAFormats

// Binary elementwise ops with PyTorch broadcasting, and the channel concatenation. Shapes are
// per sample (the batch dimension is common to both operands and leads every buffer).

/// An elementwise binary operation.
public enum BinaryOperation: Sendable {
    case add, multiply
}

/// `output = a ∘ b` with PyTorch broadcasting, as `torch.add`/`torch.mul` (`out += residual`,
/// `scale * input` in squeeze-excitation).
///
/// `a` is `[batch] + aShape`, `b` is `[batch] + bShape`, `output` is `[batch] + outputShape`,
/// where `outputShape` is the broadcast of the two (aligned from the right, sizes equal or 1).
/// `output` may be `a` or `b` when that operand has the output's shape. Fast paths: equal
/// shapes (one flat loop), and `[c, 1, 1]` against `[c, h, w]` (one scalar per plane); any
/// other broadcast goes element by element through strides.
public func broadcastBinary(_ operation: BinaryOperation, _ a: UnsafePointer<Float>, shape aShape: [Int],
                            _ b: UnsafePointer<Float>, shape bShape: [Int], batch: Int, outputShape: [Int],
                            output: UnsafeMutablePointer<Float>) {
    precondition(broadcastShape(aShape, bShape) == outputShape, "broadcastBinary: \(aShape) and \(bShape) do not give \(outputShape)")
    let sampleSize = outputShape.reduce(1, *), count = batch * sampleSize
    nonisolated(unsafe) let a = a, b = b, output = output
    let rank = outputShape.count
    let aFull = Array(repeating: 1, count: rank - aShape.count) + aShape
    let bFull = Array(repeating: 1, count: rank - bShape.count) + bShape
    if aFull == bFull {
        // Each chunk writes its own range of elements only.
        Parallel.forEachChunk(of: count, chunks: Parallel.chunkCount(items: count, itemCost: 1)) { range in
            switch operation {
            case .add: for index in range { output[index] = a[index] + b[index] }
            case .multiply: for index in range { output[index] = a[index] * b[index] }
            }
        }
        return
    }
    // Per plane: the plane of the full operand against one value of the other.
    if rank == 3, aFull[1] * aFull[2] == 1 || bFull[1] * bFull[2] == 1,
       aFull[0] == bFull[0], (aFull[1] * aFull[2] == 1) != (bFull[1] * bFull[2] == 1) {
        let scalarIsA = aFull[1] * aFull[2] == 1
        let planeSize = outputShape[1] * outputShape[2], planes = batch * outputShape[0]
        Parallel.forEachChunk(of: planes, chunks: Parallel.chunkCount(items: planes, itemCost: planeSize)) { range in
            for plane in range {
                let scalar = scalarIsA ? a[plane] : b[plane]
                let full = (scalarIsA ? b : a) + plane * planeSize, y = output + plane * planeSize
                switch operation {
                case .add: for index in 0 ..< planeSize { y[index] = full[index] + scalar }
                case .multiply: for index in 0 ..< planeSize { y[index] = full[index] * scalar }
                }
            }
        }
        return
    }
    // General: strides of 0 along broadcast axes. Samples spread over the cores.
    func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: rank), step = 1
        for axis in (0 ..< rank).reversed() {
            strides[axis] = shape[axis] == 1 ? 0 : step
            step *= shape[axis]
        }
        return strides
    }
    let aStrides = strides(aFull), bStrides = strides(bFull)
    let aSample = aShape.reduce(1, *), bSample = bShape.reduce(1, *)
    Parallel.forEachChunk(of: batch, chunks: Parallel.chunkCount(items: batch, itemCost: sampleSize)) { samples in
        for sample in samples {
            for index in 0 ..< sampleSize {
                var rest = index, aIndex = 0, bIndex = 0
                for axis in (0 ..< rank).reversed() {
                    let position = rest % outputShape[axis]
                    rest /= outputShape[axis]
                    aIndex += position * aStrides[axis]
                    bIndex += position * bStrides[axis]
                }
                let x = a[sample * aSample + aIndex], y = b[sample * bSample + bIndex]
                output[sample * sampleSize + index] = operation == .add ? x + y : x * y
            }
        }
    }
}

/// `torch.cat(inputs, 1)`: `output [batch, Σ c_i, spatial]` from inputs `[batch, c_i, spatial]`
/// (`channels[i] = c_i`, spatial = h·w). `output` must not overlap an input.
public func concatenateChannels(_ inputs: [UnsafePointer<Float>], channels: [Int], spatial: Int, batch: Int,
                                output: UnsafeMutablePointer<Float>) {
    precondition(inputs.count == channels.count && spatial > 0, "concatenateChannels: bad shapes")
    let total = channels.reduce(0, +)
    nonisolated(unsafe) let inputs = inputs, output = output
    // Each chunk writes the output samples of its own range only.
    Parallel.forEachChunk(of: batch, chunks: Parallel.chunkCount(items: batch, itemCost: total * spatial)) { samples in
        for sample in samples {
            var y = output + sample * total * spatial
            for (x, c) in zip(inputs, channels) {
                y.update(from: x + sample * c * spatial, count: c * spatial)
                y += c * spatial
            }
        }
    }
}
