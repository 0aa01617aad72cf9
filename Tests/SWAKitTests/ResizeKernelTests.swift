import Testing
@testable import SWAData

/// The AVX2 passes of the resize (`ImageKernel.avx2`) against the Swift ones,
/// byte for byte. Horizontal: input widths from 1 pixel, shrinking and enlarging, boxes inside
/// wider rows (strides), kept column ranges, the image's last bytes (where the kernel must not
/// read past the buffer). Vertical: row lengths from 1 byte (the kernel's 16-byte steps and its
/// tail), up to 57 taps, kept row ranges; and against PIL's byte-at-a-time loop. Both also with
/// weights beyond the bilinear filter's, so that sums clip at both ends. And the planar write.
@Suite struct ResizeKernelTests {
    static let hasAVX2 = ImageKernel.isAvailable(.avx2)

    /// `kernel`'s horizontal pass of `columns` over every row of the box `left..<left + boxWidth`.
    static func pass(_ image: RGBImage, left: Int, boxWidth: Int, columns: Range<Int>,
                     coefficients: BilinearResize.Coefficients, kernel: ImageKernel) -> [UInt8] {
        var out = [UInt8](repeating: 0xA5, count: image.height * columns.count * 3)
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                BilinearResize.horizontalRows(source, firstRow: source.baseAddress! + left * 3, rowBytes: image.width * 3,
                                              rows: image.height, columns: columns, coefficients: coefficients,
                                              into: target.baseAddress!, kernel: kernel)
            }
        }
        return out
    }

    @Test(.enabled(if: hasAVX2, "this CPU has no AVX2"))
    func avx2PassEqualsTheScalarPass() {
        var cases = 0
        for boxWidth in [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 17, 31, 64, 127, 341, 500] {
            let outputWidths = Set([1, 2, 3, 4, 5, boxWidth / 10, boxWidth / 3, boxWidth / 2, boxWidth * 2 / 3, boxWidth - 1,
                                    boxWidth + 1, boxWidth * 2, 224]).filter { $0 > 0 }
            for (padLeft, padRight) in [(0, 0), (1, 2), (5, 0), (0, 7)] {
                let image = ImageKernelTests.randomImage(width: padLeft + boxWidth + padRight, height: 3, seed: UInt64(boxWidth * 10 + padLeft))
                for outputWidth in outputWidths.sorted() {
                    let coefficients = BilinearResize.coefficients(inputSize: boxWidth, start: 0, end: Float(boxWidth), outputSize: outputWidth)
                    var ranges = [0..<outputWidth]
                    if outputWidth > 2 { ranges += [1..<(outputWidth - 1), (outputWidth - 2)..<outputWidth] }
                    for columns in ranges {
                        let scalar = Self.pass(image, left: padLeft, boxWidth: boxWidth, columns: columns, coefficients: coefficients, kernel: .scalar)
                        let vector = Self.pass(image, left: padLeft, boxWidth: boxWidth, columns: columns, coefficients: coefficients, kernel: .avx2)
                        #expect(vector == scalar, "box \(boxWidth) px at \(padLeft) of \(image.width), to \(outputWidth), columns \(columns)")
                        cases += 1
                    }
                }
            }
        }
        #expect(cases > 500)
    }

    /// Seeded weights for `outputs` output pixels of up to `kernelSize` taps over `inputs` input
    /// pixels, beyond the bilinear filter's so that sums clip: each output at random all
    /// negative (clips to 0), all 1.5 / count (clips to 255 over bytes of 255), or anywhere from
    /// −2²¹ to 1.75 / count. Sums stay inside Int32, as PIL's do.
    static func clippingCoefficients(inputs: Int, outputs: Int, kernelSize: Int, using generator: inout SplitMix64)
        -> BilinearResize.Coefficients {
        var weights = [Int32](repeating: 0, count: outputs * kernelSize)
        var bounds: [(first: Int, count: Int)] = []
        for output in 0..<outputs {
            let count = 1 + Int(generator.next(below: UInt64(min(kernelSize, inputs))))
            bounds.append((Int(generator.next(below: UInt64(inputs - count + 1))), count))
            let mode = generator.next(below: 3)
            for tap in 0..<count {
                let weight: Int64 = switch mode {
                case 0: -Int64(generator.next(below: 1 << 21))
                case 1: (3 << 21) / Int64(count)
                default: Int64(generator.next(below: UInt64((7 << 20) / count + (1 << 21)))) - (1 << 21)
                }
                weights[output * kernelSize + tap] = Int32(weight)
            }
        }
        return BilinearResize.Coefficients(weights: weights, kernelSize: kernelSize, bounds: bounds)
    }

    /// Weights beyond the bilinear filter's (`clippingCoefficients`) over a row of 255s and a row
    /// of extreme and random bytes: both clipping paths, every tap count up to 11 (three groups of four).
    @Test(.enabled(if: hasAVX2, "this CPU has no AVX2"))
    func avx2PassClipsAsTheScalarPass() {
        var generator = SplitMix64(seed: 11, stream: 0)
        for (inputWidth, outputWidth, kernelSize) in [(9, 4, 3), (23, 7, 5), (40, 13, 11), (6, 6, 6)] {
            var pixels = [UInt8](repeating: 255, count: inputWidth * 2 * 3)
            for index in (inputWidth * 3)..<pixels.count { pixels[index] = [0, 255, UInt8(truncatingIfNeeded: generator.next() >> 56)][Int(generator.next(below: 3))] }
            let image = RGBImage(width: inputWidth, height: 2, pixels: pixels)
            let coefficients = Self.clippingCoefficients(inputs: inputWidth, outputs: outputWidth, kernelSize: kernelSize, using: &generator)
            let scalar = Self.pass(image, left: 0, boxWidth: inputWidth, columns: 0..<outputWidth, coefficients: coefficients, kernel: .scalar)
            let vector = Self.pass(image, left: 0, boxWidth: inputWidth, columns: 0..<outputWidth, coefficients: coefficients, kernel: .avx2)
            #expect(vector == scalar, "\(inputWidth) to \(outputWidth), \(kernelSize) taps")
            #expect(scalar.contains(0) && scalar.contains(255), "the case reaches both clipping ends")
        }
    }

    /// `kernel`'s vertical pass of output rows `outputRows` over `image` (whose first row is
    /// input row `firstInputRow`).
    static func verticalPass(_ image: RGBImage, firstInputRow: Int, outputRows: Range<Int>,
                             coefficients: BilinearResize.Coefficients, kernel: ImageKernel) -> [UInt8] {
        var out = [UInt8](repeating: 0xA5, count: outputRows.count * image.width * 3)
        out.withUnsafeMutableBufferPointer { target in
            BilinearResize.verticalRows(image.pixels, rowBytes: image.width * 3, firstInputRow: firstInputRow, outputRows: outputRows,
                                        coefficients: coefficients, into: target, kernel: kernel)
        }
        return out
    }

    @Test(.enabled(if: hasAVX2, "this CPU has no AVX2"))
    func avx2VerticalPassEqualsTheScalarPassAndPIL() {
        var cases = 0
        for width in [1, 2, 5, 6, 11, 16, 37, 224] {
            for (inputHeight, outputHeight) in [(1, 3), (2, 1), (9, 4), (13, 13), (30, 31), (256, 224), (200, 7), (375, 256)] {
                let image = ImageKernelTests.randomImage(width: width, height: inputHeight, seed: UInt64(width * 1000 + inputHeight))
                let coefficients = BilinearResize.coefficients(inputSize: inputHeight, start: 0, end: Float(inputHeight), outputSize: outputHeight)
                let reference = BilinearResize.verticalPass(image, height: outputHeight, coefficients: coefficients, bounds: coefficients.bounds)
                let whole = Self.verticalPass(image, firstInputRow: 0, outputRows: 0..<outputHeight, coefficients: coefficients, kernel: .avx2)
                #expect(whole == reference.pixels, "\(width) px, \(inputHeight) rows to \(outputHeight)")
                // Kept rows only, the input starting at the first row they read.
                for outputRows in [0..<1, (outputHeight / 3)..<(outputHeight - outputHeight / 3), (outputHeight - 1)..<outputHeight] where !outputRows.isEmpty {
                    let bounds = coefficients.bounds[outputRows]
                    let firstRow = bounds.map(\.first).min()!, endRow = bounds.map { $0.first + $0.count }.max()!
                    let part = image.cropped(left: 0, top: firstRow, width: width, height: endRow - firstRow)
                    let scalar = Self.verticalPass(part, firstInputRow: firstRow, outputRows: outputRows, coefficients: coefficients, kernel: .scalar)
                    let vector = Self.verticalPass(part, firstInputRow: firstRow, outputRows: outputRows, coefficients: coefficients, kernel: .avx2)
                    #expect(vector == scalar, "\(width) px, \(inputHeight) rows to \(outputHeight), rows \(outputRows)")
                    cases += 1
                }
            }
        }
        #expect(cases > 150)
    }

    /// Weights beyond the bilinear filter's (`clippingCoefficients`) over rows whose every fourth
    /// byte is 255 and the others extreme or random: both clipping paths, odd and even tap
    /// counts up to 11.
    @Test(.enabled(if: hasAVX2, "this CPU has no AVX2"))
    func avx2VerticalPassClipsAsTheScalarPass() {
        var generator = SplitMix64(seed: 12, stream: 0)
        for (inputHeight, outputHeight, kernelSize, width) in [(9, 4, 3, 7), (23, 7, 5, 16), (40, 13, 11, 19), (6, 6, 6, 64)] {
            var pixels = [UInt8](repeating: 255, count: width * inputHeight * 3)
            for index in pixels.indices where index % 4 != 0 {
                pixels[index] = [0, 255, UInt8(truncatingIfNeeded: generator.next() >> 56)][Int(generator.next(below: 3))]
            }
            let image = RGBImage(width: width, height: inputHeight, pixels: pixels)
            let coefficients = Self.clippingCoefficients(inputs: inputHeight, outputs: outputHeight, kernelSize: kernelSize, using: &generator)
            let scalar = Self.verticalPass(image, firstInputRow: 0, outputRows: 0..<outputHeight, coefficients: coefficients, kernel: .scalar)
            let vector = Self.verticalPass(image, firstInputRow: 0, outputRows: 0..<outputHeight, coefficients: coefficients, kernel: .avx2)
            #expect(vector == scalar, "\(inputHeight) rows to \(outputHeight), \(kernelSize) taps, \(width) px")
            #expect(scalar.contains(0) && scalar.contains(255), "the case reaches both clipping ends")
        }
    }

    /// Pixel counts around the kernel's 16-pixel step, and a 224×224 crop: both writes give
    /// `[3, H, W]` with plane `c` holding byte `3i + c` at `i`.
    @Test(.enabled(if: hasAVX2, "this CPU has no AVX2"))
    func avx2PlanarWriteEqualsTheScalarOne() {
        for (width, height) in [(1, 1), (5, 3), (15, 1), (16, 1), (17, 1), (8, 4), (33, 7), (224, 224)] {
            let image = ImageKernelTests.randomImage(width: width, height: height, seed: UInt64(width * 7 + height))
            var scalar = [UInt8](repeating: 0xA5, count: image.pixels.count), vector = scalar
            scalar.withUnsafeMutableBufferPointer { image.writePlanar(to: $0, kernel: .scalar) }
            vector.withUnsafeMutableBufferPointer { image.writePlanar(to: $0, kernel: .avx2) }
            let plane = width * height
            let expected = (0..<3).flatMap { channel in (0..<plane).map { image.pixels[$0 * 3 + channel] } }
            #expect(scalar == expected, "\(width)×\(height)")
            #expect(vector == expected, "\(width)×\(height)")
        }
    }
}
