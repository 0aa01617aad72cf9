import SWAFormats
import RealModule

// 2-D pooling over NCHW planes; the `batch · channels` planes are spread over the cores.

// MARK: - Geometry

/// The window of a 2-D max or average pool, as PyTorch's `MaxPool2d`/`AvgPool2d` arguments
/// (dilation 1).
public struct Pool2dGeometry: Sendable, Equatable {
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideY: Int
    public var strideX: Int
    public var paddingY: Int
    public var paddingX: Int
    /// `ceil_mode`: round the output size up, so a last partial window is pooled too (one
    /// that starts inside the image or its left/top padding).
    public var ceilMode: Bool
    /// `count_include_pad` (average pool only): divide by the window's size within the padded
    /// input rather than by the number of image values under it.
    public var countIncludePad: Bool

    /// A pool window; the strides default to the kernel size and the padding to 0, as PyTorch.
    public init(kernelHeight: Int, kernelWidth: Int, strideY: Int? = nil, strideX: Int? = nil,
                paddingY: Int = 0, paddingX: Int = 0, ceilMode: Bool = false, countIncludePad: Bool = true) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY ?? kernelHeight
        self.strideX = strideX ?? kernelWidth
        self.paddingY = paddingY
        self.paddingX = paddingX
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }

    /// The output plane size for an input plane of `height × width`, as PyTorch's
    /// `pooling_output_shape`: `floor((H + 2·padding − kernel) / stride) + 1` per axis, rounded
    /// up instead with `ceilMode` unless the last window would start in the right padding
    /// (0 or less when the window does not fit in the padded input).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (pooledCount(extent: height, kernel: kernelHeight, stride: strideY, padding: paddingY),
         pooledCount(extent: width, kernel: kernelWidth, stride: strideX, padding: paddingX))
    }

    private func pooledCount(extent: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        guard ceilMode else { return slidingOutputCount(extent: extent, kernel: kernel, stride: stride, padding: padding, dilation: 1) }
        let span = extent + 2 * padding - kernel + stride - 1
        guard span >= 0, stride > 0 else { return 0 }
        var count = span / stride + 1
        if (count - 1) * stride >= extent + padding { count -= 1 }
        return count
    }

    /// Why PyTorch refuses this window, or nil: kernel and stride positive, padding at most
    /// half the kernel ("pad should be at most half of effective kernel size").
    public var problem: String? {
        guard kernelHeight > 0, kernelWidth > 0, strideY > 0, strideX > 0 else { return "kernel and stride must be positive" }
        guard paddingY >= 0, paddingX >= 0, 2 * paddingY <= kernelHeight, 2 * paddingX <= kernelWidth else {
            return "padding must be between 0 and half the kernel size"
        }
        return nil
    }

    /// Stops with a message unless PyTorch accepts the window for an input plane of
    /// `height × width`; returns the output plane size.
    func validatedOutputSize(height: Int, width: Int, function: String) -> (height: Int, width: Int) {
        if let problem { preconditionFailure("\(function): \(problem)") }
        precondition(height > 0 && width > 0, "\(function): empty input plane \(height)×\(width)")
        let size = outputSize(height: height, width: width)
        precondition(size.height > 0 && size.width > 0,
                     "\(function): window \(kernelHeight)×\(kernelWidth) does not fit a padded \(height)×\(width) input")
        return size
    }
}

// MARK: - Windowed pools

/// Max pool, as `torch.nn.functional.max_pool2d` (padding acts as −∞, `ceil_mode=False`,
/// dilation 1): `output [batch, channels, oh, ow]` from `input [batch, channels, height, width]`,
/// `(oh, ow)` from `geometry.outputSize(height:width:)`. A NaN in a window wins, as in PyTorch.
public func maxPool2d(_ input: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                      geometry: Pool2dGeometry, output: UnsafeMutablePointer<Float>) {
    let windows = PoolWindows(batch: batch, channels: channels, height: height, width: width, geometry: geometry,
                              function: "maxPool2d")
    windows.pool(input, into: output) { plane, rows, columns, _ in
        var best = -Float.infinity
        for row in rows {
            let line = plane + row * width
            for column in columns {
                let value = line[column]
                // `value != value` is the NaN test; a NaN, once taken, is kept.
                best = value > best || value != value ? value : best
            }
        }
        return best
    }
}

