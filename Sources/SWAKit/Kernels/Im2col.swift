// im2col: the unfolding that turns a convolution into one matrix product.
//
// For one sample `[C, H, W]`, row `(c·kh + ky)·kw + kx` of the column matrix holds, for every
// output position `(oy, ox)` in row-major order, the input value under kernel tap `(ky, kx)`
// of channel `c` (zero where the tap falls in the padding). That is exactly the layout in
// which a PyTorch OIHW weight `[O, C·kh·kw]` times the columns `[C·kh·kw, oh·ow]` gives the
// NCHW output plane `[O, oh·ow]` without any transposition, and in which the rows of group
// `g` (channels `g·C/groups ..< (g+1)·C/groups`) form one contiguous block.

/// Unfolds `input` `[channels, height, width]` into `columns`
/// `[channels · kernelHeight · kernelWidth, outputHeight · outputWidth]` (row-major) for the
/// taps, stride, padding and dilation of `geometry` (its channel counts and groups are not
/// used: `channels` says how many planes to unfold). Every element of `columns` is written.
func im2col(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry: Conv2dGeometry,
            outputHeight: Int, outputWidth: Int, columns: UnsafeMutablePointer<Float>) {
    // Two loop nests, chosen once per call: with the choice inside the row loop, both
    // variants measured 15-40% slower.
    if outputWidth < narrowRowLimit {
        im2colNarrow(input, channels: channels, height: height, width: width, geometry: geometry,
                     outputHeight: outputHeight, outputWidth: outputWidth, columns: columns)
    } else {
        im2colWide(input, channels: channels, height: height, width: width, geometry: geometry,
                   outputHeight: outputHeight, outputWidth: outputWidth, columns: columns)
    }
}

/// Output rows narrower than this are filled element by element: for an 8-wide row, the
/// three library calls of the wide path (zero, copy, zero) cost more than the copy itself
/// (im2col of 64×8×8 planes 1.5× faster element by element, of 16×32×32 planes 2× slower).
let narrowRowLimit = 16

/// `im2col` for wide output rows: per row, the padding is zeroed and the inside is one copy
/// (or a strided gather).
private func im2colWide(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry: Conv2dGeometry,
                        outputHeight: Int, outputWidth: Int, columns: UnsafeMutablePointer<Float>) {
    let strideY = geometry.strideY, strideX = geometry.strideX
    let planeSize = height &* width, rowSize = outputHeight &* outputWidth
    var row = columns
    for channel in 0 ..< channels {
        let plane = input + channel &* planeSize
        for ky in 0 ..< geometry.kernelHeight {
            let offsetY = ky &* geometry.dilationY &- geometry.paddingY
            for kx in 0 ..< geometry.kernelWidth {
                // Input column of output column ox is ox·strideX + offsetX; the outputs whose
                // input lies inside the image form one range [firstX, endX).
                let offsetX = kx &* geometry.dilationX &- geometry.paddingX
                let (firstX, endX) = validRange(offset: offsetX, stride: strideX, extent: width, count: outputWidth)
                // Row by row: one block copy per shifted plane (fewer calls) measured slower
                // here, as glibc's large-copy path is slow for these misaligned addresses.
                for oy in 0 ..< outputHeight {
                    let destination = row + oy &* outputWidth
                    let iy = oy &* strideY &+ offsetY
                    guard iy >= 0, iy < height, firstX < endX else {
                        destination.update(repeating: 0, count: outputWidth)
                        continue
                    }
                    destination.update(repeating: 0, count: firstX)
                    (destination + endX).update(repeating: 0, count: outputWidth &- endX)
                    let source = plane + (iy &* width &+ firstX &* strideX &+ offsetX)
                    if strideX == 1 {
                        (destination + firstX).update(from: source, count: endX &- firstX)
                    } else {
                        for ox in 0 ..< endX &- firstX {
                            destination[firstX &+ ox] = source[ox &* strideX]
                        }
                    }
                }
                row += rowSize
            }
        }
    }
}

/// `im2col` for narrow output rows, element by element without library calls.
private func im2colNarrow(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, geometry: Conv2dGeometry,
                          outputHeight: Int, outputWidth: Int, columns: UnsafeMutablePointer<Float>) {
    let strideY = geometry.strideY, strideX = geometry.strideX
    let planeSize = height &* width, rowSize = outputHeight &* outputWidth
    var row = columns
    for channel in 0 ..< channels {
        let plane = input + channel &* planeSize
        for ky in 0 ..< geometry.kernelHeight {
            let offsetY = ky &* geometry.dilationY &- geometry.paddingY
            for kx in 0 ..< geometry.kernelWidth {
                let offsetX = kx &* geometry.dilationX &- geometry.paddingX
                for oy in 0 ..< outputHeight {
                    let destination = row + oy &* outputWidth
                    let iy = oy &* strideY &+ offsetY
                    guard iy >= 0, iy < height else {
                        destination.update(repeating: 0, count: outputWidth)
                        continue
                    }
                    let line = plane + iy &* width
                    for ox in 0 ..< outputWidth {
                        let ix = ox &* strideX &+ offsetX
                        // One unsigned compare: a negative ix wraps to a huge value.
                        destination[ox] = UInt(bitPattern: ix) < UInt(bitPattern: width) ? line[ix] : 0
                    }
                }
                row += rowSize
            }
        }
    }
}

/// The outputs `o` in `0 ..< count` with `0 <= o·stride + offset < extent`, as `[first, end)`
/// with `first <= end` (both in `0 ... count`).
@inline(__always)
func validRange(offset: Int, stride: Int, extent: Int, count: Int) -> (first: Int, end: Int) {
    // first = ceil(-offset / stride) for negative offsets; last = floor((extent - 1 - offset) / stride).
    let first = offset >= 0 ? 0 : min(count, (stride &- 1 &- offset) / stride)
    let limit = extent &- 1 &- offset
    let end = limit < 0 ? 0 : min(count, limit / stride &+ 1)
    return (first, max(first, end))
}
