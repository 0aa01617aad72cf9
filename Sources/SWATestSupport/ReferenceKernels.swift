import SWAData
import SWAEngine
import SWAFormats
// The test oracle: naive loops that follow PyTorch's definitions term by term, in Double, over
// arrays. Slow on purpose and never called by the tools; `KernelTests` checks every fast
// kernel against them on odd shapes.

public enum ReferenceKernels {
    // MARK: - Convolution and linear

    /// `torch.nn.functional.conv2d` straight from its definition; shapes as `conv2d`.
    public static func conv2d(_ input: [Float], batch: Int, height: Int, width: Int, geometry g: Conv2dGeometry,
                       weight: [Float], bias: [Float]?) -> [Float] {
        let (outputHeight, outputWidth) = g.outputSize(height: height, width: width)
        let groupIn = g.inChannels / g.groups, groupOut = g.outChannels / g.groups
        var output = [Float](repeating: 0, count: batch * g.outChannels * outputHeight * outputWidth)
        for n in 0 ..< batch {
            for o in 0 ..< g.outChannels {
                let group = o / groupOut
                for oy in 0 ..< outputHeight {
                    for ox in 0 ..< outputWidth {
                        var sum = Double(bias?[o] ?? 0)
                        for i in 0 ..< groupIn {
                            let c = group * groupIn + i
                            for ky in 0 ..< g.kernelHeight {
                                for kx in 0 ..< g.kernelWidth {
                                    let iy = oy * g.strideY - g.paddingY + ky * g.dilationY
                                    let ix = ox * g.strideX - g.paddingX + kx * g.dilationX
                                    guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                    let x = input[((n * g.inChannels + c) * height + iy) * width + ix]
                                    let w = weight[((o * groupIn + i) * g.kernelHeight + ky) * g.kernelWidth + kx]
                                    sum += Double(x) * Double(w)
                                }
                            }
                        }
                        output[((n * g.outChannels + o) * outputHeight + oy) * outputWidth + ox] = Float(sum)
                    }
                }
            }
        }
        return output
    }

    /// `torch.nn.functional.linear`: `[batch, inFeatures] · weight [outFeatures, inFeatures]ᵀ + bias`.
    public static func linear(_ input: [Float], batch: Int, inFeatures: Int, outFeatures: Int,
                       weight: [Float], bias: [Float]?) -> [Float] {
        var output = [Float](repeating: 0, count: batch * outFeatures)
        for n in 0 ..< batch {
            for o in 0 ..< outFeatures {
                var sum = Double(bias?[o] ?? 0)
                for i in 0 ..< inFeatures { sum += Double(input[n * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                output[n * outFeatures + o] = Float(sum)
            }
        }
        return output
    }

    // MARK: - Batch norm

    /// Training-mode batch norm with two-pass Double statistics; shapes as `batchNormTraining`.
    public static func batchNormTraining(_ input: [Float], batch: Int, channels: Int, spatial: Int, eps: Double,
                                  weight: [Float]?, bias: [Float]?)
        -> (output: [Float], mean: [Double], biasedVariance: [Double], unbiasedVariance: [Double]) {
        let count = Double(batch * spatial)
        var mean = [Double](repeating: 0, count: channels)
        var variance = [Double](repeating: 0, count: channels)
        for c in 0 ..< channels {
            var sum = 0.0
            for n in 0 ..< batch { for s in 0 ..< spatial { sum += Double(input[(n * channels + c) * spatial + s]) } }
            mean[c] = sum / count
            var squares = 0.0
            for n in 0 ..< batch {
                for s in 0 ..< spatial {
                    let d = Double(input[(n * channels + c) * spatial + s]) - mean[c]
                    squares += d * d
                }
            }
            variance[c] = squares / count
        }
        let output = normalize(input, batch: batch, channels: channels, spatial: spatial,
                               mean: mean, variance: variance, eps: eps, weight: weight, bias: bias)
        return (output, mean, variance, variance.map { $0 * count / (count - 1) })
    }

    /// `(x − mean) / sqrt(variance + eps) · weight + bias` per channel, in Double.
    public static func normalize(_ input: [Float], batch: Int, channels: Int, spatial: Int, mean: [Double], variance: [Double],
                          eps: Double, weight: [Float]?, bias: [Float]?) -> [Float] {
        var output = input
        for n in 0 ..< batch {
            for c in 0 ..< channels {
                for s in 0 ..< spatial {
                    let index = (n * channels + c) * spatial + s
                    let normalized = (Double(input[index]) - mean[c]) / (variance[c] + eps).squareRoot()
                    output[index] = Float(normalized * Double(weight?[c] ?? 1) + Double(bias?[c] ?? 0))
                }
            }
        }
        return output
    }

    // MARK: - Pools

    /// `max_pool2d` (or, with `average`, `avg_pool2d`) by visiting every window position:
    /// padding is −∞ for the max; for the average, positions inside the padded input count in
    /// the divisor with `countIncludePad` (0 in the sum), image positions only without it.
    public static func pool2d(_ input: [Float], batch: Int, channels: Int, height: Int, width: Int,
                       geometry g: Pool2dGeometry, average: Bool) -> [Float] {
        let (outputHeight, outputWidth) = g.outputSize(height: height, width: width)
        var output = [Float](repeating: 0, count: batch * channels * outputHeight * outputWidth)
        for plane in 0 ..< batch * channels {
            for oy in 0 ..< outputHeight {
                for ox in 0 ..< outputWidth {
                    var best = -Double.infinity, sum = 0.0, padded = 0, inImage = 0
                    for ky in 0 ..< g.kernelHeight {
                        for kx in 0 ..< g.kernelWidth {
                            let iy = oy * g.strideY - g.paddingY + ky, ix = ox * g.strideX - g.paddingX + kx
                            let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                            if iy < height + g.paddingY && ix < width + g.paddingX { padded += 1 }
                            guard inside else { continue }
                            let value = Double(input[(plane * height + iy) * width + ix])
                            inImage += 1
                            best = max(best, value)
                            sum += value
                        }
                    }
                    let result = average ? sum / Double(g.countIncludePad ? padded : inImage) : best
                    output[(plane * outputHeight + oy) * outputWidth + ox] = Float(result)
                }
            }
        }
        return output
    }

    /// `adaptive_avg_pool2d(x, 1).flatten(1)`: the mean of every plane.
    public static func globalAvgPool2d(_ input: [Float], batch: Int, channels: Int, height: Int, width: Int) -> [Float] {
        (0 ..< batch * channels).map { plane in
            Float(input[plane * height * width ..< (plane + 1) * height * width].reduce(0.0) { $0 + Double($1) }
                / Double(height * width))
        }
    }
}