/// Average pool, as `torch.nn.functional.avg_pool2d`: each window's sum of image values divided
/// by the window's size within the padded input (`count_include_pad=True`, PyTorch's default;
/// with `ceil_mode` a last window that overhangs the padding counts only up to its edge) or by
/// the number of image values under it (`countIncludePad` false). Shapes as `maxPool2d`.
public func avgPool2d(_ input: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                      geometry: Pool2dGeometry, output: UnsafeMutablePointer<Float>) {
    let windows = PoolWindows(batch: batch, channels: channels, height: height, width: width, geometry: geometry,
                              function: "avgPool2d")
    let includePad = geometry.countIncludePad
    windows.pool(input, into: output) { plane, rows, columns, paddedArea in
        var sum: Float = 0
        for row in rows {
            let line = plane + row * width
            for column in columns { sum = Relaxed.sum(sum, line[column]) }
        }
        return sum / Float(includePad ? paddedArea : rows.count * columns.count)
    }
}

/// The validated shape of a pool and the part of each window inside the image.
struct PoolWindows {
    let geometry: Pool2dGeometry
    let height: Int, width: Int
    let outputHeight: Int, outputWidth: Int
    let planes: Int
    let chunks: Int

    init(batch: Int, channels: Int, height: Int, width: Int, geometry: Pool2dGeometry, function: String) {
        precondition(batch >= 0 && channels > 0, "\(function): bad shape [\(batch), \(channels), \(height), \(width)]")
        (outputHeight, outputWidth) = geometry.validatedOutputSize(height: height, width: width, function: function)
        self.geometry = geometry
        self.height = height
        self.width = width
        planes = batch * channels
        chunks = Parallel.chunkCount(items: planes,
                                     itemCost: outputHeight * outputWidth * geometry.kernelHeight * geometry.kernelWidth)
    }

    /// Input rows of the windows in output row `oy` that lie inside the image (never empty:
    /// padding is at most half the kernel, and a ceil-mode window starts inside the image or
    /// its top padding).
    @inline(__always)
    func rows(_ oy: Int) -> Range<Int> {
        let top = oy * geometry.strideY - geometry.paddingY
        return max(0, top) ..< min(height, top + geometry.kernelHeight)
    }

    /// Input columns of the windows in output column `ox` that lie inside the image.
    @inline(__always)
    func columns(_ ox: Int) -> Range<Int> {
        let left = ox * geometry.strideX - geometry.paddingX
        return max(0, left) ..< min(width, left + geometry.kernelWidth)
    }

    /// Positions of the window at output `(oy, ox)` inside the padded input (PyTorch's
    /// `pool_size` for `count_include_pad`).
    @inline(__always)
    func paddedArea(_ oy: Int, _ ox: Int) -> Int {
        let top = oy * geometry.strideY - geometry.paddingY, left = ox * geometry.strideX - geometry.paddingX
        return (min(top + geometry.kernelHeight, height + geometry.paddingY) - top)
            * (min(left + geometry.kernelWidth, width + geometry.paddingX) - left)
    }

