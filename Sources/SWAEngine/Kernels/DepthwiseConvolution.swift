import SWAFormats
import RealModule

// Depthwise convolution (groups == in_channels: MobileNet, EfficientNet, RegNet's wide groups
// are not this) computed directly. Each output channel reads one input plane through kh·kw
// weights, so im2col + sgemm would unfold every plane kh·kw times for a product of depth kh·kw:
// all memory traffic, almost no arithmetic. Here each plane is copied once into a
// zero-bordered buffer and every output row accumulates its kh·kw shifted input rows (a vector
// multiply-add along the row for a horizontal stride of 1).

/// Depthwise 2-D convolution, as `torch.nn.functional.conv2d` with `groups == inChannels`.
///
/// `input [batch, inC, height, width]`, `weight [outC, 1, kh, kw]` (outC a multiple of inC:
/// output channel `o` reads input channel `o / (outC / inC)`), `bias [outC]` or nil,
/// `output [batch, outC, oh, ow]`. Each output value is `bias + Σ taps` summed in the order
/// `(ky, kx)`; planes are spread over the cores and computed the same way whatever the chunk,
/// so results do not depend on the core count. `output` must not overlap `input`.
public func depthwiseConv2d(_ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, geometry: Conv2dGeometry,
                            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
    precondition(geometry.groups == geometry.inChannels, "depthwiseConv2d: groups \(geometry.groups) must equal in_channels \(geometry.inChannels)")
    let (outputHeight, outputWidth) = geometry.validatedOutputSize(height: height, width: width)
    let multiplier = geometry.outChannels / geometry.inChannels
    let kh = geometry.kernelHeight, kw = geometry.kernelWidth
    let paddedHeight = height + 2 * geometry.paddingY, paddedWidth = width + 2 * geometry.paddingX
    let planes = batch * geometry.outChannels
    let planeWork = outputHeight * outputWidth * kh * kw
    nonisolated(unsafe) let input = input, weight = weight, bias = bias, output = output
    // Each chunk writes its own output planes only, and has its own padded buffer.
    Parallel.forEachChunk(of: planes, chunks: Parallel.chunkCount(items: planes, itemCost: planeWork)) { range in
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedHeight * paddedWidth)
        defer { padded.deallocate() }
        // The border stays zero; each plane overwrites the inside only.
        padded.initialize(repeating: 0, count: paddedHeight * paddedWidth)
        let inside = padded + geometry.paddingY * paddedWidth + geometry.paddingX
        for plane in range {
            let sample = plane / geometry.outChannels, channel = plane % geometry.outChannels
            let x = input + (sample * geometry.inChannels + channel / multiplier) * height * width
            for row in 0 ..< height {
                (inside + row * paddedWidth).update(from: x + row * width, count: width)
            }
            let taps = weight + channel * kh * kw
            let start = bias?[channel] ?? 0
            var y = output + plane * outputHeight * outputWidth
            for oy in 0 ..< outputHeight {
                for ox in 0 ..< outputWidth { y[ox] = start }
                let top = padded + oy * geometry.strideY * paddedWidth
                for ky in 0 ..< kh {
                    let line = top + ky * geometry.dilationY * paddedWidth
                    for kx in 0 ..< kw {
                        accumulate(taps[ky * kw + kx], line + kx * geometry.dilationX, stride: geometry.strideX,
                                   count: outputWidth, into: y)
                    }
                }
                y += outputWidth
            }
        }
    }
}

/// `y[i] += w · x[i · stride]` for `count` outputs.
@inline(__always)
private func accumulate(_ w: Float, _ x: UnsafePointer<Float>, stride: Int, count: Int, into y: UnsafeMutablePointer<Float>) {
    if stride == 1 {
        for index in 0 ..< count { y[index] = Relaxed.multiplyAdd(w, x[index], y[index]) }
    } else {
        for index in 0 ..< count { y[index] = Relaxed.multiplyAdd(w, x[index &* stride], y[index]) }
    }
}
