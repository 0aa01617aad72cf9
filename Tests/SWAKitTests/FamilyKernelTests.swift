import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
import SWATestSupport

/// The kernels of graph version 2 (activations, broadcasting add/mul, cat, adaptive pool, the
/// direct depthwise convolution) against the naive oracles on odd shapes, and pinned by hand
/// where PyTorch's definition is easy to get wrong.
@Suite("Kernels of torchvision's families")
struct FamilyKernelTests {
    init() { BLASRuntime.configureForKernels() }

    static let activations: [Activation] = [
        .hardtanh(min: 0, max: 6), .hardtanh(min: -0.5, max: 2), .hardswish, .hardsigmoid, .silu, .sigmoid,
        .gelu(tanhApproximation: false), .gelu(tanhApproximation: true), .tanh,
    ]

    @Test("Activations match their definitions, in place too", arguments: activations)
    func activationsMatchReference(_ activation: Activation) {
        var generator = SeededGenerator(seed: 41)
        // Wide enough for the clamps' corners (±3, 0, 6) and the tails of the smooth ones.
        let input = (0 ..< 40_001).map { _ in Float.random(in: -9 ..< 9, using: &generator) } + [0, -3, 3, 6, -6, 30, -30]
        let expected = input.map { ReferenceKernels.activation(activation, $0) }
        var output = [Float](repeating: .nan, count: input.count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in activate(activation, x.baseAddress!, count: input.count, output: y.baseAddress!) }
        }
        expectClose(output, expected, rtol: 2e-6, atol: 2e-7)
        var inPlace = input
        inPlace.withUnsafeMutableBufferPointer { y in activate(activation, y.baseAddress!, count: input.count, output: y.baseAddress!) }
        #expect(inPlace.map(\.bitPattern) == output.map(\.bitPattern))
    }

    @Test("Activations by hand: relu6 clamps at 6, hardswish(-3) = 0 and hardswish(3) = 3, hardsigmoid(0) = 1/2")
    func activationsByHand() {
        func one(_ activation: Activation, _ x: Float) -> Float {
            var y: Float = .nan
            withUnsafePointer(to: x) { x in activate(activation, x, count: 1, output: &y) }
            return y
        }
        #expect(one(.hardtanh(min: 0, max: 6), 7.5) == 6)
        #expect(one(.hardtanh(min: 0, max: 6), -1) == 0)
        #expect(one(.hardswish, -3) == 0 && one(.hardswish, 3) == 3 && one(.hardswish, 1) == Float(4) / 6)
        #expect(one(.hardsigmoid, 0) == 0.5 && one(.hardsigmoid, 4) == 1)
        #expect(one(.sigmoid, 0) == 0.5 && one(.silu, 0) == 0 && one(.tanh, 0) == 0)
        #expect(abs(one(.gelu(tanhApproximation: false), 1) - 0.8413447) < 1e-6)
        #expect(abs(one(.gelu(tanhApproximation: true), 1) - 0.8411920) < 1e-6)
    }

    @Test("vectorExp is within 2 ulp of exp over the range SiLU and sigmoid use")
    func vectorExpIsAccurate() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(vectorExp(x)) - exact) / exact)
            x += 0.00731
        }
        #expect(worst < 2.5e-7, "worst relative error \(worst)")
        #expect(vectorExp(0) == 1)
        #expect(vectorExp(-1000) > 0 && vectorExp(-1000) < 1e-37 && vectorExp(1000).isFinite)
    }

    static let broadcastCases: [([Int], [Int])] = [
        ([5, 7, 9], [5, 7, 9]), ([5, 7, 9], [5, 1, 1]), ([5, 1, 1], [5, 7, 9]), ([3, 4, 5], [1, 4, 1]),
        ([3, 4, 5], [5]), ([6], [1]), ([2, 1, 5], [2, 3, 1]),
    ]

    @Test("add and mul broadcast as PyTorch", arguments: broadcastCases)
    func broadcastingMatchesReference(_ aShape: [Int], _ bShape: [Int]) {
        var generator = SeededGenerator(seed: UInt64(aShape.reduce(1, *) * 7 + bShape.reduce(1, *)))
        let batch = 3
        let a = (0 ..< batch * aShape.reduce(1, *)).map { _ in Float.random(in: -2 ..< 2, using: &generator) }
        let b = (0 ..< batch * bShape.reduce(1, *)).map { _ in Float.random(in: -2 ..< 2, using: &generator) }
        for add in [true, false] {
            let (expected, shape) = ReferenceKernels.broadcast(add: add, a, shape: aShape, b, shape: bShape, batch: batch)
            #expect(broadcastShape(aShape, bShape) == shape)
            var output = [Float](repeating: .nan, count: expected.count)
            a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    output.withUnsafeMutableBufferPointer { z in
                        broadcastBinary(add ? .add : .multiply, x.baseAddress!, shape: aShape, y.baseAddress!, shape: bShape,
                                        batch: batch, outputShape: shape, output: z.baseAddress!)
                    }
                }
            }
            // One rounding of an exact sum or product: equal to the Double result rounded.
            #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "\(add ? "add" : "mul") \(aShape) \(bShape)")
        }
    }

    @Test("Shapes that do not broadcast are refused")
    func badBroadcasts() {
        #expect(broadcastShape([3, 4, 5], [3, 4, 2]) == nil)
        #expect(broadcastShape([4, 1, 1], [3, 2, 2]) == nil)
        #expect(broadcastShape([3, 1, 5], [4, 1]) == [3, 4, 5])
    }

    @Test("cat joins the channels of each sample")
    func concatenationMatchesReference() {
        var generator = SeededGenerator(seed: 9)
        let channels = [3, 1, 4], spatial = 35, batch = 3
        let inputs = channels.map { c in (0 ..< batch * c * spatial).map { _ in Float.random(in: -1 ..< 1, using: &generator) } }
        let expected = ReferenceKernels.concatenate(inputs, channels: channels, spatial: spatial, batch: batch)
        var output = [Float](repeating: .nan, count: expected.count)
        let pointers = inputs.map { array in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: array.count)
            pointer.initialize(from: array, count: array.count)
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        output.withUnsafeMutableBufferPointer { y in
            concatenateChannels(pointers.map { UnsafePointer<Float>($0) }, channels: channels, spatial: spatial, batch: batch, output: y.baseAddress!)
        }
        #expect(output == expected)
    }

    @Test("Adaptive average pool to any size matches the naive pool",
          arguments: [(7, 5, 1, 1), (7, 5, 3, 2), (10, 9, 4, 4), (5, 5, 5, 5), (3, 4, 7, 6), (13, 11, 2, 3)])
    func adaptivePoolMatchesReference(height: Int, width: Int, outputHeight: Int, outputWidth: Int) {
        var generator = SeededGenerator(seed: UInt64(height * 100 + width * 10 + outputHeight))
        let batch = 2, channels = 3
        let input = (0 ..< batch * channels * height * width).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let expected = ReferenceKernels.adaptiveAvgPool2d(input, batch: batch, channels: channels, height: height, width: width,
                                                          outputHeight: outputHeight, outputWidth: outputWidth)
        var output = [Float](repeating: .nan, count: expected.count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                adaptiveAvgPool2d(x.baseAddress!, batch: batch, channels: channels, height: height, width: width,
                                  outputHeight: outputHeight, outputWidth: outputWidth, output: y.baseAddress!)
            }
        }
        expectClose(output, expected, rtol: 1e-6, atol: 1e-7)
        // Output 1×1 is the global mean.
        if outputHeight == 1 && outputWidth == 1 {
            #expect(expected == ReferenceKernels.globalAvgPool2d(input, batch: batch, channels: channels, height: height, width: width))
        }
    }

    @Test("Pool output sizes with ceil_mode follow PyTorch's rule")
    func ceilModeSizes() {
        // 7 wide, window 3 stride 2: floor gives 3, ceil 4 (last window covers column 6 alone).
        #expect(Pool2dGeometry(kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, ceilMode: true).outputSize(height: 7, width: 8)
            == (3, 4))
        // A last window that would start in the right padding is dropped: 6 wide, pad 1, window 2 stride 2.
        #expect(Pool2dGeometry(kernelHeight: 2, kernelWidth: 2, strideY: 2, strideX: 2, paddingY: 1, paddingX: 1, ceilMode: true)
            .outputSize(height: 6, width: 5) == (4, 3))
    }

    @Test("Depthwise convolution gives each sample's planes the same bits alone as in a batch")
    func depthwiseIsIndependentOfTheBatch() {
        var generator = SeededGenerator(seed: 5)
        let geometry = Conv2dGeometry(inChannels: 16, outChannels: 16, kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2,
                                      paddingY: 1, paddingX: 1, groups: 16)
        let batch = 6, height = 33, width = 29, sample = 16 * height * width
        let input = (0 ..< batch * sample).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let weight = (0 ..< 16 * 9).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        let bias = (0 ..< 16).map { _ in Float.random(in: -1 ..< 1, using: &generator) }
        func run(_ x: ArraySlice<Float>, batch: Int) -> [Float] {
            let size = geometry.outputSize(height: height, width: width)
            var y = [Float](repeating: .nan, count: batch * 16 * size.height * size.width)
            Array(x).withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    depthwiseConv2d(x.baseAddress!, batch: batch, height: height, width: width, geometry: geometry,
                                    weight: weight, bias: bias, output: y.baseAddress!)
                }
            }
            return y
        }
        let whole = run(input[...], batch: batch)
        let bySample = (0 ..< batch).flatMap { run(input[$0 * sample ..< ($0 + 1) * sample], batch: 1) }
        #expect(whole.map(\.bitPattern) == bySample.map(\.bitPattern))
        expectClose(whole, ReferenceKernels.conv2d(input, batch: batch, height: height, width: width, geometry: geometry,
                                                   weight: weight, bias: bias), rtol: 1e-5, atol: 1e-6)
    }
}

/// `|actual − expected| <= atol + rtol·|expected|` everywhere, reporting the worst element.
private func expectClose(_ actual: [Float], _ expected: [Float], rtol: Double, atol: Double,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "element count", sourceLocation: sourceLocation)
    let worst = zip(actual, expected).enumerated().map { index, pair in
        (index, abs(Double(pair.0) - Double(pair.1)) - (atol + rtol * abs(Double(pair.1))))
    }.max { $0.1 < $1.1 || $0.1.isNaN }
    if let worst, !(worst.1 <= 0) {
        Issue.record("element \(worst.0): \(actual[worst.0]) vs \(expected[worst.0])", sourceLocation: sourceLocation)
    }
}
