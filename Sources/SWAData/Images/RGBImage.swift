import CImageKernels

/// An 8-bit RGB image in memory: `height` rows of `width` pixels, 3 bytes each (R, G, B),
/// rows top to bottom with no padding (`[H, W, 3]`, as PIL's `np.asarray(img.convert("RGB"))`).
public struct RGBImage: Sendable, Equatable {
    /// Pixels per row.
    public var width: Int
    /// Rows.
    public var height: Int
    /// `height × width × 3` bytes.
    public var pixels: [UInt8]

    /// An image of the given size whose bytes are `pixels` (`height × width × 3` of them).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The `[left, left + width) × [top, top + height)` part, which must lie inside the image
    /// (PIL's `img.crop((left, top, left + width, top + height))`).
    public func cropped(left: Int, top: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(left >= 0 && top >= 0 && left + cropWidth <= width && top + cropHeight <= height, "crop outside the image")
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        for row in 0..<cropHeight {
            let source = ((top + row) * width + left) * 3
            out.replaceSubrange(row * cropWidth * 3..<(row + 1) * cropWidth * 3, with: pixels[source..<source + cropWidth * 3])
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
    }

    /// The image mirrored left to right (PIL's `ImageOps.mirror`, torchvision's `hflip`).
    public func flippedHorizontally() -> RGBImage {
        var out = pixels
        for row in 0..<height {
            for column in 0..<width {
                let from = (row * width + (width - 1 - column)) * 3, to = (row * width + column) * 3
                out[to] = pixels[from]
                out[to + 1] = pixels[from + 1]
                out[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Writes the image channel-first (`[3, H, W]`, torchvision's `ToTensor` order before scaling)
    /// into `destination`, which holds `3 × height × width` bytes.
    public func writePlanar(to destination: UnsafeMutableBufferPointer<UInt8>) {
        writePlanar(to: destination, kernel: .fastest)
    }

    /// `writePlanar(to:)` with `kernel`: the Swift loop or `swa_planar_rgb8_avx2` (shuffles of
    /// 16 pixels at a time).
    func writePlanar(to destination: UnsafeMutableBufferPointer<UInt8>, kernel: ImageKernel) {
        precondition(destination.count == pixels.count)
        let plane = width * height
        if kernel == .avx2 {
            precondition(ImageKernel.isAvailable(.avx2), "the AVX2 planar write on a CPU without AVX2")
            guard let target = destination.baseAddress else { return }
            swa_planar_rgb8_avx2(pixels, plane, target, target + plane, target + 2 * plane)
            return
        }
        pixels.withUnsafeBufferPointer { source in
            for index in 0..<plane {
                destination[index] = source[index * 3]
                destination[plane + index] = source[index * 3 + 1]
                destination[2 * plane + index] = source[index * 3 + 2]
            }
        }
    }
}
