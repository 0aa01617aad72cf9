import SWAFormats
/// Random training-time augmentation of image samples, as the paper's CIFAR pipeline does it.
///
/// Matches torchvision's `RandomCrop(H, padding: P)` (zero fill) followed by
/// `RandomHorizontalFlip(p: 0.5)`: each sample is padded by `P` zeros on every side, an H×W
/// window is taken at a uniformly random offset in `0...2P` down and across (the same for
/// all channels), then mirrored left-right with probability ½. It runs on raw values, before
/// normalisation, so padding is raw zero (black), as in torchvision where `Normalize` comes last.
public struct Augmentation: Sendable, Equatable {
    /// `P`, the zero padding of the random crop, or `nil` for no crop.
    public var cropPadding: Int?
    /// Whether to mirror left-right with probability ½.
    public var horizontalFlip: Bool

    /// Random crop with `cropPadding` pixels of zero padding (`nil`: none) and/or a random horizontal flip.
    public init(cropPadding: Int? = nil, horizontalFlip: Bool = false) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    /// Whether the augmentation changes anything.
    public var isIdentity: Bool { (cropPadding ?? 0) == 0 && !horizontalFlip }

    /// Parses the `--augment` text: comma-separated `crop:P` (P ≥ 0 pixels) and `flip`, each
    /// at most once, in any order: `"crop:4,flip"`, `"flip"`, `"crop:4"`.
    public static func parse(_ text: String) throws -> Augmentation {
        func failure(_ why: String) -> SWAError {
            SWAError("augmentation '\(text)': \(why); expected 'crop:P', 'flip' or 'crop:P,flip'")
        }
        var result = Augmentation()
        var seenFlip = false
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard !text.isEmpty else { throw failure("empty") }
        for part in parts {
            if part == "flip" {
                guard !seenFlip else { throw failure("'flip' given twice") }
                seenFlip = true
                result.horizontalFlip = true
            } else if part.hasPrefix("crop:") {
                guard result.cropPadding == nil else { throw failure("'crop' given twice") }
                guard let padding = Int(part.dropFirst(5)), padding >= 0, padding <= 1024 else {
                    throw failure("'\(part)' needs a padding in pixels from 0 to 1024")
                }
                result.cropPadding = padding
            } else {
                throw failure(part.isEmpty ? "an empty item" : "unknown item '\(part)'")
            }
        }
        return result
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}

// MARK: - Drawing and applying

extension Augmentation {
    /// The crop offset and flip drawn for one sample.
    struct Draw: Equatable {
        /// Window offset in the padded image, each in `0...2P`.
        var top = 0, left = 0
        var flip = false
    }

    /// The draw for sample `index` of a data set: a function of `seed` and `index` only,
    /// so batches replay identically whatever the batch size or the number of passes so far.
    func draw(seed: UInt64, index: Int) -> Draw {
        var generator = SplitMix64(seed: seed, stream: UInt64(index))
        var result = Draw()
        if let padding = cropPadding, padding > 0 {
            let span = UInt64(2 * padding + 1)
            result.top = Int(generator.next(below: span))
            result.left = Int(generator.next(below: span))
        }
        if horizontalFlip { result.flip = generator.next() >> 63 == 1 }
        return result
    }

    /// Writes the cropped and flipped copy of `source` into `destination`, both C×H×W.
    /// Pixels the window takes from the padding are 0.
    static func apply(_ draw: Draw, padding: Int, channels: Int, height: Int, width: Int,
                      source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>) {
        let rowShift = draw.top - padding, columnShift = draw.left - padding
        for channel in 0..<channels {
            let plane = channel * height * width
            for row in 0..<height {
                let out = destination + plane + row * width
                let sourceRow = row + rowShift
                guard sourceRow >= 0 && sourceRow < height else {
                    out.update(repeating: 0, count: width)
                    continue
                }
                let input = source + plane + sourceRow * width
                for column in 0..<width {
                    // Crop first, then mirror the cropped window (torchvision's order).
                    let croppedColumn = draw.flip ? width - 1 - column : column
                    let sourceColumn = croppedColumn + columnShift
                    out[column] = sourceColumn >= 0 && sourceColumn < width ? input[sourceColumn] : 0
                }
            }
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast, and the same numbers on every
/// platform and Swift version, unlike the standard library's `random(in:)` helpers.
/// Public for the other seeded draws of the toolkit (swa-landscape's random directions).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// The generator whose state starts at `seed` (Vigna's `splitmix64.c` with `x = seed`).
    public init(seed: UInt64) { state = seed }

    /// An independent generator per `(seed, stream)`: the pair is hashed into the start state.
    init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed)
        var scrambler = SplitMix64(seed: mixer.next() ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = scrambler.next()
    }

    /// The next 64 random bits: the state advances by 0x9E3779B97F4A7C15, then a fixed mixer.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection, so unbiased).
    mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= threshold { return product.high }
        }
    }
}
