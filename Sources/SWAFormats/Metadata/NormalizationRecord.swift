import Foundation

/// The normalisation a tool applied to data and where it came from: printed in the summary
/// line and `--json` of every tool that runs a model, and recorded in `swa.bn` (docs/FORMAT.md).
///
/// A model input is `(raw · scale − mean[c]) / std[c]`; with no normalisation, `raw · scale`.
public struct NormalizationRecord: Codable, Sendable, Equatable {
    /// Where the normalisation came from.
    public enum Source: String, Codable, Sendable {
        /// `--mean/--std` on the command line.
        case flags
        /// The model checkpoint's `swa.preprocess` metadata.
        case metadata = "swa.preprocess"
        /// Neither: inputs are only scaled.
        case none
    }

    public var source: Source
    /// Layout of the data's `x`.
    public var layout: DataLayout
    /// Subtracted per channel after scaling; nil when `source` is `none`.
    public var mean: [Double]?
    /// Divided by per channel; nil when `source` is `none`.
    public var std: [Double]?
    /// What raw values were multiplied by first: 1/255 for uint8 data, else `swa.preprocess`'s `scale` or 1.
    public var scale: Double

    public init(source: Source, layout: DataLayout, mean: [Double]?, std: [Double]?, scale: Double) {
        self.source = source
        self.layout = layout
        self.mean = mean
        self.std = std
        self.scale = scale
    }

    /// One phrase for summary lines: `mean [0.3054] std [0.3758] after scaling by 1/255 (from --mean/--std)`.
    public var summary: String {
        let scaling = scale == 1 ? "" : (abs(scale - 1.0 / 255) < 1e-12 ? "scaling by 1/255" : "scaling by \(formatNumber(scale))")
        guard let mean, let std else {
            return "normalisation: none" + (scaling.isEmpty ? " (inputs as stored)" : " (inputs only scaled: \(scaling))")
        }
        let from = source == .flags ? "--mean/--std" : "swa.preprocess"
        return "normalisation: mean \(list(mean)) std \(list(std))" + (scaling.isEmpty ? "" : " after \(scaling)") + " (from \(from))"
    }

    /// Six significant digits, as people read them (`--json` and `swa.bn` keep every digit).
    private func list(_ values: [Double]) -> String { "[" + values.map(formatNumber).joined(separator: ", ") + "]" }
}

/// A number in at most six significant digits: `0.3054`, `1`, `0.305366`.
func formatNumber(_ value: Double) -> String {
    var text = String(value)
    if text.count > 8 {
        text = String(format: "%.6g", value)
    }
    return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
}
