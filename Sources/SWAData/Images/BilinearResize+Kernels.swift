import CImageKernels

/// The two passes of the resize, each in two implementations giving the same bytes: Swift loops
/// (the horizontal one is PIL's loop, the reference; both run on CPUs without AVX2) and AVX2
/// kernels in C (`CImageKernels`), chosen at run time from the CPU's features.
///
/// Why C: Swift compiles every function for the package's baseline (x86-64, SSE2), which has
/// no 32-bit lane multiply; a 4-lane Swift vector per pixel was slower than the scalar loop
/// (docs/PERFORMANCE.md, "Image folders"). The AVX2 kernels multiply 16-bit halves of the
/// 22-bit weights with `vpmaddwd` and recombine them into PIL's exact 32-bit sums
/// (swa_image_kernels.h). Measured on the AMD EPYC here (500×375 → 341×256, 224×224 kept, CPU
/// time per image): horizontal 0.25 ms against 0.78 ms for the scalar loop, vertical 0.05 ms
/// (docs/PERFORMANCE.md).
extension BilinearResize {
    // MARK: - Horizontal

    /// PIL's `ImagingResampleHorizontal_8bpc` over `rows` rows of packed RGB, output pixels
    /// `columns` only.
    /// - Parameters:
    ///   - image: the whole input buffer (reads never leave it).
    ///   - firstRow: the first row's first pixel (the box's left edge), inside `image`.
    ///   - rowBytes: bytes from one input row to the next.
    ///   - columns: output pixels to compute, indices into `coefficients.bounds`.
    ///   - output: `rows × columns.count × 3` bytes, rows packed.
    static func horizontalRows(_ image: UnsafeBufferPointer<UInt8>, firstRow: UnsafePointer<UInt8>, rowBytes: Int, rows: Int,
                               columns: Range<Int>, coefficients: Coefficients, into output: UnsafeMutablePointer<UInt8>,
                               kernel: ImageKernel = .fastest) {
        let outputRowBytes = columns.count * 3
        switch kernel {
        case .scalar:
            for row in 0..<rows {
                horizontalRow(firstRow + row * rowBytes, into: output + row * outputRowBytes, columns: columns, coefficients: coefficients)
            }
        case .avx2:
            precondition(ImageKernel.isAvailable(.avx2), "the AVX2 resize kernel on a CPU without AVX2")
            let prepared = PreparedHorizontalWeights(coefficients, columns: columns)
            prepared.firsts.withUnsafeBufferPointer { firsts in
                prepared.groupsPerColumn.withUnsafeBufferPointer { groupsPerColumn in
                    prepared.weights.withUnsafeBufferPointer { weights in
                        swa_horizontal_rgb8_avx2(firstRow, rowBytes, image.baseAddress! + image.count, rows,
                                                 firsts.baseAddress!, groupsPerColumn.baseAddress!, columns.count,
                                                 weights.baseAddress!, prepared.groups, output, outputRowBytes)
                    }
                }
            }
        }
    }

    /// The weights of output pixels `columns` in the vector kernel's layout (`swa_horizontal_prepare`).
    struct PreparedHorizontalWeights {
        /// Per output pixel, its first input pixel.
        var firsts: [Int32]
        /// Per output pixel, its groups of four taps.
        var groupsPerColumn: [Int32]
        /// Groups stored per output pixel (the most any one uses).
        var groups: Int
        /// `columns.count × groups × SWA_HORIZONTAL_GROUP_VALUES` int16 values.
        var weights: [Int16]

        init(_ coefficients: Coefficients, columns: Range<Int>) {
            let taps = Int(SWA_HORIZONTAL_GROUP_TAPS)
            let bounds = coefficients.bounds[columns]
            firsts = bounds.map { Int32($0.first) }
            groupsPerColumn = bounds.map { Int32(($0.count + taps - 1) / taps) }
            groups = max(Int(groupsPerColumn.max() ?? 0), 1)
            let counts = bounds.map { Int32($0.count) }
            var weights = [Int16](repeating: 0, count: columns.count * groups * Int(SWA_HORIZONTAL_GROUP_VALUES))
            let kernelSize = coefficients.kernelSize, groups = groups
            coefficients.weights.withUnsafeBufferPointer { source in
                swa_horizontal_prepare(source.baseAddress! + columns.lowerBound * kernelSize, kernelSize, counts, columns.count,
                                       groups, &weights)
            }
            self.weights = weights
        }
    }

