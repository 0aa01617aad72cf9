import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The CPU kernels of the forward pass against the naive oracle (`ReferenceKernels`) on odd
/// shapes with seeded random data, plus hand-computed cases that pin the oracle itself to
/// PyTorch's definitions. Outputs start as NaN, so an element a kernel forgets to write fails.
@Suite("CPU kernels")
struct KernelTests {
    /// The kernels are called directly here, not through `ForwardPass`, so OpenBLAS is set
    /// up first as the tools set it up.
    init() { BLASRuntime.configureForKernels() }

    // MARK: - Convolution

    @Test("conv2d matches the naive convolution", arguments: ConvCase.all)
    func convolutionMatchesReference(_ c: ConvCase) {
        var generator = SeededGenerator(seed: 0xC0_4D + UInt64(c.name.utf8.count))
        let input = randomFloats(c.batch * c.geometry.inChannels * c.height * c.width, using: &generator)
        let weight = randomFloats(c.geometry.outChannels * c.geometry.inChannels / c.geometry.groups
                                  * c.geometry.kernelHeight * c.geometry.kernelWidth, using: &generator)
        let bias = c.bias ? randomFloats(c.geometry.outChannels, using: &generator) : nil
        let expected = ReferenceKernels.conv2d(input, batch: c.batch, height: c.height, width: c.width,
                                               geometry: c.geometry, weight: weight, bias: bias)
        let actual = runConvolution(c, input: input, weight: weight, bias: bias)
        expectClose(actual, expected, rtol: 1e-4, atol: 1e-5)
    }

    @Test("conv2d gives identical bits whatever the core count")
    func convolutionIsDeterministicAcrossChunking() {
        for c in [ConvCase.parallel, ConvCase.pointwiseParallel] {
            var generator = SeededGenerator(seed: 77)
            let input = randomFloats(c.batch * c.geometry.inChannels * c.height * c.width, using: &generator)
            let weight = randomFloats(c.geometry.outChannels * c.geometry.inChannels * c.geometry.kernelHeight * c.geometry.kernelWidth,
                                      using: &generator)
            let bias = randomFloats(c.geometry.outChannels, using: &generator)
            let whole = runConvolution(c, input: input, weight: weight, bias: bias)
            // Every forced split of the products into chunks, i.e. any number of cores.
            let samples = samplesPerProduct(planeSize: c.height * c.width, batch: c.batch)
            #expect(samples > 1, "\(c.name): small planes share products")
            let products = (c.batch + samples - 1) / samples
            for chunks in 1 ... products {
                let split = runConvolution(c, input: input, weight: weight, bias: bias, chunks: chunks)
                #expect(firstDifference(whole, split, bitwise: true) == nil, "\(c.name): \(chunks) chunks")
            }
            // Sample by sample, each in a product of its own: the same up to the last bits, which
            // may depend on the width of the product the sample was in.
            let sampleInput = c.geometry.inChannels * c.height * c.width
            var bySample: [Float] = []
            for sample in 0 ..< c.batch {
                let one = ConvCase(c.name, batch: 1, height: c.height, width: c.width, c.geometry, bias: true)
                bySample += runConvolution(one, input: Array(input[sample * sampleInput ..< (sample + 1) * sampleInput]),
                                           weight: weight, bias: bias)
            }
            expectClose(whole, bySample, rtol: 1e-5, atol: 1e-5)
            // The case must be big enough for the public entry point to use every core.
            let g = c.geometry
            let macsPerProduct = samples * whole.count / c.batch * g.inChannels / g.groups * g.kernelHeight * g.kernelWidth
            #expect(Parallel.chunkCount(items: products, itemCost: macsPerProduct) == min(products, Parallel.coreCount))
        }
    }

