import Foundation
import SWAEngine
// Oracles for the ops of torchvision's families (graph version 2): term by term from
// PyTorch's definitions, in Double, over arrays.

extension ReferenceKernels {
    /// `adaptive_avg_pool2d(x, (outputHeight, outputWidth))`: output `(i, j)` averages rows
    /// `floor(i·H/oh) ..< ceil((i+1)·H/oh)` and the columns alike.
    public static func adaptiveAvgPool2d(_ input: [Float], batch: Int, channels: Int, height: Int, width: Int,
                                         outputHeight: Int, outputWidth: Int) -> [Float] {
        var output: [Float] = []
        for plane in 0 ..< batch * channels {
            for i in 0 ..< outputHeight {
                let rows = Int((Double(i * height) / Double(outputHeight)).rounded(.down))
                    ..< Int((Double((i + 1) * height) / Double(outputHeight)).rounded(.up))
                for j in 0 ..< outputWidth {
                    let columns = Int((Double(j * width) / Double(outputWidth)).rounded(.down))
                        ..< Int((Double((j + 1) * width) / Double(outputWidth)).rounded(.up))
                    var sum = 0.0
                    for r in rows { for c in columns { sum += Double(input[(plane * height + r) * width + c]) } }
                    output.append(Float(sum / Double(rows.count * columns.count)))
                }
            }
        }
        return output
    }

    /// One activation of one value, in Double.
    public static func activation(_ activation: Activation, _ x: Float) -> Float {
        let v = Double(x)
        let result: Double
        switch activation {
        case let .hardtanh(low, high): result = min(max(v, Double(low)), Double(high))
        case .hardswish: result = v * min(max(v + 3, 0), 6) / 6
        case .hardsigmoid: result = min(max(v + 3, 0), 6) / 6
        case .silu: result = v / (1 + exp(-v))
        case .sigmoid: result = 1 / (1 + exp(-v))
        case .gelu(tanhApproximation: false): result = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
        case .gelu(tanhApproximation: true): result = 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
        case .tanh: result = tanh(v)
        }
        return Float(result)
    }

    /// `a + b` or `a * b` with PyTorch broadcasting, by visiting every output index; shapes per
    /// sample, the batch common.
    public static func broadcast(add: Bool, _ a: [Float], shape aShape: [Int], _ b: [Float], shape bShape: [Int],
                                 batch: Int) -> (output: [Float], shape: [Int]) {
        let rank = max(aShape.count, bShape.count)
        let aFull = Array(repeating: 1, count: rank - aShape.count) + aShape
        let bFull = Array(repeating: 1, count: rank - bShape.count) + bShape
        let shape = zip(aFull, bFull).map { max($0, $1) }
        let size = shape.reduce(1, *), aSize = aShape.reduce(1, *), bSize = bShape.reduce(1, *)
        var output: [Float] = []
        for n in 0 ..< batch {
            for index in 0 ..< size {
                // The multi-index of `index`, then each operand's flat index with its size-1 axes pinned at 0.
                var rest = index, position = [Int](repeating: 0, count: rank)
                for axis in (0 ..< rank).reversed() {
                    position[axis] = rest % shape[axis]
                    rest /= shape[axis]
                }
                func flat(_ full: [Int]) -> Int {
                    var flat = 0
                    for axis in 0 ..< rank { flat = flat * full[axis] + (full[axis] == 1 ? 0 : position[axis]) }
                    return flat
                }
                let x = Double(a[n * aSize + flat(aFull)]), y = Double(b[n * bSize + flat(bFull)])
                output.append(Float(add ? x + y : x * y))
            }
        }
        return (output, shape)
    }

    /// `torch.cat(inputs, 1)` of `[batch, c_i, spatial]` arrays.
    public static func concatenate(_ inputs: [[Float]], channels: [Int], spatial: Int, batch: Int) -> [Float] {
        var output: [Float] = []
        for n in 0 ..< batch {
            for (x, c) in zip(inputs, channels) { output += x[n * c * spatial ..< (n + 1) * c * spatial] }
        }
        return output
    }
}
