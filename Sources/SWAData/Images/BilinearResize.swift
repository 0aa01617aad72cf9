import Foundation

/// Resizes 8-bit RGB images exactly as PIL's `Image.resize(size, Image.BILINEAR)` does, the
/// resize torchvision's `Resize` and `RandomResizedCrop` call on PIL images.
///
/// PIL's algorithm (libImaging/Resample.c), reproduced step for step so that the bytes agree:
/// a triangle filter whose support widens by the scale factor when shrinking (antialiasing);
/// per output pixel, weights over the input pixels it covers, normalised to sum to 1 in double
/// precision, then rounded to 22-bit fixed point; a horizontal pass into a temporary image of
/// the rows the vertical pass needs, rounded to 8 bits, then the vertical pass. The fixed-point
/// sums start at one half and are clipped to 0...255.
public enum BilinearResize {
    /// Fixed-point fraction bits of PIL's 8-bit resampling (`PRECISION_BITS = 32 - 8 - 2`).
    static let precisionBits = 22

    /// For each output pixel, the first input pixel it reads, how many, and their weights.
    struct Coefficients {
        /// Weights per output pixel; `kernelSize` slots each, unused ones 0.
        var weights: [Int32]
        var kernelSize: Int
        /// `(first input pixel, count)` per output pixel.
        var bounds: [(first: Int, count: Int)]
    }

    /// PIL's `precompute_coeffs` with the bilinear filter, then `normalize_coeffs_8bpc`.
    /// - Parameters: inputSize: pixels along the axis; `start`/`end`: the box edges along it
    ///   (0 and `inputSize` for a whole image), as Float as PIL stores them; outputSize: pixels out.
    static func coefficients(inputSize: Int, start: Float, end: Float, outputSize: Int) -> Coefficients {
        let scale = Double(end - start) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var weights = [Int32](repeating: 0, count: outputSize * kernelSize)
        var bounds: [(first: Int, count: Int)] = []
        bounds.reserveCapacity(outputSize)
        var prepared = [Double](repeating: 0, count: kernelSize)
        for output in 0..<outputSize {
            let center = Double(start) + (Double(output) + 0.5) * scale
            let inverseScale = 1.0 / filterScale
            // C's (int) cast truncates toward zero.
            let first = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), inputSize) - first
            var total = 0.0
            for index in 0..<kernelSize { prepared[index] = 0 }
            for index in 0..<max(count, 0) {
                let weight = triangle((Double(index + first) - center + 0.5) * inverseScale)
                prepared[index] = weight
                total += weight
            }
            for index in 0..<max(count, 0) where total != 0 { prepared[index] /= total }
            for index in 0..<kernelSize {
                let value = prepared[index] * Double(1 << precisionBits)
                weights[output * kernelSize + index] = Int32(value < 0 ? -0.5 + value : 0.5 + value)
            }
            bounds.append((first, max(count, 0)))
        }
        return Coefficients(weights: weights, kernelSize: kernelSize, bounds: bounds)
    }

    /// PIL's `bilinear_filter`.
    static func triangle(_ x: Double) -> Double {
        let distance = abs(x)
        return distance < 1 ? 1 - distance : 0
    }

    /// PIL's `clip8`: the fixed-point sum to a byte.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        if sum >= Int32((1 << precisionBits) << 8) { return 255 }
        if sum <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: sum >> Int32(precisionBits))
    }

    /// `image` resized to `width × height` with PIL's bilinear filter (whole image, no box).
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resize to an empty image")
        if width == image.width && height == image.height { return image }
        let needsHorizontal = width != image.width
        let needsVertical = height != image.height
        let horizontal = coefficients(inputSize: image.width, start: 0, end: Float(image.width), outputSize: width)
        let vertical = coefficients(inputSize: image.height, start: 0, end: Float(image.height), outputSize: height)
        var current = image
        var verticalBounds = vertical.bounds
        if needsHorizontal {
            // Only the rows the vertical pass reads.
            let firstRow = vertical.bounds[0].first
            let lastRow = vertical.bounds[height - 1].first + vertical.bounds[height - 1].count
            for index in verticalBounds.indices { verticalBounds[index].first -= firstRow }
            current = horizontalPass(image, rows: firstRow..<lastRow, width: width, coefficients: horizontal)
        }
        if needsVertical {
            current = verticalPass(current, height: height, coefficients: vertical, bounds: verticalBounds)
        }
        return current
    }

    /// PIL's `ImagingResampleHorizontal_8bpc` over `rows` of `image`.
    static func horizontalPass(_ image: RGBImage, rows: Range<Int>, width: Int, coefficients: Coefficients) -> RGBImage {
        var out = [UInt8](repeating: 0, count: rows.count * width * 3)
        image.pixels.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                for (outRow, row) in rows.enumerated() {
                    horizontalRow(input.baseAddress! + row * image.width * 3, into: output.baseAddress! + outRow * width * 3,
                                  columns: 0..<width, coefficients: coefficients)
                }
            }
        }
        return RGBImage(width: width, height: rows.count, pixels: out)
    }

    /// PIL's `ImagingResampleVertical_8bpc`.
    static func verticalPass(_ image: RGBImage, height: Int, coefficients: Coefficients,
                             bounds: [(first: Int, count: Int)]) -> RGBImage {
        let width = image.width, rowBytes = image.width * 3
        var out = [UInt8](repeating: 0, count: height * rowBytes)
        let half = Int32(1 << (precisionBits - 1))
        let kernelSize = coefficients.kernelSize
        image.pixels.withUnsafeBufferPointer { inputBuffer in
            coefficients.weights.withUnsafeBufferPointer { weightBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    let input = inputBuffer.baseAddress!, weights = weightBuffer.baseAddress!, output = outBuffer.baseAddress!
                    for row in 0..<height {
                        let (first, count) = bounds[row]
                        let k = weights + row * kernelSize
                        let target = output + row * rowBytes
                        // Every byte of the row is one channel of one pixel: the same sum for all.
                        for byte in 0..<width * 3 {
                            var sum = half
                            var source = input + first * rowBytes + byte
                            for index in 0..<count {
                                sum &+= Int32(source.pointee) &* k[index]
                                source += rowBytes
                            }
                            target[byte] = clip8(sum)
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