    @Test("Output sizes follow PyTorch's formula")
    func outputSizes() {
        func conv(_ k: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1, extent: Int) -> Int {
            Conv2dGeometry(inChannels: 1, outChannels: 1, kernelHeight: k, kernelWidth: 1, strideY: stride,
                           paddingY: padding, dilationY: dilation).outputSize(height: extent, width: 1).height
        }
        #expect(conv(3, padding: 1, extent: 32) == 32)
        #expect(conv(3, stride: 2, padding: 1, extent: 32) == 16)
        #expect(conv(3, stride: 2, padding: 1, extent: 7) == 4)
        #expect(conv(1, stride: 2, extent: 7) == 4)
        #expect(conv(3, padding: 2, dilation: 2, extent: 7) == 7)
        #expect(conv(5, stride: 2, padding: 2, extent: 5) == 3)
        #expect(conv(5, extent: 4) == 0, "kernel larger than the input")
        #expect(conv(3, stride: 2, extent: 1) == 0, "negative numerator floors, it does not truncate to 1")
        let wide = Conv2dGeometry(inChannels: 1, outChannels: 1, kernelHeight: 5, kernelWidth: 3, strideY: 2, strideX: 1,
                                  paddingY: 0, paddingX: 1)
        #expect(wide.outputSize(height: 9, width: 7) == (3, 7))
        #expect(Pool2dGeometry(kernelHeight: 2, kernelWidth: 2).outputSize(height: 7, width: 5) == (3, 2))
        #expect(Pool2dGeometry(kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, paddingY: 1, paddingX: 1)
            .outputSize(height: 32, width: 7) == (16, 4))
    }

    /// Guards the oracle: a 3×3 image 1...9 with a 2×2 kernel of ones, unpadded and padded.
    @Test("The convolution oracle agrees with hand-computed sums")
    func convolutionOracleByHand() {
        let image: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let ones: [Float] = [1, 1, 1, 1]
        let valid = Conv2dGeometry(inChannels: 1, outChannels: 1, kernelHeight: 2, kernelWidth: 2)
        #expect(ReferenceKernels.conv2d(image, batch: 1, height: 3, width: 3, geometry: valid, weight: ones, bias: [0.5])
            == [12.5, 16.5, 24.5, 28.5])
        let padded = Conv2dGeometry(inChannels: 1, outChannels: 1, kernelHeight: 2, kernelWidth: 2, strideY: 2, strideX: 2,
                                    paddingY: 1, paddingX: 1)
        #expect(ReferenceKernels.conv2d(image, batch: 1, height: 3, width: 3, geometry: padded, weight: ones, bias: nil)
            == [1, 5, 11, 28])
        let dilated = Conv2dGeometry(inChannels: 1, outChannels: 1, kernelHeight: 2, kernelWidth: 2, dilationY: 2, dilationX: 2)
        #expect(ReferenceKernels.conv2d(image, batch: 1, height: 3, width: 3, geometry: dilated, weight: [1, 10, 100, 1000], bias: nil)
            == [1 + 30 + 700 + 9000])
        #expect(runConvolution(ConvCase("by hand", batch: 1, height: 3, width: 3, padded, bias: false),
                               input: image, weight: ones, bias: nil) == [1, 5, 11, 28])
    }

    // MARK: - Linear

    @Test("linear matches the naive product", arguments: [(3, 37, 11, true), (3, 37, 11, false), (1, 5, 1, true), (130, 64, 10, true)])
    func linearMatchesReference(batch: Int, inFeatures: Int, outFeatures: Int, hasBias: Bool) {
        var generator = SeededGenerator(seed: UInt64(batch * 1000 + inFeatures))
        let input = randomFloats(batch * inFeatures, using: &generator)
        let weight = randomFloats(outFeatures * inFeatures, using: &generator)
        let bias = hasBias ? randomFloats(outFeatures, using: &generator) : nil
        var output = [Float](repeating: .nan, count: batch * outFeatures)
        withPointers(input, weight, bias) { x, w, b in
            output.withUnsafeMutableBufferPointer { y in
                linear(x, batch: batch, inFeatures: inFeatures, outFeatures: outFeatures, weight: w, bias: b, output: y.baseAddress!)
            }
        }
        let expected = ReferenceKernels.linear(input, batch: batch, inFeatures: inFeatures, outFeatures: outFeatures,
                                               weight: weight, bias: bias)
        expectClose(output, expected, rtol: 1e-4, atol: 1e-5)
    }

    // MARK: - Batch norm

    @Test("Training batch norm: statistics and output match the Double oracle", arguments: BatchNormCase.all)
    func batchNormTrainingMatchesReference(_ c: BatchNormCase) {
        var generator = SeededGenerator(seed: UInt64(c.batch * 100 + c.channels * 10 + c.spatial))
        let input = randomFloats(c.count, using: &generator).map { $0 * c.scale + c.offset }
        let weight = c.affine ? randomFloats(c.channels, using: &generator) : nil
        let bias = c.affine ? randomFloats(c.channels, using: &generator) : nil
        var output = [Float](repeating: .nan, count: c.count)
        var statistics: (mean: [Double], unbiasedVariance: [Double]) = ([], [])
        withPointer(input) { x in
            withPointer(weight) { w in
                withPointer(bias) { b in
                    output.withUnsafeMutableBufferPointer { y in
                        statistics = batchNormTraining(x!, batch: c.batch, channels: c.channels, spatial: c.spatial, eps: 1e-5,
                                                       weight: w, bias: b, output: y.baseAddress!)
                    }
                }
            }
        }
        let expected = ReferenceKernels.batchNormTraining(input, batch: c.batch, channels: c.channels, spatial: c.spatial,
                                                          eps: 1e-5, weight: weight, bias: bias)
        expectClose(statistics.mean, expected.mean, rtol: 1e-10, atol: 1e-12 * Double(1 + abs(c.offset)))
        expectClose(statistics.unbiasedVariance, expected.unbiasedVariance, rtol: 1e-9)
        expectClose(output, expected.output, rtol: 1e-4, atol: 1e-5)

        if !c.affine {
            // Normalised output: per channel, mean 0 and biased variance var / (var + eps), which
            // is 1 unless eps is not negligible against var (the tiny-variance case).
            let outputStatistics = ReferenceKernels.batchNormTraining(output, batch: c.batch, channels: c.channels,
                                                                      spatial: c.spatial, eps: 0, weight: nil, bias: nil)
            for channel in 0 ..< c.channels {
                let variance = expected.biasedVariance[channel]
                #expect(abs(outputStatistics.mean[channel]) < 1e-5, "channel \(channel) mean")
                #expect(abs(outputStatistics.biasedVariance[channel] - variance / (variance + 1e-5)) < 1e-4, "channel \(channel) variance")
                if variance > 1e-2 {
                    #expect(abs(outputStatistics.biasedVariance[channel] - 1) < 1e-3, "channel \(channel) variance ≈ 1")
                }
            }
        }
    }

    @Test("Training batch norm returns the unbiased variance, m/(m-1) times the biased one")
    func batchNormTrainingBesselCorrection() {
        // One channel, values 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3.
        let input: [Float] = [1, 2, 3, 4]
        var output = [Float](repeating: .nan, count: 4)
        let statistics = input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                batchNormTraining(x.baseAddress!, batch: 2, channels: 1, spatial: 2, eps: 0, weight: nil, bias: nil, output: y.baseAddress!)
            }
        }
        #expect(statistics.mean == [2.5])
        #expect(abs(statistics.unbiasedVariance[0] - 5.0 / 3) < 1e-15)
        expectClose(output, input.map { Float((Double($0) - 2.5) / 1.25.squareRoot()) }, rtol: 1e-6)
    }

    @Test("Batch norm works in place")
    func batchNormInPlace() {
        var generator = SeededGenerator(seed: 5)
        let input = randomFloats(3 * 4 * 6, using: &generator)
        let runningMean = randomFloats(4, using: &generator)
        let runningVariance = randomFloats(4, using: &generator).map { $0 * $0 + 0.1 }
        var trained = input
        let statistics = trained.withUnsafeMutableBufferPointer { x in
            batchNormTraining(x.baseAddress!, batch: 3, channels: 4, spatial: 6, eps: 1e-5, weight: nil, bias: nil, output: x.baseAddress!)
        }
        let expected = ReferenceKernels.batchNormTraining(input, batch: 3, channels: 4, spatial: 6, eps: 1e-5, weight: nil, bias: nil)
        expectClose(trained, expected.output, rtol: 1e-4, atol: 1e-5)
        expectClose(statistics.unbiasedVariance, expected.unbiasedVariance, rtol: 1e-9)

        var inferred = input
        withPointers(runningMean, runningVariance, nil) { mean, variance, _ in
            inferred.withUnsafeMutableBufferPointer { x in
                batchNormInference(x.baseAddress!, batch: 3, channels: 4, spatial: 6, eps: 1e-5, runningMean: mean,
                                   runningVariance: variance, weight: nil, bias: nil, output: x.baseAddress!)
            }
        }
        expectClose(inferred, ReferenceKernels.normalize(input, batch: 3, channels: 4, spatial: 6, mean: runningMean.map(Double.init),
                                                          variance: runningVariance.map(Double.init), eps: 1e-5, weight: nil, bias: nil),
                    rtol: 1e-4, atol: 1e-5)
    }


    @Test("Batch norm with a fused ReLU equals ReLU after batch norm, bit for bit")
    func batchNormWithFusedReLU() {
        var generator = SeededGenerator(seed: 9)
        let (batch, channels, spatial) = (3, 5, 7)
        let count = batch * channels * spatial
        var input = randomFloats(count, using: &generator)
        input[4] = .nan                                   // NaN passes through a ReLU, as in PyTorch
        let weight = randomFloats(channels, using: &generator), bias = randomFloats(channels, using: &generator)
        let runningMean = randomFloats(channels, using: &generator)
        let runningVariance = randomFloats(channels, using: &generator).map { $0 * $0 + 0.1 }
        for training in [true, false] {
            func normalized(fusingReLU fuse: Bool) -> [Float] {
                var output = [Float](repeating: .nan, count: count)
                withPointers(input, weight, bias) { x, w, b in
                    withPointers(runningMean, runningVariance, nil) { mean, variance, _ in
                        output.withUnsafeMutableBufferPointer { y in
                            if training {
                                _ = batchNormTraining(x, batch: batch, channels: channels, spatial: spatial, eps: 1e-5, weight: w, bias: b,
                                                      output: y.baseAddress!, relu: fuse)
                            } else {
                                batchNormInference(x, batch: batch, channels: channels, spatial: spatial, eps: 1e-5, runningMean: mean,
                                                   runningVariance: variance, weight: w, bias: b, output: y.baseAddress!, relu: fuse)
                            }
                            if !fuse { relu(y.baseAddress!, count: count, output: y.baseAddress!) }
                        }
                    }
                }
                return output
            }
            let fused = normalized(fusingReLU: true), separate = normalized(fusingReLU: false)
            #expect(firstDifference(fused, separate, bitwise: true) == nil, "training: \(training)")
            #expect(fused.contains { $0 == 0 } && fused.contains { $0 > 0 }, "the ReLU clamps some values, not all")
        }
    }
    @Test("Inference batch norm uses the running statistics", arguments: BatchNormCase.all)
    func batchNormInferenceMatchesReference(_ c: BatchNormCase) {
        var generator = SeededGenerator(seed: UInt64(c.count))
        let input = randomFloats(c.count, using: &generator).map { $0 * c.scale + c.offset }
        let runningMean = randomFloats(c.channels, using: &generator).map { $0 + c.offset }
        let runningVariance = randomFloats(c.channels, using: &generator).map { $0 * $0 * c.scale * c.scale + 0.01 }
        let weight = c.affine ? randomFloats(c.channels, using: &generator) : nil
        let bias = c.affine ? randomFloats(c.channels, using: &generator) : nil
        var output = [Float](repeating: .nan, count: c.count)
        withPointer(weight) { w in
            withPointer(bias) { b in
                withPointers(input, runningMean, runningVariance) { x, mean, variance in
                    output.withUnsafeMutableBufferPointer { y in
                        batchNormInference(x, batch: c.batch, channels: c.channels, spatial: c.spatial, eps: 1e-3,
                                           runningMean: mean, runningVariance: variance!, weight: w, bias: b, output: y.baseAddress!)
                    }
                }
            }
        }
        let expected = ReferenceKernels.normalize(input, batch: c.batch, channels: c.channels, spatial: c.spatial,
                                                  mean: runningMean.map(Double.init), variance: runningVariance.map(Double.init),
                                                  eps: 1e-3, weight: weight, bias: bias)
        expectClose(output, expected, rtol: 1e-4, atol: 1e-5)
    }

    @Test("Training batch norm needs more than one value per channel")
    func batchNormTrainingRejectsSingleValue() async {
        await #expect(processExitsWith: .failure) {
            let input: [Float] = [1, 2, 3]
            var output = [Float](repeating: 0, count: 3)
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    _ = batchNormTraining(x.baseAddress!, batch: 1, channels: 3, spatial: 1, eps: 1e-5, weight: nil, bias: nil,
                                          output: y.baseAddress!)
                }
            }
        }
    }

    // MARK: - Pools

    @Test("max_pool2d and avg_pool2d match the naive pools", arguments: PoolCase.all)
    func poolsMatchReference(_ c: PoolCase) {
        var generator = SeededGenerator(seed: UInt64(c.height * 31 + c.width))
        // All negative, so a padding read as 0 instead of −∞ would change the max.
        let input = randomFloats(c.count, using: &generator).map { $0 - 2 }
        for average in [false, true] {
            var output = [Float](repeating: .nan, count: c.outputCount)
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    (average ? avgPool2d : maxPool2d)(x.baseAddress!, c.batch, c.channels, c.height, c.width, c.geometry, y.baseAddress!)
                }
            }
            let expected = ReferenceKernels.pool2d(input, batch: c.batch, channels: c.channels, height: c.height, width: c.width,
                                                   geometry: c.geometry, average: average)
            if average {
                expectClose(output, expected, rtol: 1e-5, atol: 1e-6)
            } else {
                #expect(firstDifference(output, expected) == nil, "max pool must pick an input value exactly")
            }
        }
    }

    /// Pins PyTorch's semantics independently of the oracle: count_include_pad=True divides by
    /// the full window; max pool padding never wins; a NaN wins.
    @Test("Pools by hand: padded average counts the padding, NaN wins the max")
    func poolsByHand() {
        let ones: [Float] = [1, 1, 1, 1]
        let window = Pool2dGeometry(kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, paddingY: 1, paddingX: 1)
        #expect(pool(ones, height: 2, width: 2, window, average: true) == Array(repeating: Float(4) / 9, count: 4))
        #expect(ReferenceKernels.pool2d(ones, batch: 1, channels: 1, height: 2, width: 2, geometry: window, average: true)
            == Array(repeating: Float(4) / 9, count: 4))
        #expect(pool([-1, -2, -3, -4], height: 2, width: 2, window, average: false) == [-1, -1, -1, -1])
        let halves = Pool2dGeometry(kernelHeight: 1, kernelWidth: 2)
        let withNaN = pool([1, .nan, 3, 2], height: 1, width: 4, halves, average: false)
        #expect(withNaN[0].isNaN && withNaN[1] == 3)
    }

    @Test("Global average pool is the mean of every plane", arguments: [(1, 1, 1, 1), (3, 5, 7, 5), (4, 16, 8, 8), (2, 64, 31, 17)])
    func globalAveragePoolMatchesReference(batch: Int, channels: Int, height: Int, width: Int) {
        var generator = SeededGenerator(seed: UInt64(channels * height))
        let input = randomFloats(batch * channels * height * width, using: &generator).map { $0 + 0.5 }
        var output = [Float](repeating: .nan, count: batch * channels)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                globalAvgPool2d(x.baseAddress!, batch: batch, channels: channels, height: height, width: width, output: y.baseAddress!)
            }
        }
        expectClose(output, ReferenceKernels.globalAvgPool2d(input, batch: batch, channels: channels, height: height, width: width),
                    rtol: 1e-6, atol: 1e-7)
    }

    // MARK: - Elementwise

    @Test("relu and add, out of place and in place", arguments: [1, 13, 100_003])
    func elementwise(count: Int) {
        var generator = SeededGenerator(seed: UInt64(count))
        var a = randomFloats(count, using: &generator)
        let b = randomFloats(count, using: &generator)
        if count > 2 { a[1] = .nan; a[2] = -0.0 }
        let expectedRelu = a.map { $0.isNaN ? Float.nan : ($0 < 0 ? 0 : $0) }
        let expectedSum = zip(a, b).map { $0 + $1 }

        var output = [Float](repeating: .nan, count: count)
        a.withUnsafeBufferPointer { x in output.withUnsafeMutableBufferPointer { relu(x.baseAddress!, count: count, output: $0.baseAddress!) } }
        #expect(firstDifference(output, expectedRelu) == nil)
        var inPlace = a
        inPlace.withUnsafeMutableBufferPointer { relu($0.baseAddress!, count: count, output: $0.baseAddress!) }
        #expect(firstDifference(inPlace, expectedRelu) == nil, "in place")
        #expect(!inPlace.contains { $0 < 0 }, "no negative value survives")

        withPointers(a, b, nil) { x, y, _ in
            output.withUnsafeMutableBufferPointer { add(x, y, count: count, output: $0.baseAddress!) }
        }
        #expect(firstDifference(output, expectedSum) == nil)
        var accumulator = a
        b.withUnsafeBufferPointer { y in
            accumulator.withUnsafeMutableBufferPointer { add($0.baseAddress!, y.baseAddress!, count: count, output: $0.baseAddress!) }
        }
        #expect(firstDifference(accumulator, expectedSum) == nil, "output == a")
        var second = b
        a.withUnsafeBufferPointer { x in
            second.withUnsafeMutableBufferPointer { add(x.baseAddress!, $0.baseAddress!, count: count, output: $0.baseAddress!) }
        }
        #expect(firstDifference(second, expectedSum) == nil, "output == b")
    }
}

