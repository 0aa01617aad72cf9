import Foundation

/// The plot of `swa-eval`: FGE ensemble accuracy and NLL against the number of members k, with the
/// single SWA model as a dashed horizontal line, so one sees how many members it takes to beat it
/// (Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better Generalization", which
/// compares SWA with the FGE ensemble of Garipov et al. 2018).
public struct EnsembleCurvePlot: Sendable {
    /// The ensemble of the first k members, one point per k.
    public let curve: [CurvePoint]
    /// The SWA model's test accuracy, a fraction 0 ... 1.
    public let swaAccuracy: Double?
    /// The SWA model's test NLL in nats.
    public let swaNLL: Double?
    /// The plot's heading, any text (escaped for XML when written).
    public let title: String

    /// A plot of `curve` against the SWA model's values; nothing is drawn until `svg()`.
    ///
    /// - Parameters:
    ///   - curve: the ensemble of the first k members for each k, in any order; points with a
    ///     non-finite accuracy or NLL are left out of that panel.
    ///   - swaAccuracy: the SWA model's test accuracy as a fraction 0 ... 1; nil (or non-finite) draws no line.
    ///   - swaNLL: the SWA model's test NLL in nats; nil (or non-finite) draws no line.
    ///   - title: shown on top, cut with "…" if wider than the canvas.
    public init(curve: [CurvePoint], swaAccuracy: Double?, swaNLL: Double?, title: String) {
        self.curve = curve
        self.swaAccuracy = swaAccuracy
        self.swaNLL = swaNLL
        self.title = title
    }

    /// A self-contained SVG document (UTF-8 text), 900 × 380 px: the title, a legend ("FGE ensemble of
    /// first k", "SWA model"), and two panels side by side, test accuracy (%) left and test NLL (nats)
    /// right, each with "nice" ticks, the ensemble as a polyline with point markers and the SWA value
    /// as a dashed line. The same input always gives the same bytes.
    public func svg() -> String {
        let ordered = curve.enumerated().sorted { ($0.element.k, $0.offset) < ($1.element.k, $1.offset) }.map(\.element)
        let accuracy = Panel(
            id: "accuracy", axisTitle: "test accuracy (%)", limits: 0...100,
            points: ordered.compactMap { $0.accuracy.isFinite ? ($0.k, 100 * $0.accuracy) : nil },
            swa: swaAccuracy.flatMap { $0.isFinite ? 100 * $0 : nil })
        let nll = Panel(
            id: "nll", axisTitle: "test NLL (nats)", limits: 0...Double.infinity,
            points: ordered.compactMap { $0.nll.isFinite ? ($0.k, $0.nll) : nil },
            swa: swaNLL.flatMap { $0.isFinite ? $0 : nil })

        let layout = Layout.standard
        var document = SVGDocument(width: layout.width, height: layout.height)
        document.element("title", [:], text: title)
        document.element("rect", ["width": "100%", "height": "100%", "fill": "white"])
        let titleWidth = layout.width - 2 * layout.margin
        document.text(SVGDocument.truncated(title, size: layout.titleSize, bold: true, maxWidth: titleWidth),
                      x: layout.width / 2, y: layout.titleBaseline, size: layout.titleSize, anchor: "middle", bold: true,
                      className: "title")
        drawLegend(showsSWA: accuracy.swa != nil || nll.swa != nil, layout: layout, into: &document)

        let ks = accuracy.points.map(\.k) + nll.points.map(\.k)
        let kRange = Double(ks.min() ?? 1)...Double(ks.max() ?? 1)
        let columnWidth = (layout.width - 2 * layout.margin - layout.panelGap) / 2
        for (index, panel) in [accuracy, nll].enumerated() {
            let left = layout.margin + Double(index) * (columnWidth + layout.panelGap)
            draw(panel, columnLeft: left, columnRight: left + columnWidth, kRange: kRange, layout: layout, into: &document)
        }
        return document.rendered()
    }
}

// MARK: - Layout and colours

extension EnsembleCurvePlot {
    /// One panel's data in display units (accuracy already in %), finite values only, ordered by k.
    struct Panel {
        let id: String
        let axisTitle: String
        /// Where the value axis may go; padding stops at these bounds unless data lies beyond them.
        let limits: ClosedRange<Double>
        let points: [(k: Int, value: Double)]
        let swa: Double?
    }

    /// Fixed geometry in px. Vertical positions are text baselines or plot edges from the top.
    struct Layout {
        var width = 900.0, height = 380.0, margin = 16.0, panelGap = 28.0
        var titleSize = 14.0, titleBaseline = 26.0
        var legendSize = 12.0, legendBaseline = 50.0
        var plotTop = 68.0, plotBottom = 322.0
        var tickSize = 12.0, axisTitleSize = 13.0, tickLength = 5.0

        static let standard = Layout()
    }

    static let ensembleColor = "#1f77b4"
    static let swaColor = "#d62728"
    static let axisColor = "#444"
    static let gridColor = "#e6e6e6"
    static let swaDash = "7 4"
}

// MARK: - Drawing