    /// One row of PIL's `ImagingResampleHorizontal_8bpc`, output pixels `columns` only: the
    /// scalar reference, its sums in PIL's order.
    @inline(__always)
    static func horizontalRow(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<UInt8>, columns: Range<Int>,
                              coefficients: Coefficients) {
        let half = Int32(1 << (precisionBits - 1))
        let kernelSize = coefficients.kernelSize
        coefficients.weights.withUnsafeBufferPointer { weightBuffer in
            coefficients.bounds.withUnsafeBufferPointer { bounds in
                let weights = weightBuffer.baseAddress!
                var target = output
                for column in columns {
                    let (first, count) = bounds[column]
                    let k = weights + column * kernelSize
                    var pixel = input + first * 3
                    var red = half, green = half, blue = half
                    for index in 0..<count {
                        let weight = k[index]
                        red &+= Int32(pixel[0]) &* weight
                        green &+= Int32(pixel[1]) &* weight
                        blue &+= Int32(pixel[2]) &* weight
                        pixel += 3
                    }
                    target[0] = clip8(red)
                    target[1] = clip8(green)
                    target[2] = clip8(blue)
                    target += 3
                }
            }
        }
    }

    // MARK: - Vertical

    /// PIL's `ImagingResampleVertical_8bpc` for output rows `outputRows`, reading `input`
    /// (rows of `rowBytes` bytes, the first being input row `firstInputRow`), with `kernel`.
    static func verticalRows(_ input: [UInt8], rowBytes: Int, firstInputRow: Int, outputRows: Range<Int>,
                             coefficients: Coefficients, into out: UnsafeMutableBufferPointer<UInt8>,
                             kernel: ImageKernel = .fastest) {
        switch kernel {
        case .scalar:
            verticalRowsScalar(input, rowBytes: rowBytes, firstInputRow: firstInputRow, outputRows: outputRows,
                               coefficients: coefficients, into: out)
        case .avx2:
            precondition(ImageKernel.isAvailable(.avx2), "the AVX2 resize kernel on a CPU without AVX2")
            let bounds = coefficients.bounds[outputRows]
            precondition(input.count >= ((bounds.map { $0.first + $0.count }.max() ?? 0) - firstInputRow) * rowBytes
                         && out.count >= outputRows.count * rowBytes, "vertical pass outside its buffers")
            let firsts = bounds.map { Int32($0.first - firstInputRow) }, counts = bounds.map { Int32($0.count) }
            let pairs = max(Int(counts.max() ?? 0) + 1, 2) / 2
            var prepared = [Int32](repeating: 0, count: outputRows.count * pairs * 2)
            let kernelSize = coefficients.kernelSize
            coefficients.weights.withUnsafeBufferPointer { weights in
                swa_vertical_prepare(weights.baseAddress! + outputRows.lowerBound * kernelSize, kernelSize, counts, outputRows.count,
                                     pairs, &prepared)
            }
            swa_vertical_8bpc_avx2(input, rowBytes, firsts, counts, outputRows.count, prepared, pairs, out.baseAddress!)
        }
    }

    /// The Swift vertical pass. Each output row is accumulated tap by tap over the whole row in
    /// 32-bit sums (a loop the compiler vectorises for SSE2), then clipped: the same sums as PIL's byte-by-byte loop, and 3× faster
    /// (224×224 pixels from 330 rows, 4 taps: 0.24 ms against 0.69 ms per image).
    static func verticalRowsScalar(_ input: [UInt8], rowBytes: Int, firstInputRow: Int, outputRows: Range<Int>,
                                   coefficients: Coefficients, into out: UnsafeMutableBufferPointer<UInt8>) {
        let half = Int32(1 << (precisionBits - 1))
        let kernelSize = coefficients.kernelSize
        var sums = [Int32](repeating: 0, count: rowBytes)
        input.withUnsafeBufferPointer { inputBuffer in
            coefficients.weights.withUnsafeBufferPointer { weightBuffer in
                sums.withUnsafeMutableBufferPointer { sumBuffer in
                    let source = inputBuffer.baseAddress!, sum = sumBuffer.baseAddress!
                    for (index, row) in outputRows.enumerated() {
                        let (first, count) = coefficients.bounds[row]
                        let k = weightBuffer.baseAddress! + row * kernelSize
                        for byte in 0..<rowBytes { sum[byte] = half }
                        for tap in 0..<count {
                            let weight = k[tap]
                            let line = source + (first - firstInputRow + tap) * rowBytes
                            for byte in 0..<rowBytes { sum[byte] &+= Int32(line[byte]) &* weight }
                        }
                        let target = out.baseAddress! + index * rowBytes
                        for byte in 0..<rowBytes {
                            target[byte] = UInt8(truncatingIfNeeded: min(max(sum[byte] &>> Int32(precisionBits), 0), 255))
                        }
                    }
                }
            }
        }
    }
}