// MARK: - Cases

struct ConvCase: Sendable, CustomTestStringConvertible {
    var name: String
    var batch, height, width: Int
    var geometry: Conv2dGeometry
    var bias: Bool

    init(_ name: String, batch: Int, height: Int = 7, width: Int = 5, _ geometry: Conv2dGeometry, bias: Bool) {
        self.name = name
        self.batch = batch
        self.height = height
        self.width = width
        self.geometry = geometry
        self.bias = bias
    }

    var testDescription: String { name }

    static let parallel = ConvCase("3x3 pad 1, 8->8, 12x20, batch 5", batch: 5, height: 12, width: 20,
                                   .init(inChannels: 8, outChannels: 8, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1),
                                   bias: true)
    static let pointwiseParallel = ConvCase("1x1, 16->12, 16x12, batch 4", batch: 4, height: 16, width: 12,
                                            .init(inChannels: 16, outChannels: 12, kernelHeight: 1, kernelWidth: 1), bias: true)

    static let all: [ConvCase] = [
        .init("3x3 pad 1, batch 3", batch: 3, .init(inChannels: 4, outChannels: 6, kernelHeight: 3, kernelWidth: 3,
                                                     paddingY: 1, paddingX: 1), bias: true),
        .init("3x3 stride 2 pad 1, batch 1", batch: 1, .init(inChannels: 3, outChannels: 5, kernelHeight: 3, kernelWidth: 3,
                                                              strideY: 2, strideX: 2, paddingY: 1, paddingX: 1), bias: false),
        .init("3x3 pad 2 dilation 2", batch: 3, .init(inChannels: 3, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
                                                       paddingY: 2, paddingX: 2, dilationY: 2, dilationX: 2), bias: true),
        .init("3x3 stride 3 pad 2 (windows skip columns)", batch: 2, height: 11, width: 8,
              .init(inChannels: 2, outChannels: 3, kernelHeight: 3, kernelWidth: 3, strideY: 3, strideX: 3, paddingY: 2, paddingX: 2),
              bias: false),
        .init("5x3 stride 2x1 pad 2x1", batch: 3, height: 9, width: 7,
              .init(inChannels: 3, outChannels: 4, kernelHeight: 5, kernelWidth: 3, strideY: 2, strideX: 1, paddingY: 2, paddingX: 1),
              bias: true),
        .init("3x2 stride 1x2 pad 0x2 dilation 1x2", batch: 2,
              .init(inChannels: 2, outChannels: 3, kernelHeight: 3, kernelWidth: 2, strideY: 1, strideX: 2, paddingY: 0, paddingX: 2,
                    dilationY: 1, dilationX: 2), bias: true),
        .init("5x5 pad 2 on a 3x4 image", batch: 2, height: 3, width: 4,
              .init(inChannels: 2, outChannels: 2, kernelHeight: 5, kernelWidth: 5, paddingY: 2, paddingX: 2), bias: true),
        .init("groups 2", batch: 3, .init(inChannels: 4, outChannels: 6, kernelHeight: 3, kernelWidth: 3,
                                           paddingY: 1, paddingX: 1, groups: 2), bias: true),
        .init("depthwise stride 2", batch: 3, .init(inChannels: 5, outChannels: 5, kernelHeight: 3, kernelWidth: 3,
                                                     strideY: 2, strideX: 2, paddingY: 1, paddingX: 1, groups: 5), bias: true),
        .init("depthwise multiplier 2, no bias", batch: 1, .init(inChannels: 3, outChannels: 6, kernelHeight: 3, kernelWidth: 3,
                                                                  paddingY: 1, paddingX: 1, groups: 3), bias: false),
        // Depthwise convolutions run the direct kernel: odd planes, wide rows (the vector path),
        // strides, dilation, padding per axis.
        .init("depthwise 3x3 pad 1 on 9x21", batch: 2, height: 9, width: 21,
              .init(inChannels: 7, outChannels: 7, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1, groups: 7), bias: true),
        .init("depthwise 5x5 stride 2 pad 2 on 13x11", batch: 3, height: 13, width: 11,
              .init(inChannels: 4, outChannels: 4, kernelHeight: 5, kernelWidth: 5, strideY: 2, strideX: 2, paddingY: 2, paddingX: 2,
                    groups: 4), bias: false),
        .init("depthwise 3x5 stride 1x2 pad 0x2 dilation 2x1", batch: 2, height: 11, width: 9,
              .init(inChannels: 3, outChannels: 3, kernelHeight: 3, kernelWidth: 5, strideY: 1, strideX: 2, paddingY: 0, paddingX: 2,
                    dilationY: 2, dilationX: 1, groups: 3), bias: true),
        .init("grouped 3x3 stride 2, 4 groups of 3->2", batch: 3, height: 9, width: 10,
              .init(inChannels: 12, outChannels: 8, kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, paddingY: 1, paddingX: 1,
                    groups: 4), bias: false),
        .init("1x1 stride 1 (no im2col)", batch: 3, .init(inChannels: 5, outChannels: 7, kernelHeight: 1, kernelWidth: 1), bias: true),
        .init("1x1 stride 1 groups 2 (no im2col)", batch: 3, .init(inChannels: 4, outChannels: 6, kernelHeight: 1, kernelWidth: 1,
                                                                    groups: 2), bias: false),
        .init("1x1 stride 1 dilation 3 (no im2col)", batch: 1, .init(inChannels: 3, outChannels: 2, kernelHeight: 1, kernelWidth: 1,
                                                                      dilationY: 3, dilationX: 3), bias: true),
        .init("1x1 stride 2", batch: 3, .init(inChannels: 5, outChannels: 7, kernelHeight: 1, kernelWidth: 1,
                                               strideY: 2, strideX: 2), bias: false),
        .init("1x1 pad 1", batch: 1, .init(inChannels: 2, outChannels: 3, kernelHeight: 1, kernelWidth: 1,
                                            paddingY: 1, paddingX: 1), bias: true),
        // Output rows of 16 or more take im2col's wide path (copies instead of element loops).
        .init("3x3 pad 1 on 9x21 (wide rows)", batch: 2, height: 9, width: 21,
              .init(inChannels: 3, outChannels: 4, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1), bias: true),
        .init("3x3 stride 2 pad 2 dilation 2 on 7x40 (wide rows)", batch: 2, height: 7, width: 40,
              .init(inChannels: 2, outChannels: 3, kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, paddingY: 2, paddingX: 2,
                    dilationY: 2, dilationX: 2), bias: false),
        .init("5x3 pad 2x1 on 5x19 (wide rows)", batch: 3, height: 5, width: 19,
              .init(inChannels: 2, outChannels: 2, kernelHeight: 5, kernelWidth: 3, paddingY: 2, paddingX: 1), bias: true),
        .init("1x1 stride 2 on 6x34 (wide rows)", batch: 1, height: 6, width: 34,
              .init(inChannels: 3, outChannels: 2, kernelHeight: 1, kernelWidth: 1, strideY: 2, strideX: 2), bias: true),
        // Planes of 256 outputs or more: one sample per product, straight into the output.
        .init("3x3 pad 1 on 16x17 (a product per sample)", batch: 2, height: 16, width: 17,
              .init(inChannels: 3, outChannels: 5, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1), bias: true),
        .init("1x1 on 16x16 (the input is the column matrix)", batch: 2, height: 16, width: 16,
              .init(inChannels: 3, outChannels: 4, kernelHeight: 1, kernelWidth: 1), bias: false),
        parallel,
        pointwiseParallel,
    ]
}

