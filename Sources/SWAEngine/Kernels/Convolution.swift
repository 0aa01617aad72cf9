import SWAFormats
// 2-D convolution: im2col + one sgemm per sample and group, samples spread over the cores.

// MARK: - Geometry

/// The shape of a 2-D convolution, as PyTorch's `torch.nn.Conv2d` arguments.
///
/// The weight it expects is OIHW `[outChannels, inChannels / groups, kernelHeight, kernelWidth]`;
/// channel counts must be multiples of `groups`.
public struct Conv2dGeometry: Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideY: Int
    public var strideX: Int
    public var paddingY: Int
    public var paddingX: Int
    public var dilationY: Int
    public var dilationX: Int
    public var groups: Int

    /// A geometry with PyTorch's defaults: stride 1, padding 0, dilation 1, one group.
    public init(inChannels: Int, outChannels: Int, kernelHeight: Int, kernelWidth: Int,
                strideY: Int = 1, strideX: Int = 1, paddingY: Int = 0, paddingX: Int = 0,
                dilationY: Int = 1, dilationX: Int = 1, groups: Int = 1) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.paddingY = paddingY
        self.paddingX = paddingX
        self.dilationY = dilationY
        self.dilationX = dilationX
        self.groups = groups
    }

    /// The output plane size for an input plane of `height × width`:
    /// `floor((H + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1` per axis, as PyTorch
    /// (0 or less when the dilated kernel does not fit in the padded input).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (slidingOutputCount(extent: height, kernel: kernelHeight, stride: strideY, padding: paddingY, dilation: dilationY),
         slidingOutputCount(extent: width, kernel: kernelWidth, stride: strideX, padding: paddingX, dilation: dilationX))
    }

    /// Whether the convolution reads the input plane as is: a 1×1 kernel, stride 1, no padding
    /// (dilation then has no effect), so a sample `[inChannels, h·w]` is already its own
    /// im2col matrix.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideY == 1 && strideX == 1 && paddingY == 0 && paddingX == 0
    }

    /// Whether each group reads one input channel (`groups == inChannels`, more than one):
    /// MobileNet's and EfficientNet's depthwise convolutions.
    public var isDepthwise: Bool { groups > 1 && groups == inChannels }

    /// Stops with a message unless the geometry is one PyTorch accepts for an input plane of
    /// `height × width`; returns the output plane size.
    func validatedOutputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        precondition(inChannels > 0 && outChannels > 0 && groups > 0, "conv2d: channels and groups must be positive")
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "conv2d: \(inChannels) in and \(outChannels) out channels are not both multiples of \(groups) groups")
        precondition(kernelHeight > 0 && kernelWidth > 0 && strideY > 0 && strideX > 0 && dilationY > 0 && dilationX > 0,
                     "conv2d: kernel, stride and dilation must be positive")
        precondition(paddingY >= 0 && paddingX >= 0, "conv2d: padding must not be negative")
        precondition(height > 0 && width > 0, "conv2d: empty input plane \(height)×\(width)")
        let size = outputSize(height: height, width: width)
        precondition(size.height > 0 && size.width > 0,
                     "conv2d: kernel \(kernelHeight)×\(kernelWidth) (dilation \(dilationY)×\(dilationX)) does not fit a padded \(height)×\(width) input")
        return size
    }
}

/// `floor((extent + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`, with a true floor
/// for negative numerators (Swift's `/` truncates towards zero).
func slidingOutputCount(extent: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
    let span = extent + 2 * padding - dilation * (kernel - 1) - 1
    return span >= 0 ? span / stride + 1 : 0
}

// MARK: - Convolution

/// 2-D convolution of an NCHW batch, as `torch.nn.functional.conv2d`.
///
/// `output [batch, outC, oh, ow] = conv(input [batch, inC, height, width],
/// weight [outC, inC / groups, kh, kw]) + bias [outC]`, with `(oh, ow)` from
/// `geometry.outputSize(height:width:)`. Zero padding; group `g` convolves input channels
/// `g·inC/groups ..< (g+1)·inC/groups` into output channels `g·outC/groups ..< (g+1)·outC/groups`.
///
/// Samples are unfolded with im2col (skipped for 1×1, stride-1, unpadded kernels) and
/// multiplied by the weight with one `cblas_sgemm` per group; a depthwise convolution
/// (`groups == inChannels > 1`) goes to the direct `depthwiseConv2d` instead. Small planes are unfolded side by
/// side, several samples to one product (see `samplesPerProduct`), so OpenBLAS packs the weight
/// once for many columns. The products are split into one contiguous chunk per core; a
/// sample's product partners are fixed by its index, so results do not depend on the core
/// count. `output` must not overlap `input`.
public func conv2d(_ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, geometry: Conv2dGeometry,
                   weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
    if geometry.isDepthwise {
        depthwiseConv2d(input, batch: batch, height: height, width: width, geometry: geometry, weight: weight, bias: bias,
                        output: output)
        return
    }
    conv2d(input, batch: batch, height: height, width: width, geometry: geometry, weight: weight, bias: bias,
           output: output, chunks: nil)
}

