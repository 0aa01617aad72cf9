import SWAFormats
import RealModule

// Elementwise activations other than ReLU (Elementwise.swift), in Float as PyTorch computes
// them on the CPU. Each element depends only on itself: the output may be the input, and the
// chunking cannot change a result.

/// Applies `activation` to `count` floats, as its PyTorch module (`nn.Hardswish`, `nn.SiLU`,
/// ...): see `Activation` for each formula. `output` may be `input` (in place).
public func activate(_ activation: Activation, _ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
    precondition(count >= 0, "activate: negative count")
    // One loop per function, each its own closure-free body, so each vectorises where it can.
    switch activation {
    case let .hardtanh(low, high):
        map(input, count: count, output: output) { x in x < low ? low : (x > high ? high : x) }
    case .hardswish:
        map(input, count: count, output: output) { x in x * min(max(x + 3, 0), 6) / 6 }
    case .hardsigmoid:
        map(input, count: count, output: output) { x in min(max(x + 3, 0), 6) / 6 }
    case .silu:
        map(input, count: count, output: output) { x in x / (1 + Float.exp(-x)) }
    case .sigmoid:
        map(input, count: count, output: output) { x in 1 / (1 + Float.exp(-x)) }
    case .gelu(tanhApproximation: false):
        map(input, count: count, output: output) { x in 0.5 * x * (1 + Float.erf(x * 0.70710678118654752440)) }
    case .gelu(tanhApproximation: true):
        // sqrt(2/π) · (x + 0.044715 x³), as PyTorch's approximate="tanh".
        map(input, count: count, output: output) { x in
            0.5 * x * (1 + Float.tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)))
        }
    case .tanh:
        map(input, count: count, output: output) { x in Float.tanh(x) }
    }
}

/// `output[i] = transform(input[i])`, ranges of elements spread over the cores.
@inline(__always)
private func map(_ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>,
                 _ transform: @escaping @Sendable (Float) -> Float) {
    // Each chunk writes its own range of elements only.
    nonisolated(unsafe) let input = input, output = output
    Parallel.forEachChunk(of: count, chunks: Parallel.chunkCount(items: count, itemCost: 4)) { range in
        for index in range { output[index] = transform(input[index]) }
    }
}
