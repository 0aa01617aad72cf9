import Foundation

/// What torchvision's transforms do to a PIL image before `ToTensor`, for image folders:
/// `Resize` (shorter side), `CenterCrop`, or `RandomResizedCrop`, then an optional random
/// horizontal flip. All on 8-bit RGB, as PIL does them (`BilinearResize`); scaling by 1/255
/// and `Normalize` follow in the data set, as `ToTensor` and `Normalize` follow in torchvision.
///
/// Random choices are drawn per sample from the seed and the sample's index (the same draws
/// for every pass, thread count and batch size), not from torch's generator: the crops are
/// distributed as torchvision's, not identical to them.
public struct ImagePipeline: Sendable, Equatable {
    /// `Resize(n)`: the shorter side becomes `n`, the longer `Int(n · long / short)`.
    public var resize: Int?
    /// `CenterCrop(n)`: the central `n × n` square, its offsets rounded half to even.
    public var centerCrop: Int?
    /// `RandomResizedCrop(n)` (scale 0.08...1, ratio 3/4...4/3), applied to the decoded image
    /// instead of `resize` and `centerCrop`.
    public var randomResizedCrop: Int?
    /// `RandomHorizontalFlip(0.5)`.
    public var horizontalFlip: Bool

    public init(resize: Int? = nil, centerCrop: Int? = nil, randomResizedCrop: Int? = nil, horizontalFlip: Bool = false) {
        self.resize = resize
        self.centerCrop = centerCrop
        self.randomResizedCrop = randomResizedCrop
        self.horizontalFlip = horizontalFlip
    }

    /// The evaluation pipeline of torchvision's ImageNet recipes: Resize 256, CenterCrop 224.
    public static let imagenet = ImagePipeline(resize: 256, centerCrop: 224)
    /// The training pipeline: RandomResizedCrop 224 and a random flip.
    public static let imagenetTrain = ImagePipeline(randomResizedCrop: 224, horizontalFlip: true)

    /// The side of every output image when the pipeline fixes it (a crop), else nil (the
    /// images must then all have one size).
    public var fixedSize: Int? { randomResizedCrop ?? centerCrop }

    /// Sample `index`'s image after the pipeline, its random draws from `seed` and `index`.
    public func apply(_ image: RGBImage, seed: UInt64, index: Int) -> RGBImage {
        var generator = SplitMix64(seed: seed, stream: UInt64(index))
        var result = image
        if let size = randomResizedCrop {
            let box = Self.randomResizedCropBox(width: image.width, height: image.height, using: &generator)
            result = BilinearResize.resize(image, box: BilinearResize.Region(left: box.left, top: box.top, width: box.width, height: box.height),
                                           width: size, height: size, keep: .whole(width: size, height: size))
        } else if let resize {
            let (width, height) = Self.shorterSideSize(width: image.width, height: image.height, to: resize)
            let whole = BilinearResize.Region.whole(width: image.width, height: image.height)
            if let centerCrop, width >= centerCrop, height >= centerCrop {
                // Only the pixels the crop keeps are resized (the same bytes as resizing, then cropping).
                let keep = BilinearResize.Region(left: Self.centerCropOffset(width, centerCrop), top: Self.centerCropOffset(height, centerCrop),
                                                 width: centerCrop, height: centerCrop)
                result = BilinearResize.resize(image, box: whole, width: width, height: height, keep: keep)
            } else {
                result = BilinearResize.resize(image, box: whole, width: width, height: height, keep: .whole(width: width, height: height))
                if let centerCrop { result = Self.centerCropped(result, size: centerCrop) }
            }
        } else if let centerCrop {
            result = Self.centerCropped(result, size: centerCrop)
        }
        if horizontalFlip && generator.next() >> 63 == 1 { result = result.flippedHorizontally() }
        return result
    }

    /// The size torchvision's `Resize(n)` gives a `width × height` PIL image: the shorter side
    /// `n`, the longer `Int(n · long / short)`.
    static func shorterSideSize(width: Int, height: Int, to size: Int) -> (width: Int, height: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(size) * Double(long) / Double(short))
        return width <= height ? (size, newLong) : (newLong, size)
    }

    /// torchvision's `Resize(n)` on a PIL image, through the plain reference resize.
    static func resizeShorterSide(_ image: RGBImage, to size: Int) -> RGBImage {
        let (width, height) = shorterSideSize(width: image.width, height: image.height, to: size)
        return BilinearResize.resize(image, width: width, height: height)
    }

    /// `CenterCrop`'s offset along a side of `length` pixels: `int(round((length − n) / 2))`,
    /// Python rounding half to even.
    static func centerCropOffset(_ length: Int, _ size: Int) -> Int {
        Int((Double(length - size) / 2).rounded(.toNearestOrEven))
    }

    /// torchvision's `CenterCrop(n)`: offsets `int(round((H − n) / 2))` (Python rounds half to
    /// even); an image smaller than `n` is first padded with zeros on both sides, as torchvision pads.
    static func centerCropped(_ image: RGBImage, size: Int) -> RGBImage {
        var source = image
        if image.width < size || image.height < size {
            let padLeft = max(size - image.width, 0) / 2, padTop = max(size - image.height, 0) / 2
            let width = max(image.width, size), height = max(image.height, size)
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for row in 0..<image.height {
                let from = row * image.width * 3, to = ((row + padTop) * width + padLeft) * 3
                pixels.replaceSubrange(to..<to + image.width * 3, with: image.pixels[from..<from + image.width * 3])
            }
            source = RGBImage(width: width, height: height, pixels: pixels)
        }
        let top = centerCropOffset(source.height, size), left = centerCropOffset(source.width, size)
        return source.cropped(left: left, top: top, width: size, height: size)
    }

    /// torchvision's `RandomResizedCrop.get_params` with scale (0.08, 1) and ratio (3/4, 4/3):
    /// ten tries at a random area and log-uniform aspect ratio, else the whole image clamped
    /// to the ratio range, centred.
    static func randomResizedCropBox(width: Int, height: Int, using generator: inout SplitMix64)
        -> (left: Int, top: Int, width: Int, height: Int) {
        let area = Double(width * height)
        let logRatio = (log(3.0 / 4.0), log(4.0 / 3.0))
        func uniform(_ low: Double, _ high: Double) -> Double {
            low + (high - low) * Double(generator.next() >> 11) * 0x1p-53
        }
        for _ in 0..<10 {
            let targetArea = area * uniform(0.08, 1.0)
            let aspect = exp(uniform(logRatio.0, logRatio.1))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, w <= width, h > 0, h <= height {
                let top = Int(generator.next(below: UInt64(height - h + 1)))
                let left = Int(generator.next(below: UInt64(width - w + 1)))
                return (left, top, w, h)
            }
        }
        let ratio = Double(width) / Double(height)
        var w = width, h = height
        if ratio < 3.0 / 4.0 {
            h = Int((Double(w) / (3.0 / 4.0)).rounded(.toNearestOrEven))
        } else if ratio > 4.0 / 3.0 {
            w = Int((Double(h) * (4.0 / 3.0)).rounded(.toNearestOrEven))
        }
        return ((width - w) / 2, (height - h) / 2, w, h)
    }
}
