import SWAFormats
import RealModule

// Batch normalisation over `[batch, channels, spatial]` (spatial = h·w for BatchNorm2d, 1 for
// BatchNorm1d on `[batch, channels]`): statistics per channel over batch·spatial values.
//
// Statistics are accumulated in Double, shifted by the channel's first value so that a large
// mean does not cancel the variance away (sum and sum of squares of x − x₀ in one pass, with
// `Relaxed` arithmetic so the loop vectorises). Channels are spread over the cores; each
// channel is always summed in the same order, so results do not depend on the core count.

// MARK: - Training mode

/// Batch norm in training mode, as `torch.nn.functional.batch_norm(training=True)`: normalises
/// with the statistics of this batch and returns them for the running-statistics update.
///
/// `input` and `output` are `[batch, channels, spatial]`; `weight` and `bias` are `[channels]`
/// (nil: 1 and 0, i.e. `affine=False`). Per channel, with `m = batch · spatial` values,
/// `mean` and the biased variance `var` are computed in Double and
/// `output = (x − mean) / sqrt(var + eps) · weight + bias`, then `max(output, 0)` with
/// `relu` (a following ReLU fused into the same pass). `output` may be `input`.
///
/// - Returns: per channel, the batch mean and the unbiased variance `var · m / (m − 1)`,
///   the two values PyTorch folds into `running_mean` and `running_var`.
/// - Precondition: `m > 1`, as PyTorch ("Expected more than 1 value per channel when training").
public func batchNormTraining(_ input: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int, eps: Double,
                              weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                              output: UnsafeMutablePointer<Float>, relu: Bool = false) -> (mean: [Double], unbiasedVariance: [Double]) {
    precondition(batch >= 0 && channels > 0 && spatial > 0, "batchNormTraining: bad shape [\(batch), \(channels), \(spatial)]")
    let count = batch * spatial
    precondition(count > 1, "batchNormTraining: expected more than 1 value per channel when training, got \(count)")
    var mean = [Double](repeating: 0, count: channels)
    var biasedVariance = [Double](repeating: 0, count: channels)
    mean.withUnsafeMutableBufferPointer { meanBuffer in
        biasedVariance.withUnsafeMutableBufferPointer { varianceBuffer in
            // Each chunk reads the whole input but writes only the entries of its own channels.
            nonisolated(unsafe) let input = input
            nonisolated(unsafe) let means = meanBuffer.baseAddress!, variances = varianceBuffer.baseAddress!
            Parallel.forEachChunk(of: channels, chunks: Parallel.chunkCount(items: channels, itemCost: count)) { range in
                for channel in range {
                    let origin = input + channel * spatial
                    let shift = Double(origin[0])
                    var sum = 0.0, sumOfSquares = 0.0
                    for sample in 0 ..< batch {
                        let run = shiftedSums(origin + sample * channels * spatial, count: spatial, shift: shift)
                        sum += run.sum
                        sumOfSquares += run.sumOfSquares
                    }
                    let shiftedMean = sum / Double(count)
                    means[channel] = shift + shiftedMean
                    variances[channel] = max(0, sumOfSquares / Double(count) - shiftedMean * shiftedMean)
                }
            }
        }
    }
    normalize(input, batch: batch, channels: channels, spatial: spatial, mean: { mean[$0] },
              inverseStandardDeviation: { 1 / (biasedVariance[$0] + eps).squareRoot() },
              weight: weight, bias: bias, output: output, relu: relu)
    let correction = Double(count) / Double(count - 1)
    return (mean, biasedVariance.map { $0 * correction })
}

/// Σ (x − shift) and Σ (x − shift)² over `count` floats, in Double.
@inline(__always)
func shiftedSums(_ values: UnsafePointer<Float>, count: Int, shift: Double) -> (sum: Double, sumOfSquares: Double) {
    var sum = 0.0, sumOfSquares = 0.0
    for index in 0 ..< count {
        let deviation = Double(values[index]) - shift
        sum = Relaxed.sum(sum, deviation)
        sumOfSquares = Relaxed.multiplyAdd(deviation, deviation, sumOfSquares)
    }
    return (sum, sumOfSquares)
}

// MARK: - Inference mode

/// Batch norm in inference mode, as `torch.nn.functional.batch_norm(training=False)`:
/// `output = (x − runningMean) / sqrt(runningVariance + eps) · weight + bias` per channel.
///
/// `input` and `output` are `[batch, channels, spatial]`; `runningMean`, `runningVariance`,
/// `weight` and `bias` are `[channels]` (nil weight/bias: 1 and 0, i.e. `affine=False`).
/// With `relu`, a following ReLU is fused: `max(output, 0)`. `output` may be `input`.
public func batchNormInference(_ input: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int, eps: Double,
                               runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                               relu: Bool = false) {
    precondition(batch >= 0 && channels > 0 && spatial > 0, "batchNormInference: bad shape [\(batch), \(channels), \(spatial)]")
    normalize(input, batch: batch, channels: channels, spatial: spatial, mean: { Double(runningMean[$0]) },
              inverseStandardDeviation: { 1 / (Double(runningVariance[$0]) + eps).squareRoot() },
              weight: weight, bias: bias, output: output, relu: relu)
}

// MARK: - Shared normalisation

/// `output = (x − mean(c)) · invstd(c) · weight[c] + bias[c]`, the per-channel factors folded
/// in Double and rounded once to Float, clamped at 0 with `relu` (NaN stays NaN, as in
/// PyTorch's ReLU); planes spread over the cores.
///
/// The mean is split into a Float head and tail, `x − mean = (x − head) − tail`: the first
/// difference is exact for x near the mean (Sterbenz), so a mean far from zero (say 1000 with
/// a standard deviation of 0.01) costs no more accuracy than the final rounding.
func normalize(_ input: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int,
               mean: (Int) -> Double, inverseStandardDeviation: (Int) -> Double,
               weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
               relu: Bool) {
    // Per channel: head and tail of the mean, scale, offset.
    let factors = UnsafeMutablePointer<Float>.allocate(capacity: 4 * channels)
    defer { factors.deallocate() }
    // Pointers are not Sendable; the chunks below only read these.
    nonisolated(unsafe) let heads = factors, tails = factors + channels
    nonisolated(unsafe) let scales = factors + 2 * channels, offsets = factors + 3 * channels
    for channel in 0 ..< channels {
        let center = mean(channel)
        heads[channel] = Float(center)
        tails[channel] = Float(center - Double(heads[channel]))
        scales[channel] = Float(inverseStandardDeviation(channel) * Double(weight?[channel] ?? 1))
        offsets[channel] = bias?[channel] ?? 0
    }
    let planes = batch * channels
    // Each chunk writes its own planes only (elementwise, so in place is safe).
    nonisolated(unsafe) let input = input, output = output
    Parallel.forEachChunk(of: planes, chunks: Parallel.chunkCount(items: planes, itemCost: spatial)) { range in
        for plane in range {
            let channel = plane % channels
            let head = heads[channel], tail = tails[channel], scale = scales[channel], offset = offsets[channel]
            let x = input + plane * spatial, y = output + plane * spatial
            // Two loops rather than a test per element, so each vectorises.
            if relu {
                for index in 0 ..< spatial {
                    let value = Relaxed.multiplyAdd((x[index] - head) - tail, scale, offset)
                    y[index] = value < 0 ? 0 : value
                }
            } else {
                for index in 0 ..< spatial {
                    y[index] = Relaxed.multiplyAdd((x[index] - head) - tail, scale, offset)
                }
            }
        }
    }
}