extension EnsembleCurvePlot {
    /// The legend as one centred row under the title, above both panels, so it never covers data.
    private func drawLegend(showsSWA: Bool, layout: Layout, into document: inout SVGDocument) {
        let sample = 26.0, gap = 6.0, spacing = 24.0, size = layout.legendSize
        let entries = ["FGE ensemble of first k"] + (showsSWA ? ["SWA model"] : [])
        let widths = entries.map { sample + gap + SVGDocument.textWidth($0, size: size) }
        var x = (layout.width - widths.reduce(0, +) - spacing * Double(entries.count - 1)) / 2
        let y = layout.legendBaseline - size * 0.35  // the middle of lowercase letters
        document.group(["class": "legend"]) { document in
            for (index, entry) in entries.enumerated() {
                if index == 0 {
                    document.line(x1: x, y1: y, x2: x + sample, y2: y, stroke: Self.ensembleColor, width: 2)
                    document.element("circle", ["cx": SVGDocument.number(x + sample / 2), "cy": SVGDocument.number(y),
                                                "r": "3", "fill": Self.ensembleColor])
                } else {
                    document.line(x1: x, y1: y, x2: x + sample, y2: y, stroke: Self.swaColor, width: 1.75, dash: Self.swaDash)
                }
                document.text(entry, x: x + sample + gap, y: layout.legendBaseline, size: size, className: "legend-label")
                x += widths[index] + spacing
            }
        }
    }

    /// One panel inside the column `columnLeft ... columnRight`: grid, ensemble, SWA line, markers, axes, labels.
    private func draw(_ panel: Panel, columnLeft: Double, columnRight: Double, kRange: ClosedRange<Double>,
                      layout: Layout, into document: inout SVGDocument) {
        let domain = Self.valueDomain(panel.points.map(\.value) + (panel.swa.map { [$0] } ?? []), limits: panel.limits)
        let valueTicks = AxisTicks.nice(in: domain)
        let labelWidth = valueTicks.labels.map { SVGDocument.textWidth($0, size: layout.tickSize) }.max() ?? 0
        // Rotated axis title (its text height), a gap, the widest tick label, a gap, the tick mark.
        let plotLeft = columnLeft + layout.axisTitleSize + 10 + labelWidth + 6 + layout.tickLength
        let plotRight = columnRight - 10  // half of the last k label may stick out
        let x = LinearScale(domain: Self.kDomain(kRange), from: plotLeft, to: plotRight)
        let y = LinearScale(domain: domain, from: layout.plotBottom, to: layout.plotTop)
        // Ticks only where members exist (no k = 0), spaced at least one widest label plus 14 px apart.
        let kLabelWidth = SVGDocument.textWidth(String(format: "%.0f", kRange.upperBound), size: layout.tickSize)
        let kTicks = AxisTicks.integers(in: kRange, maxCount: max(2, Int((plotRight - plotLeft) / (kLabelWidth + 14))))
        let n = SVGDocument.number

        document.group(["id": panel.id + "-panel", "class": "panel"]) { document in
            for value in valueTicks.values {
                document.line(x1: plotLeft, y1: y(value), x2: plotRight, y2: y(value), stroke: Self.gridColor, className: "grid")
            }
            let points = panel.points.map { (x(Double($0.k)), y($0.value)) }
            if !points.isEmpty {
                let coordinates = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
                document.element("polyline", ["class": "ensemble", "points": coordinates, "fill": "none",
                                              "stroke": Self.ensembleColor, "stroke-width": "2", "stroke-linejoin": "round"])
            }
            // Over the ensemble's line, under its markers: where both are equal the dashes stay visible.
            if let swa = panel.swa {
                document.line(x1: plotLeft, y1: y(swa), x2: plotRight, y2: y(swa), stroke: Self.swaColor, width: 1.75,
                              dash: Self.swaDash, className: "swa")
            }
            for point in points {
                document.element("circle", ["class": "marker", "cx": n(point.0), "cy": n(point.1), "r": "3.5",
                                            "fill": Self.ensembleColor, "stroke": "white", "stroke-width": "1"])
            }
            // Axes: left and bottom edges, ticks pointing out, labels outside.
            document.line(x1: plotLeft, y1: layout.plotBottom, x2: plotRight, y2: layout.plotBottom, stroke: Self.axisColor)
            document.line(x1: plotLeft, y1: layout.plotTop, x2: plotLeft, y2: layout.plotBottom, stroke: Self.axisColor)
            for (value, label) in zip(valueTicks.values, valueTicks.labels) {
                document.line(x1: plotLeft - layout.tickLength, y1: y(value), x2: plotLeft, y2: y(value), stroke: Self.axisColor)
                document.text(label, x: plotLeft - layout.tickLength - 3, y: y(value) + layout.tickSize * 0.35,
                              size: layout.tickSize, anchor: "end", className: "tick-label value")
            }
            for (value, label) in zip(kTicks.values, kTicks.labels) {
                document.line(x1: x(value), y1: layout.plotBottom, x2: x(value), y2: layout.plotBottom + layout.tickLength,
                              stroke: Self.axisColor)
                document.text(label, x: x(value), y: layout.plotBottom + layout.tickLength + layout.tickSize + 2,
                              size: layout.tickSize, anchor: "middle", className: "tick-label k")
            }
            document.text("ensemble members k", x: (plotLeft + plotRight) / 2, y: layout.plotBottom + 42,
                          size: layout.axisTitleSize, anchor: "middle", className: "axis-title")
            let middle = (layout.plotTop + layout.plotBottom) / 2
            document.text(panel.axisTitle, x: columnLeft + layout.axisTitleSize, y: middle, size: layout.axisTitleSize,
                          anchor: "middle", rotation: -90, className: "axis-title")
        }
    }
}

