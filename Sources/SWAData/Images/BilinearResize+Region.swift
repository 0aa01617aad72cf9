/// The fast path of `BilinearResize`: PIL's bilinear resize of a box of the image, computing
/// only the output pixels a crop keeps, both passes vectorised (`BilinearResize+Kernels.swift`).
///
/// Bit for bit `resize(image.cropped(box), width:height:).cropped(keep)`: every output pixel is
/// the same sum of the same 22-bit fixed-point products, rounded at the same two places (the
/// horizontal pass, then the vertical one), as PIL computes it; only pixels the crop throws away
/// are skipped, and the horizontal pass runs only over the rows the kept ones read. The sums are
/// exact integers, so the vector kernels' order of adding gives PIL's values.
/// `BilinearResize.resize` stays as the plain reference the tests hold this to.
///
/// What it saves on torchvision's evaluation recipe (Resize 256, CenterCrop 224 of a 4:3 photo,
/// 341×256 → 224×224): about 40% of both passes; the row-at-a-time vertical pass
/// takes a third of the time of the byte-at-a-time one (docs/PERFORMANCE.md, "Image folders").
extension BilinearResize {
    /// A rectangle of pixels: columns `left..<left + width`, rows `top..<top + height`.
    public struct Region: Sendable, Equatable {
        public var left: Int, top: Int, width: Int, height: Int

        public init(left: Int, top: Int, width: Int, height: Int) {
            self.left = left
            self.top = top
            self.width = width
            self.height = height
        }

        /// The whole of a `width × height` image.
        public static func whole(width: Int, height: Int) -> Region {
            Region(left: 0, top: 0, width: width, height: height)
        }
    }

    /// `box` of `image` resized to `width × height` with PIL's bilinear filter, of which only
    /// the pixels in `keep` are computed and returned (`keep.width × keep.height`).
    ///
    /// Equals `resize(image.cropped(box), width: width, height: height).cropped(keep)` byte for
    /// byte: torchvision's `Resize` then `CenterCrop` (`box` the whole image), or its
    /// `RandomResizedCrop` (`keep` the whole output).
    /// - Precondition: `box` lies inside `image`, `keep` inside `width × height`.
    public static func resize(_ image: RGBImage, box: Region, width: Int, height: Int, keep: Region) -> RGBImage {
        precondition(width > 0 && height > 0, "resize to an empty image")
        precondition(box.left >= 0 && box.top >= 0 && box.width > 0 && box.height > 0
                     && box.left + box.width <= image.width && box.top + box.height <= image.height, "box outside the image")
        precondition(keep.left >= 0 && keep.top >= 0 && keep.width > 0 && keep.height > 0
                     && keep.left + keep.width <= width && keep.top + keep.height <= height, "kept region outside the output")
        let needsHorizontal = width != box.width
        let needsVertical = height != box.height
        // The input rows the kept output rows read, relative to the box.
        let vertical = needsVertical
            ? coefficients(inputSize: box.height, start: 0, end: Float(box.height), outputSize: height) : nil
        let rows: Range<Int>
        if let vertical {
            let last = vertical.bounds[keep.top + keep.height - 1]
            rows = vertical.bounds[keep.top].first..<(last.first + last.count)
        } else {
            rows = keep.top..<(keep.top + keep.height)
        }
        // Horizontal pass (or a plain copy of the kept columns): `rows.count × keep.width`. Both
        // buffers are written whole, so they are not zeroed first (2.5% of a pass's samples were
        // memset and the page clearing behind it).
        let intermediateCount = rows.count * keep.width * 3
        let intermediate = [UInt8](unsafeUninitializedCapacity: intermediateCount) { target, initialized in
            image.pixels.withUnsafeBufferPointer { source in
                let rowBytes = image.width * 3
                let boxOrigin = source.baseAddress! + box.top * rowBytes + box.left * 3
                if needsHorizontal {
                    let horizontal = coefficients(inputSize: box.width, start: 0, end: Float(box.width), outputSize: width)
                    horizontalRows(source, firstRow: boxOrigin + rows.lowerBound * rowBytes, rowBytes: rowBytes, rows: rows.count,
                                   columns: keep.left..<(keep.left + keep.width), coefficients: horizontal, into: target.baseAddress!)
                } else {
                    for (index, row) in rows.enumerated() {
                        (target.baseAddress! + index * keep.width * 3)
                            .initialize(from: boxOrigin + row * rowBytes + keep.left * 3, count: keep.width * 3)
                    }
                }
            }
            initialized = intermediateCount
        }
        guard let vertical else { return RGBImage(width: keep.width, height: keep.height, pixels: intermediate) }
        let outCount = keep.height * keep.width * 3
        let out = [UInt8](unsafeUninitializedCapacity: outCount) { target, initialized in
            verticalRows(intermediate, rowBytes: keep.width * 3, firstInputRow: rows.lowerBound,
                         outputRows: keep.top..<(keep.top + keep.height), coefficients: vertical, into: target)
            initialized = outCount
        }
        return RGBImage(width: keep.width, height: keep.height, pixels: out)
    }
}