struct BatchNormCase: Sendable, CustomTestStringConvertible {
    var batch, channels, spatial: Int
    var affine: Bool
    /// Inputs are uniform in `offset ± scale`; a large offset tests the variance for cancellation.
    var offset: Float = 0
    var scale: Float = 1

    var count: Int { batch * channels * spatial }
    var testDescription: String {
        "[\(batch), \(channels), \(spatial)]\(affine ? " affine" : "")\(offset != 0 ? " around \(offset)" : "")"
    }

    static let all: [BatchNormCase] = [
        .init(batch: 3, channels: 5, spatial: 35, affine: false),
        .init(batch: 3, channels: 5, spatial: 35, affine: true, offset: 3, scale: 2),
        .init(batch: 6, channels: 4, spatial: 1, affine: false),
        .init(batch: 7, channels: 3, spatial: 1, affine: true),
        .init(batch: 1, channels: 2, spatial: 2, affine: false),
        .init(batch: 4, channels: 8, spatial: 32 * 32, affine: false),
        .init(batch: 4, channels: 8, spatial: 16 * 16, affine: true, offset: -1.5, scale: 0.25),
        .init(batch: 5, channels: 3, spatial: 9, affine: false, offset: 1000, scale: 0.01),
    ]
}

struct PoolCase: Sendable, CustomTestStringConvertible {
    var batch, channels, height, width: Int
    var geometry: Pool2dGeometry