// MARK: - Scales and ticks

extension EnsembleCurvePlot {
    /// The k axis: every k shown with half a step (or 4 % of the span) to spare at each end.
    static func kDomain(_ ks: ClosedRange<Double>) -> ClosedRange<Double> {
        let pad = max(0.5, (ks.upperBound - ks.lowerBound) * 0.04)
        return (ks.lowerBound - pad)...(ks.upperBound + pad)
    }

    /// A value axis holding every value with 8 % of the span to spare at each end (2 % of the value,
    /// or 1, for a flat series), not crossing `limits` unless the values themselves do.
    static func valueDomain(_ values: [Double], limits: ClosedRange<Double>) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else {
            return limits.upperBound.isFinite ? limits : limits.lowerBound...(limits.lowerBound + 1)
        }
        let span = high - low
        let pad = span > 1e-9 * max(abs(low), abs(high)) ? 0.08 * span : (low == 0 ? 1 : 0.02 * abs(low))
        let lower = max(low - pad, min(limits.lowerBound, low))
        let upper = min(high + pad, max(limits.upperBound, high))
        return lower < upper ? lower...upper : (low - 1)...(high + 1)
    }
}

/// Maps a data interval linearly onto pixels: `domain.lowerBound` to `start`, `domain.upperBound` to `end`
/// (for y, `start` is the bottom edge and `end` the top, as SVG's y grows downwards).
struct LinearScale {
    let domain: ClosedRange<Double>
    let start: Double
    let end: Double

    init(domain: ClosedRange<Double>, from start: Double, to end: Double) {
        self.domain = domain
        self.start = start
        self.end = end
    }

    func callAsFunction(_ value: Double) -> Double {
        let span = domain.upperBound - domain.lowerBound
        return start + (value - domain.lowerBound) / span * (end - start)
    }
}

/// Tick positions and their labels along one axis.
struct AxisTicks: Equatable {
    var values: [Double]
    var labels: [String]

    /// About `target` ticks at multiples of 1, 2, 2.5 or 5 × 10ⁿ inside `domain`, labelled with
    /// just enough decimals to tell them apart (step 0.002 → "0.016", step 0.25 → "99.25").
    static func nice(in domain: ClosedRange<Double>, target: Int = 5) -> AxisTicks {
        let span = domain.upperBound - domain.lowerBound
        guard span > 0, span.isFinite else { return AxisTicks(values: [], labels: []) }
        let rough = span / Double(target)
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let fraction = rough / magnitude
        let multiple = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        let step = multiple * magnitude
        let first = (domain.lowerBound / step - 1e-9).rounded(.up)
        let last = (domain.upperBound / step + 1e-9).rounded(.down)
        guard last >= first, last - first < 100 else { return AxisTicks(values: [], labels: []) }
        let values = stride(from: first, through: last, by: 1).map { $0 * step }
        var decimals = max(0, -Int(log10(step).rounded(.down)))
        if multiple == 2.5 { decimals += 1 }
        let scientific = decimals > 6 || values.contains { abs($0) >= 1e6 }
        let labels = values.map { value -> String in
            let label = scientific ? String(format: "%.3g", value) : String(format: "%.\(decimals)f", value)
            return label.hasPrefix("-") && Double(label) == 0 ? String(label.dropFirst()) : label
        }
        return AxisTicks(values: values, labels: labels)
    }

    /// Integer ticks inside `domain`, every 1, 2, 5, 10, 20, 50 … so that at most `maxCount` are shown.
    static func integers(in domain: ClosedRange<Double>, maxCount: Int) -> AxisTicks {
        let first = domain.lowerBound.rounded(.up), last = domain.upperBound.rounded(.down)
        guard last >= first, first.isFinite, last.isFinite else { return AxisTicks(values: [], labels: []) }
        // Counted in Double so that no k, however large, overflows.
        func count(_ step: Double) -> Double { (last / step).rounded(.down) - (first / step).rounded(.up) + 1 }
        var magnitude = 1.0, step = 1.0
        search: while true {
            for multiple in [1.0, 2, 5] {
                step = multiple * magnitude
                if count(step) <= Double(max(1, maxCount)) { break search }
            }
            magnitude *= 10
        }
        let start = (first / step).rounded(.up)
        let values = stride(from: start, through: (last / step).rounded(.down), by: 1).map { $0 * step }
        return AxisTicks(values: values, labels: values.map { String(format: "%.0f", $0 == 0 ? 0 : $0) })  // never "-0"
    }
}
