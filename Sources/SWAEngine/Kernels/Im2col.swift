import SWAFormats
// im2col: the unfolding that turns a convolution into one matrix product.
//
// For one sample `[C, H, W]`, row `(c·kh + ky)·kw + kx` of the column matrix holds, for every
// output position `(oy, ox)` in row-major order, the input value under kernel tap `(ky, kx)`
// of channel `c` (zero where the tap falls in the padding). That is exactly the layout in
// which a PyTorch OIHW weight `[O, C·kh·kw]` times the columns `[C·kh·kw, oh·ow]` gives the
// NCHW output plane `[O, oh·ow]` without any transposition, and in which the rows of group
// `g` (channels `g·C/groups ..< (g+1)·C/groups`) form one contiguous block.
//
// Each channel is first copied into a zero-bordered plane `[H + 2·padY, W + 2·padX]`, so that
// every kernel tap reads inside it: a column row is then plain copies of plane rows (vector
// moves for a horizontal stride of 1), with no bounds checks and no zero filling. This
// measured 3 to 6 times faster than clipping each row to the image and zeroing the rest
// (64×8×8 planes: 7 µs against 27–41 µs per sample; 16×32×32: 19–32 against 41–48).

/// Unfolds `input` `[channels, height, width]` into `columns`
/// `[channels · kernelHeight · kernelWidth, outputHeight · outputWidth]` (row-major) for the
/// taps, stride, padding and dilation of `geometry` (its channel counts and groups are not
/// used: `channels` says how many planes to unfold). Rows are `columnStride` floats apart
/// (default: packed), so several samples can be unfolded side by side into one wider matrix.
/// Every element of the `outputHeight · outputWidth` columns of each row is written.
func im2col(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry: Conv2dGeometry,
            outputHeight: Int, outputWidth: Int, columns: UnsafeMutablePointer<Float>, columnStride: Int? = nil) {
    let rowStride = columnStride ?? outputHeight * outputWidth
    let paddedHeight = height + 2 * geometry.paddingY, paddedWidth = width + 2 * geometry.paddingX
    let isPadded = geometry.paddingY > 0 || geometry.paddingX > 0
    // Without padding the input plane serves as is.
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: isPadded ? paddedHeight * paddedWidth : 1)
    defer { padded.deallocate() }
    // The border is zeroed once; the channels only ever overwrite the inside.
    if isPadded { padded.initialize(repeating: 0, count: paddedHeight * paddedWidth) }

    let strideY = geometry.strideY, strideX = geometry.strideX
    let planeSize = height &* width
    var row = columns
    for channel in 0 ..< channels {
        var plane = input + channel &* planeSize
        if isPadded {
            let inside = padded + (geometry.paddingY &* paddedWidth &+ geometry.paddingX)
            for y in 0 ..< height {
                copyFloats(from: plane + y &* width, to: inside + y &* paddedWidth, count: width)
            }
            plane = UnsafePointer(padded)
        }
        for ky in 0 ..< geometry.kernelHeight {
            for kx in 0 ..< geometry.kernelWidth {
                // Output (oy, ox) reads padded (oy·strideY + ky·dilationY, ox·strideX + kx·dilationX),
                // inside the padded plane for every output PyTorch's size formula allows.
                let tap = plane + (ky &* geometry.dilationY &* paddedWidth &+ kx &* geometry.dilationX)
                for oy in 0 ..< outputHeight {
                    let source = tap + oy &* strideY &* paddedWidth
                    let destination = row + oy &* outputWidth
                    if strideX == 1 {
                        copyFloats(from: source, to: destination, count: outputWidth)
                    } else {
                        for ox in 0 ..< outputWidth {
                            destination[ox] = source[ox &* strideX]
                        }
                    }
                }
                row += rowStride
            }
        }
    }
}

/// Copies `count` floats with unaligned 8-float vector moves, then one by one. Inlined, so a
/// short row costs no call: a `memcpy` per row of 8 to 32 floats costs more than the copy.
@inline(__always)
private func copyFloats(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    var index = 0
    while index &+ 8 <= count {
        let vector = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(destination + index).storeBytes(of: vector, as: SIMD8<Float>.self)
        index &+= 8
    }
    while index < count {
        destination[index] = source[index]
        index &+= 1
    }
}