    var count: Int { batch * channels * height * width }
    var outputCount: Int {
        let size = geometry.outputSize(height: height, width: width)
        return batch * channels * size.height * size.width
    }
    var testDescription: String {
        let g = geometry
        return "\(height)x\(width) window \(g.kernelHeight)x\(g.kernelWidth) stride \(g.strideY)x\(g.strideX) pad \(g.paddingY)x\(g.paddingX)"
            + (g.ceilMode ? " ceil" : "") + (g.countIncludePad ? "" : " exclude pad")
    }

    static let all: [PoolCase] = [
        .init(batch: 3, channels: 2, height: 7, width: 5, geometry: .init(kernelHeight: 2, kernelWidth: 2)),
        .init(batch: 3, channels: 2, height: 7, width: 5, geometry: .init(kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2,
                                                                           paddingY: 1, paddingX: 1)),
        .init(batch: 2, channels: 3, height: 8, width: 9, geometry: .init(kernelHeight: 3, kernelWidth: 2, strideY: 1, strideX: 3,
                                                                           paddingY: 1, paddingX: 1)),
        .init(batch: 1, channels: 1, height: 5, width: 5, geometry: .init(kernelHeight: 5, kernelWidth: 4, strideY: 2, strideX: 1,
                                                                           paddingY: 2, paddingX: 2)),
        .init(batch: 4, channels: 16, height: 32, width: 30, geometry: .init(kernelHeight: 2, kernelWidth: 2)),
        // ceil_mode: a last window that overhangs the image (and its padding); count_include_pad false.
        .init(batch: 2, channels: 3, height: 7, width: 8, geometry: .init(kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2,
                                                                           ceilMode: true)),
        .init(batch: 2, channels: 2, height: 9, width: 6, geometry: .init(kernelHeight: 3, kernelWidth: 2, strideY: 2, strideX: 2,
                                                                           paddingY: 1, paddingX: 1, ceilMode: true)),
        .init(batch: 3, channels: 2, height: 7, width: 5, geometry: .init(kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2,
                                                                           paddingY: 1, paddingX: 1, countIncludePad: false)),
        .init(batch: 1, channels: 4, height: 10, width: 7, geometry: .init(kernelHeight: 4, kernelWidth: 3, strideY: 3, strideX: 2,
                                                                            paddingY: 2, paddingX: 1, ceilMode: true,
                                                                            countIncludePad: false)),
    ]
}

