import Foundation

/// A minimal SVG writer: elements appended as text in drawing order, numbers trimmed, text escaped.
///
/// Written by hand as apple/swift-collections-benchmark does on Linux
/// (`Charts/Graphics/Graphics+SVG.swift`): no dependency, numbers cut to a few significant
/// digits (coordinates of a canvas under 1000 px need no more than 0.1 px), and text measured
/// with fixed metrics so a layout is the same on every machine, fonts installed or not.
struct SVGDocument {
    /// Canvas size in px; also the `viewBox`.
    let width: Double
    let height: Double
    /// Every text element uses this family; `textWidth` assumes its glyphs are at most 0.6 em wide.
    let fontFamily = "sans-serif"
    private var lines: [String] = []
    private var depth = 1

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// The complete document, UTF-8 text ending with a newline.
    func rendered() -> String {
        var output = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        output += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" "
        output += "viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" font-family=\"\(fontFamily)\">\n"
        for line in lines { output += line + "\n" }
        output += "</svg>\n"
        return output
    }

    // MARK: - Elements

    /// Appends `<name attributes…/>`, or `<name attributes…>text</name>` when `text` is given.
    /// Attribute values and text are escaped here; callers pass them raw. Empty values are left out,
    /// so an optional attribute is written as `value ?? ""`.
    mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String>, text: String? = nil) {
        var line = String(repeating: "  ", count: depth) + "<" + name + Self.attributeText(attributes)
        if let text { line += ">" + Self.escaped(text) + "</\(name)>" } else { line += "/>" }
        lines.append(line)
    }

    /// Wraps the elements `body` appends in `<g attributes…>`.
    mutating func group(_ attributes: KeyValuePairs<String, String>, _ body: (inout SVGDocument) -> Void) {
        lines.append(String(repeating: "  ", count: depth) + "<g" + Self.attributeText(attributes) + ">")
        depth += 1
        body(&self)
        depth -= 1
        lines.append(String(repeating: "  ", count: depth) + "</g>")
    }

    /// A straight segment; `dash` is an SVG `stroke-dasharray` ("6 4": 6 px drawn, 4 px gap).
    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                       dash: String? = nil, className: String? = nil) {
        let n = Self.number
        element("line", ["class": className ?? "", "x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2),
                         "stroke": stroke, "stroke-width": n(width), "stroke-dasharray": dash ?? ""])
    }

    /// A text label; `rotation` in degrees turns it about its anchor point (−90 reads bottom to top).
    mutating func text(_ string: String, x: Double, y: Double, size: Double, anchor: String = "start",
                       bold: Bool = false, rotation: Double? = nil, className: String? = nil) {
        let n = Self.number
        let transform = rotation.map { "rotate(\(n($0)) \(n(x)) \(n(y)))" } ?? ""
        element("text", ["class": className ?? "", "x": n(x), "y": n(y), "font-size": n(size), "text-anchor": anchor,
                         "font-weight": bold ? "bold" : "", "transform": transform, "fill": "#222"],
                text: string)
    }

    private static func attributeText(_ attributes: KeyValuePairs<String, String>) -> String {
        var text = ""
        for (key, value) in attributes where !value.isEmpty { text += " \(key)=\"\(escaped(value))\"" }
        return text
    }

    // MARK: - Numbers and text

    /// `value` with at most 4 significant digits and no trailing zeros: 123.456 → "123.5",
    /// 5.0 → "5", 0.01234 → "0.012" (never more than 3 decimals), 1234.5 → "1235".
    /// Non-finite values, which no caller should pass, become "0" so the document stays valid.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let magnitude = abs(value)
        let decimals = magnitude < 1 ? 3 : max(0, 3 - Int(log10(magnitude).rounded(.down)))
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// `string` escaped for XML text and attribute values; characters XML 1.0 forbids
    /// (controls other than tab and newline) are dropped.
    static func escaped(_ string: String) -> String {
        var output = ""
        output.reserveCapacity(string.utf8.count)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            case "\t", "\n": output.unicodeScalars.append(scalar)
            case "\u{0}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": continue
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// Width of `string` at `size` px with fixed metrics, 0.6 em per character (swift-collections-benchmark's
    /// `DefaultRenderer` rule), bold 0.65 em: an upper bound for common sans-serif faces.
    static func textWidth(_ string: String, size: Double, bold: Bool = false) -> Double {
        Double(string.count) * size * (bold ? 0.65 : 0.6)
    }

    /// `string` cut and ended with "…" so that it measures at most `maxWidth`.
    static func truncated(_ string: String, size: Double, bold: Bool = false, maxWidth: Double) -> String {
        guard textWidth(string, size: size, bold: bold) > maxWidth else { return string }
        let fitting = Int(maxWidth / (size * (bold ? 0.65 : 0.6))) - 1
        return String(string.prefix(max(0, fitting))) + "…"
    }
}