    /// Writes every output value of every plane as `reduce(plane, rows, columns, paddedArea)`:
    /// the input plane `[height, width]`, its rows and columns under the window that lie inside
    /// the image, and the window's size within the padded input. Planes are spread over the cores.
    @inline(__always)
    func pool(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
              _ reduce: @Sendable (_ plane: UnsafePointer<Float>, _ rows: Range<Int>, _ columns: Range<Int>, _ paddedArea: Int) -> Float) {
        // Each chunk writes the output planes of its own input planes only.
        nonisolated(unsafe) let input = input, output = output
        Parallel.forEachChunk(of: planes, chunks: chunks) { planes in
            for planeIndex in planes {
                let plane = input + planeIndex * height * width
                var y = output + planeIndex * outputHeight * outputWidth
                for oy in 0 ..< outputHeight {
                    let rows = rows(oy)
                    for ox in 0 ..< outputWidth {
                        y.pointee = reduce(plane, rows, columns(ox), paddedArea(oy, ox))
                        y += 1
                    }
                }
            }
        }
    }
}

// MARK: - Global pool

/// Mean of every plane: `output [batch, channels]` from `input [batch, channels, height, width]`,
/// as `torch.nn.functional.adaptive_avg_pool2d(input, 1)` followed by `flatten(1)`. Sums are
/// accumulated in Double and rounded once.
public func globalAvgPool2d(_ input: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                            output: UnsafeMutablePointer<Float>) {
    precondition(batch >= 0 && channels > 0 && height > 0 && width > 0,
                 "globalAvgPool2d: bad shape [\(batch), \(channels), \(height), \(width)]")
    let planes = batch * channels, planeSize = height * width
    // Each chunk writes the outputs of its own planes only.
    nonisolated(unsafe) let input = input, output = output
    Parallel.forEachChunk(of: planes, chunks: Parallel.chunkCount(items: planes, itemCost: planeSize)) { range in
        for plane in range {
            let x = input + plane * planeSize
            var sum = 0.0
            for index in 0 ..< planeSize { sum = Relaxed.sum(sum, Double(x[index])) }
            output[plane] = Float(sum / Double(planeSize))
        }
    }
}

// MARK: - Adaptive pool

/// Adaptive average pool, as `torch.nn.functional.adaptive_avg_pool2d(input, (outputHeight,
/// outputWidth))`: `output [batch, channels, outputHeight, outputWidth]` from
/// `input [batch, channels, height, width]`, output row `i` averaging input rows
/// `floor(i·H / outputHeight) ..< ceil((i + 1)·H / outputHeight)` (columns alike). Sums in
/// Double, rounded once; planes spread over the cores.
public func adaptiveAvgPool2d(_ input: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                              outputHeight: Int, outputWidth: Int, output: UnsafeMutablePointer<Float>) {
    precondition(batch >= 0 && channels > 0 && height > 0 && width > 0 && outputHeight > 0 && outputWidth > 0,
                 "adaptiveAvgPool2d: bad shape [\(batch), \(channels), \(height), \(width)] -> \(outputHeight)×\(outputWidth)")
    let planes = batch * channels, planeSize = height * width
    nonisolated(unsafe) let input = input, output = output
    // Each chunk writes the outputs of its own planes only.
    Parallel.forEachChunk(of: planes, chunks: Parallel.chunkCount(items: planes, itemCost: planeSize)) { range in
        for plane in range {
            let x = input + plane * planeSize
            var y = output + plane * outputHeight * outputWidth
            for oy in 0 ..< outputHeight {
                let rows = adaptiveRange(oy, outputs: outputHeight, extent: height)
                for ox in 0 ..< outputWidth {
                    let columns = adaptiveRange(ox, outputs: outputWidth, extent: width)
                    var sum = 0.0
                    for row in rows {
                        for column in columns { sum = Relaxed.sum(sum, Double(x[row * width + column])) }
                    }
                    y.pointee = Float(sum / Double(rows.count * columns.count))
                    y += 1
                }
            }
        }
    }
}

/// Input indices that adaptive pooling averages into output `index` of `outputs` along an axis
/// of `extent`: `floor(index·extent / outputs) ..< ceil((index + 1)·extent / outputs)`.
@inline(__always)
func adaptiveRange(_ index: Int, outputs: Int, extent: Int) -> Range<Int> {
    (index * extent / outputs) ..< (((index + 1) * extent + outputs - 1) / outputs)
}