// MARK: - Helpers

/// Uniform floats in [-1, 1).
private func randomFloats(_ count: Int, using generator: inout SeededGenerator) -> [Float] {
    (0 ..< count).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
}

/// Calls `body` with base addresses of two arrays and of an optional third (nil stays nil).
private func withPointers<R>(_ a: [Float], _ b: [Float], _ c: [Float]?,
                             _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?) -> R) -> R {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            if let c {
                c.withUnsafeBufferPointer { c in body(a.baseAddress!, b.baseAddress!, c.baseAddress!) }
            } else {
                body(a.baseAddress!, b.baseAddress!, nil)
            }
        }
    }
}

/// Calls `body` with the base address of `array`, or nil.
private func withPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    if let array { array.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
}

/// `conv2d` on arrays: through the public entry point, or with the batch forced into `chunks`.
private func runConvolution(_ c: ConvCase, input: [Float], weight: [Float], bias: [Float]?, chunks: Int? = nil) -> [Float] {
    let size = c.geometry.outputSize(height: c.height, width: c.width)
    var output = [Float](repeating: .nan, count: c.batch * c.geometry.outChannels * size.height * size.width)
    withPointers(input, weight, bias) { x, w, b in
        output.withUnsafeMutableBufferPointer { y in
            if let chunks {
                conv2d(x, batch: c.batch, height: c.height, width: c.width, geometry: c.geometry, weight: w, bias: b,
                       output: y.baseAddress!, chunks: chunks)
            } else {
                conv2d(x, batch: c.batch, height: c.height, width: c.width, geometry: c.geometry, weight: w, bias: b,
                       output: y.baseAddress!)
            }
        }
    }
    return output
}