/// Output columns one sgemm should have at least: below this, packing the weight (which
/// OpenBLAS redoes at every call) costs a large share of the product.
let productColumnTarget = 256

/// How many samples share one matrix product when an output plane has `planeSize` positions:
/// enough to reach `productColumnTarget` columns (1 for planes of 16×16 and more).
func samplesPerProduct(planeSize: Int, batch: Int) -> Int {
    max(1, min(batch, (productColumnTarget + planeSize - 1) / max(1, planeSize)))
}

/// `conv2d` with the products cut into exactly `chunks` parallel chunks (tests force the split),
/// or with nil into as many as the cores and the work call for.
func conv2d(_ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, geometry: Conv2dGeometry,
            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
            chunks: Int?) {
    precondition(batch >= 0, "conv2d: negative batch")
    let (outputHeight, outputWidth) = geometry.validatedOutputSize(height: height, width: width)
    let groups = geometry.groups
    let groupOut = geometry.outChannels / groups
    let planeSize = outputHeight * outputWidth
    let depth = geometry.inChannels / groups * geometry.kernelHeight * geometry.kernelWidth  // sgemm k
    let inputSize = geometry.inChannels * height * width
    let outputSize = geometry.outChannels * planeSize
    let samplesPerProduct = samplesPerProduct(planeSize: planeSize, batch: batch)
    let productCount = (batch + samplesPerProduct - 1) / samplesPerProduct
    let chunks = chunks ?? Parallel.chunkCount(items: productCount, itemCost: samplesPerProduct * outputSize * depth)  // MACs
    // A lone sample of a pointwise convolution is its own column matrix, and its product can
    // go straight to the output; side by side, samples are unfolded and the product scattered.
    let unfolds = !geometry.isPointwise || samplesPerProduct > 1
    let columnCount = unfolds ? depth * groups * planeSize * samplesPerProduct : 0
    let stagingCount = samplesPerProduct > 1 ? outputSize * samplesPerProduct : 0

    // Pointers are not Sendable; each chunk reads shared inputs and writes the outputs of its
    // own samples only, so the chunks never touch the same memory.
    nonisolated(unsafe) let input = input, weight = weight, bias = bias, output = output
    Parallel.forEachChunk(of: productCount, chunks: chunks) { products in
        // Buffers per chunk, reused for all its products.
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: max(1, columnCount))
        let staging = UnsafeMutablePointer<Float>.allocate(capacity: max(1, stagingCount))
        defer {
            columns.deallocate()
            staging.deallocate()
        }
        for product in products {
            let first = product * samplesPerProduct
            let count = min(samplesPerProduct, batch - first)
            let n = count * planeSize                                                       // sgemm n
            let matrix: UnsafePointer<Float>
            if unfolds {
                for index in 0 ..< count {
                    let x = input + (first + index) * inputSize
                    if geometry.isPointwise {
                        for channel in 0 ..< geometry.inChannels {
                            (columns + channel * n + index * planeSize).update(from: x + channel * planeSize, count: planeSize)
                        }
                    } else {
                        im2col(x, channels: geometry.inChannels, height: height, width: width, geometry: geometry,
                               outputHeight: outputHeight, outputWidth: outputWidth, columns: columns + index * planeSize,
                               columnStride: n)
                    }
                }
                matrix = UnsafePointer(columns)
            } else {
                matrix = input + first * inputSize
            }
            // The product lands in the output itself for a lone sample, in staging otherwise.
            let target = count == 1 && samplesPerProduct == 1 ? output + first * outputSize : staging
            for group in 0 ..< groups {
                let groupTarget = target + group * groupOut * n
                if let bias {
                    // sgemm accumulates onto the bias (beta = 1) instead of a second pass.
                    for channel in 0 ..< groupOut {
                        (groupTarget + channel * n).update(repeating: bias[group * groupOut + channel], count: n)
                    }
                }
                sgemm(m: groupOut, n: n, k: depth,
                      a: weight + group * groupOut * depth, lda: depth,
                      b: matrix + group * depth * n, ldb: n,
                      beta: bias == nil ? 0 : 1, c: groupTarget, ldc: n)
            }
            if target == staging {
                // staging is [outC, count · plane]; the output wants [count, outC, plane].
                for index in 0 ..< count {
                    let y = output + (first + index) * outputSize
                    for channel in 0 ..< geometry.outChannels {
                        (y + channel * planeSize).update(from: staging + channel * n + index * planeSize, count: planeSize)
                    }
                }
            }
        }
    }
}
