/// How the samples of a data file's `x` are laid out.
public enum DataLayout: String, Sendable, CaseIterable {
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
/// value for all. Stored in checkpoints as the `swa.preprocess` metadata JSON.
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

    /// Parses the checkpoint metadata JSON `{"layout": "nchw", "mean": [...], "std": [...], "scale": 1.0}`.
    ///
    /// `mean` and `std` are required; `layout` defaults to `nchw`; `scale` may be absent or
    /// `null`. Other keys are ignored, so later writers may add some.
    /// - Parameter file: the checkpoint the JSON came from, named in errors.
    public static func parse(metadataJSON: String, file: String? = nil) throws -> Preprocessing {
        func failure(_ message: String) -> SWAError { SWAError(file: file, "swa.preprocess: \(message)") }
        let value: JSONValue
        do {
            value = try JSONValue.parse(metadataJSON)
        } catch {
            throw failure("not valid JSON: \(error)")
        }
        guard value.objectMembers != nil else { throw failure("expected a JSON object, found \(value.serialized)") }
        var layout = DataLayout.nchw
        if let layoutValue = value["layout"] {
            guard let text = layoutValue.stringValue, let parsed = DataLayout(rawValue: text) else {
                throw failure("'layout' is \(layoutValue.serialized); expected \"nchw\", \"nhwc\" or \"nf\"")
            }
            layout = parsed
        }
        func numbers(_ key: String, positive: Bool) throws -> [Double] {
            guard let entry = value[key] else { throw failure("'\(key)' is missing") }
            guard let items = entry.arrayValue, !items.isEmpty else {
                throw failure("'\(key)' is \(entry.serialized); expected a non-empty list of numbers")
            }
            return try items.map { item in
                guard let number = item.doubleValue, number.isFinite, !positive || number > 0 else {
                    throw failure("'\(key)' holds \(item.serialized); expected \(positive ? "positive" : "finite") numbers")
                }
                return number
            }
        }
        let mean = try numbers("mean", positive: false)
        let std = try numbers("std", positive: true)
        var scale: Double?
        if let scaleValue = value["scale"], scaleValue != .null {
            guard let number = scaleValue.doubleValue, number.isFinite, number > 0 else {
                throw failure("'scale' is \(scaleValue.serialized); expected a positive number")
            }
            scale = number
        }
        return Preprocessing(layout: layout, mean: mean, std: std, scale: scale)
    }

    /// The metadata JSON `parse(metadataJSON:)` reads, with keys in a fixed order.
    public var metadataJSON: String {
        var members: [(String, JSONValue)] = [
            ("layout", .string(layout.rawValue)),
            ("mean", .array(mean.map { .number("\($0)") })),
            ("std", .array(std.map { .number("\($0)") })),
        ]
        if let scale { members.append(("scale", .number("\(scale)"))) }
        return JSONValue.object(members).serialized
    }
}