/// One plane through `maxPool2d` or `avgPool2d`.
private func pool(_ input: [Float], height: Int, width: Int, _ geometry: Pool2dGeometry, average: Bool) -> [Float] {
    let size = geometry.outputSize(height: height, width: width)
    var output = [Float](repeating: .nan, count: size.height * size.width)
    input.withUnsafeBufferPointer { x in
        output.withUnsafeMutableBufferPointer { y in
            (average ? avgPool2d : maxPool2d)(x.baseAddress!, 1, 1, height, width, geometry, y.baseAddress!)
        }
    }
    return output
}

/// The first index where `a` and `b` differ (NaN matching NaN; with `bitwise`, bit patterns
/// must match), described with both values, or nil when they are equal.
private func firstDifference(_ a: [Float], _ b: [Float], bitwise: Bool = false) -> String? {
    guard a.count == b.count else { return "\(a.count) elements vs \(b.count)" }
    let index = a.indices.first { i in
        bitwise ? a[i].bitPattern != b[i].bitPattern : !(a[i] == b[i] || (a[i].isNaN && b[i].isNaN))
    }
    return index.map { "element \($0): \(a[$0]) vs \(b[$0])" }
}

/// Expects `|actual − expected| <= atol + rtol·|expected|` everywhere (numpy's allclose; NaN
/// never passes), reporting the worst element.
private func expectClose<T: BinaryFloatingPoint>(_ actual: [T], _ expected: [T], rtol: Double, atol: Double = 0,
                                                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "element count", sourceLocation: sourceLocation)
    var failures = 0, worst = (index: -1, excess: 0.0)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        let difference = abs(Double(a) - Double(e)), bound = atol + rtol * abs(Double(e))
        if !(difference <= bound) {
            failures += 1
            let excess = difference.isNaN ? .infinity : difference - bound
            if excess >= worst.excess { worst = (index, excess) }
        }
    }
    let detail = worst.index >= 0 ? "\(actual[worst.index]) vs \(expected[worst.index])" : "-"
    #expect(failures == 0, "\(failures) of \(expected.count) elements differ; worst at \(worst.index): \(detail)",
            sourceLocation: sourceLocation)
}
