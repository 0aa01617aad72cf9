#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the samples of a data file's `x` are laid out; in JSON, its name (`"nchw"`).
public enum DataLayout: String, Sendable, CaseIterable, Codable {
    /// Images, `x` is N×C×H×W (PyTorch's layout).
    case nchw
    /// Images, `x` is N×H×W×C (NumPy/TensorFlow images); batches are transposed to NCHW.
    case nhwc
    /// Feature vectors, `x` is N×F.
    case nf

    /// Rank `x` must have in this layout.
    public var rank: Int { self == .nf ? 2 : 4 }
}

/// How raw values become model inputs: `(raw · s − mean[c]) / std[c]`.
///
/// `s` is 1/255 for uint8 data (torchvision's `ToTensor`), else `scale ?? 1`; `c` is the
/// channel (the feature for `nf` data). `mean` and `std` hold one value per channel, or one
/// value for all. Stored in checkpoints as the `swa.preprocess` metadata JSON (docs/FORMAT.md);
/// its `Codable` form is that JSON.
public struct Preprocessing: Sendable, Equatable {
    /// The layout of the training data's `x`.
    public var layout: DataLayout
    /// Subtracted per channel, after scaling.
    public var mean: [Double]
    /// Divided by per channel, after subtracting the mean; every value positive.
    public var std: [Double]
    /// Multiplies raw float values first; `nil` means 1. Ignored for uint8 data, which is divided by 255.
    public var scale: Double?

    /// Normalisation by `mean` and `std` (one value, or one per channel) for data in `layout`.
    public init(layout: DataLayout = .nchw, mean: [Double], std: [Double], scale: Double? = nil) {
        self.layout = layout
        self.mean = mean
        self.std = std
        self.scale = scale
    }
}

// MARK: - The swa.preprocess metadata (docs/FORMAT.md)

extension Preprocessing: Codable {
    private enum CodingKeys: String, CodingKey {
        case layout, mean, std, scale
    }

    /// Parses the checkpoint metadata JSON `{"layout": "nchw", "mean": [...], "std": [...], "scale": 1.0}`.
    ///
    /// `mean` and `std` are required; `layout` defaults to `nchw`; `scale` may be absent or
    /// `null`. Other keys are ignored, so later writers may add some. Errors are one line,
    /// `FILE: swa.preprocess: 'std' holds 0; expected positive numbers`.
    /// - Parameter file: the checkpoint the JSON came from, named in errors.
    public static func parse(metadataJSON: String, file: String? = nil) throws -> Preprocessing {
        func failure(_ message: String) -> SWAError { SWAError(file: file, "swa.preprocess: \(message)") }
        do {
            return try JSONCoding.decode(Preprocessing.self, from: metadataJSON)
        } catch let error as SWAError {
            throw failure(error.message)
        } catch let error as DecodingError {
            if let syntax = JSONCoding.syntaxFailure(in: error) { throw failure(syntax) }
            // Every field is read as AnyJSONValue, which takes any JSON: this is not expected.
            throw failure(JSONCoding.describe(error))
        }
    }

    /// The metadata JSON `parse(metadataJSON:)` reads: compact, keys sorted, `scale` left out when `nil`.
    public var metadataJSON: String { JSONCoding.encode(self) }

    /// Reads and checks the `swa.preprocess` fields (see `parse(metadataJSON:file:)`).
    ///
    /// Each field is read as an `AnyJSONValue` and checked here, so a value of the wrong type
    /// and a wrong value get the same message, which quotes what was found. Throws `SWAError`
    /// without the `swa.preprocess:` prefix, which `parse` adds.
    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<CodingKeys>
        do {
            container = try decoder.container(keyedBy: CodingKeys.self)
        } catch DecodingError.typeMismatch {
            throw SWAError("expected a JSON object, found \(try decoder.singleValueContainer().decode(AnyJSONValue.self))")
        }
        // `contains` then `decode`, not `decodeIfPresent`: a null layout, mean or std is an error, not absent.
        func field(_ key: CodingKeys) throws -> AnyJSONValue? {
            container.contains(key) ? try container.decode(AnyJSONValue.self, forKey: key) : nil
        }
        func numbers(_ key: CodingKeys, positive: Bool) throws -> [Double] {
            guard let value = try field(key) else { throw SWAError("'\(key.stringValue)' is missing") }
            guard let items = value.listValue, !items.isEmpty else {
                throw SWAError("'\(key.stringValue)' is \(value); expected a non-empty list of numbers")
            }
            return try items.map { item in
                guard let number = item.doubleValue, number.isFinite, !positive || number > 0 else {
                    throw SWAError("'\(key.stringValue)' holds \(item); expected \(positive ? "positive" : "finite") numbers")
                }
                return number
            }
        }

        layout = .nchw
        if let value = try field(.layout) {
            guard let text = value.stringValue, let parsed = DataLayout(rawValue: text) else {
                throw SWAError("'layout' is \(value); expected \"nchw\", \"nhwc\" or \"nf\"")
            }
            layout = parsed
        }
        mean = try numbers(.mean, positive: false)
        std = try numbers(.std, positive: true)
        scale = nil
        if let value = try container.decodeIfPresent(AnyJSONValue.self, forKey: .scale) {
            guard let number = value.doubleValue, number.isFinite, number > 0 else {
                throw SWAError("'scale' is \(value); expected a positive number")
            }
            scale = number
        }
    }
}
