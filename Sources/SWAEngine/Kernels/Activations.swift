import SWAFormats
import RealModule

// Elementwise activations other than ReLU (Elementwise.swift), in Float as PyTorch computes
// them on the CPU. Each element depends only on itself: the output may be the input, and the
// chunking cannot change a result.

/// Applies `activation` to `count` floats, as its PyTorch module (`nn.Hardswish`, `nn.SiLU`,
/// ...): see `Activation` for each formula. `output` may be `input` (in place).
///
/// `exp` (SiLU, sigmoid) is `vectorExp`, a polynomial that the loops vectorise, within 2 ulp of
/// libm's `expf` (which runs one element per call). `erf` and `tanh` are libm's.
public func activate(_ activation: Activation, _ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
    precondition(count >= 0, "activate: negative count")
    // One specialised loop per function (a type each, so no closure call per element).
    switch activation {
    case let .hardtanh(low, high): map(Hardtanh(low: low, high: high), input, count: count, output: output)
    case .hardswish: map(Hardswish(), input, count: count, output: output)
    case .hardsigmoid: map(Hardsigmoid(), input, count: count, output: output)
    case .silu: map(SiLU(), input, count: count, output: output)
    case .sigmoid: map(Sigmoid(), input, count: count, output: output)
    case .gelu(tanhApproximation: false): map(GELU(), input, count: count, output: output)
    case .gelu(tanhApproximation: true): map(GELUTanh(), input, count: count, output: output)
    case .tanh: map(Tanh(), input, count: count, output: output)
    }
}

/// A function of one float, applied elementwise.
private protocol ElementFunction: Sendable {
    func callAsFunction(_ x: Float) -> Float
}

private struct Hardtanh: ElementFunction {
    let low: Float, high: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x < low ? low : (x > high ? high : x) }
}

private struct Hardswish: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * min(max(x + 3, 0), 6) / 6 }
}

private struct Hardsigmoid: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { min(max(x + 3, 0), 6) / 6 }
}

private struct SiLU: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x / (1 + vectorExp(-x)) }
}

private struct Sigmoid: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / (1 + vectorExp(-x)) }
}

private struct GELU: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 0.5 * x * (1 + Float.erf(x * 0.70710678118654752440)) }
}

/// sqrt(2/π) · (x + 0.044715 x³), as PyTorch's approximate="tanh".
private struct GELUTanh: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        0.5 * x * (1 + Float.tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)))
    }
}

private struct Tanh: ElementFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Float.tanh(x) }
}

/// `output[i] = function(input[i])`, ranges of elements spread over the cores.
private func map<F: ElementFunction>(_ function: F, _ input: UnsafePointer<Float>, count: Int, output: UnsafeMutablePointer<Float>) {
    // Each chunk writes its own range of elements only.
    nonisolated(unsafe) let input = input, output = output
    Parallel.forEachChunk(of: count, chunks: Parallel.chunkCount(items: count, itemCost: 4)) { range in
        for index in range { output[index] = function(input[index]) }
    }
}

/// `exp(x)` in Float without a libm call, so a loop over it vectorises: Cephes' `expf`
/// (x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial for exp(r), times 2ⁿ built from
/// its bits). Inputs are clamped to [−87.3, 88]: exp(−87.3) ≈ 1.2e-38 and exp(88) ≈ 1.7e38
/// stand for anything beyond, which is what sigmoid and SiLU need.
@inline(__always)
func vectorExp(_ x: Float) -> Float {
    let clamped = min(max(x, -87.3), 88)
    let n = (clamped * 1.44269504088896341 + 0.5).rounded(.down)
    var r = clamped - n * 0.693359375
    r = r - n * -2.12194440e-4
    let z = r * r
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let e = p * z + r + 1
    return e * Float(bitPattern: UInt32(truncatingIfNeeded: Int32(n) &+ 127) << 23)
}
