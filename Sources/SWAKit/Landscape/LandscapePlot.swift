import Foundation

// The SVG plots of swa-landscape, drawn with the writer and scales of swa-eval's plot
// (SVGDocument, LinearScale, AxisTicks): the same input always gives the same bytes.

extension LandscapeReport {
    /// The plot of this report: `line` (train loss and test error against t, both ends marked),
    /// `width` (one faint line per direction, a bold mean, one colour per model: the paper's
    /// Figure 4), `plane` (a heat map of test error with the three points and the marks).
    public func plotSVG() -> String {
        switch kind {
        case "width": return LandscapePlot.width(self)
        case "plane": return LandscapePlot.plane(self)
        default: return LandscapePlot.line(self)
        }
    }
}

enum LandscapePlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    static let axisColor = "#444", gridColor = "#e6e6e6"
    static let width = 900.0, height = 400.0, margin = 16.0, plotTop = 78.0, plotBottom = 340.0

    /// A series of one panel: a polyline, optionally with point markers.
    struct Series {
        var points: [(x: Double, y: Double)]
        var color: String
        var strokeWidth = 2.0
        var opacity = 1.0
        var markers = false
    }

    /// One panel: axis titles, series, vertical markers (x, label).
    struct Panel {
        var id: String
        var xTitle: String
        var yTitle: String
        var series: [Series]
        var verticals: [(x: Double, label: String)] = []
    }

    static func fileName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }

    // MARK: - The three plots

    static func line(_ report: LandscapeReport) -> String {
        let ordered = report.points.compactMap { p in p.t.map { ($0, p) } }.sorted { $0.0 < $1.0 }
        let ends = [(0.0, "A"), (1.0, "B")]
        let loss = Panel(id: "train-loss", xTitle: "t  (w = (1 − t)·A + t·B)", yTitle: "train loss (nats)",
                         series: [Series(points: ordered.map { ($0.0, $0.1.trainLoss) }, color: palette[0], markers: true)],
                         verticals: ends)
        let error = Panel(id: "test-error", xTitle: "t  (w = (1 − t)·A + t·B)", yTitle: "test error (%)",
                          series: [Series(points: ordered.map { ($0.0, 100 * $0.1.testError) }, color: palette[1], markers: true)],
                          verticals: ends)
        let names = report.models.map(fileName)
        let legend = "A = \(names.first ?? "?"),  B = \(names.dropFirst().first ?? "?")"
        return twoPanels(title: "Loss and error on the line from A to B (BN \(report.bn.rawValue))", subtitle: legend, panels: [loss, error])
    }

    static func width(_ report: LandscapeReport) -> String {
        var lossSeries: [Series] = [], errorSeries: [Series] = []
        var legend: [String] = []
        for (index, model) in report.models.enumerated() {
            let color = palette[index % palette.count]
            let points = report.points.filter { $0.model == model }
            let directions = Set(points.compactMap(\.direction)).sorted()
            var lossByT: [Double: [Double]] = [:], errorByT: [Double: [Double]] = [:]
            for direction in directions {
                let curve = points.filter { $0.direction == direction }.compactMap { p in p.t.map { ($0, p) } }.sorted { $0.0 < $1.0 }
                lossSeries.append(Series(points: curve.map { ($0.0, $0.1.trainLoss) }, color: color, strokeWidth: 1, opacity: 0.3))
                errorSeries.append(Series(points: curve.map { ($0.0, 100 * $0.1.testError) }, color: color, strokeWidth: 1, opacity: 0.3))
                for (t, p) in curve {
                    lossByT[t, default: []].append(p.trainLoss)
                    errorByT[t, default: []].append(100 * p.testError)
                }
            }
            func mean(_ table: [Double: [Double]]) -> [(x: Double, y: Double)] {
                table.keys.sorted().map { ($0, table[$0]!.reduce(0, +) / Double(table[$0]!.count)) }
            }
            lossSeries.append(Series(points: mean(lossByT), color: color, strokeWidth: 3))
            errorSeries.append(Series(points: mean(errorByT), color: color, strokeWidth: 3))
            let summary = report.widths?.first { $0.model == model }
            let widthText = summary.map { s in s.mean.map { String(format: "width %.3g", $0) } ?? "width beyond the range" } ?? ""
            legend.append("\(fileName(model)): \(widthText)")
        }
        let count = report.directions?.count ?? 0
        let loss = Panel(id: "train-loss", xTitle: "distance along a random direction", yTitle: "train loss (nats)", series: lossSeries)
        let error = Panel(id: "test-error", xTitle: "distance along a random direction", yTitle: "test error (%)", series: errorSeries)
        return twoPanels(title: "\(count) random directions: faint each, bold their mean (BN \(report.bn.rawValue))",
                         subtitle: legend.joined(separator: "   "), panels: [loss, error], colors: report.models.indices.map { palette[$0 % palette.count] },
                         legendEntries: legend)
    }

    // MARK: - Two panels side by side

    static func twoPanels(title: String, subtitle: String, panels: [Panel], colors: [String] = [], legendEntries: [String] = []) -> String {
        var document = SVGDocument(width: width, height: height)
        document.element("title", [:], text: title)
        document.element("rect", ["width": "100%", "height": "100%", "fill": "white"])
        document.text(SVGDocument.truncated(title, size: 14, bold: true, maxWidth: width - 2 * margin), x: width / 2, y: 26, size: 14,
                      anchor: "middle", bold: true, className: "title")
        if legendEntries.isEmpty {
            document.text(SVGDocument.truncated(subtitle, size: 12, maxWidth: width - 2 * margin), x: width / 2, y: 50, size: 12,
                          anchor: "middle", className: "legend-label")
        } else {
            drawLegend(legendEntries, colors: colors, y: 50, into: &document)
        }
        let gap = 28.0, column = (width - 2 * margin - gap) / 2
        for (index, panel) in panels.enumerated() {
            let left = margin + Double(index) * (column + gap)
            draw(panel, left: left, right: left + column, into: &document)
        }
        return document.rendered()
    }

    static func drawLegend(_ entries: [String], colors: [String], y: Double, into document: inout SVGDocument) {
        let sample = 22.0, gap = 6.0, spacing = 20.0, size = 12.0
        let widths = entries.map { sample + gap + SVGDocument.textWidth($0, size: size) }
        var x = max(margin, (width - widths.reduce(0, +) - spacing * Double(max(entries.count - 1, 0))) / 2)
        document.group(["class": "legend"]) { document in
            for (index, entry) in entries.enumerated() {
                document.line(x1: x, y1: y - 4, x2: x + sample, y2: y - 4, stroke: colors[index], width: 3)
                document.text(entry, x: x + sample + gap, y: y, size: size, className: "legend-label")
                x += widths[index] + spacing
            }
        }
    }

    static func draw(_ panel: Panel, left: Double, right: Double, into document: inout SVGDocument) {
        let xs = panel.series.flatMap { $0.points.map(\.x) }.filter(\.isFinite) + panel.verticals.map(\.x)
        let ys = panel.series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xDomain = paddedDomain(xs, pad: 0.03)
        let yDomain = paddedDomain(ys, pad: 0.08)
        let yTicks = AxisTicks.nice(in: yDomain), xTicks = AxisTicks.nice(in: xDomain, target: 6)
        let labelWidth = yTicks.labels.map { SVGDocument.textWidth($0, size: 12) }.max() ?? 0
        let plotLeft = left + 13 + 10 + labelWidth + 6 + 5, plotRight = right - 10
        let x = LinearScale(domain: xDomain, from: plotLeft, to: plotRight)
        let y = LinearScale(domain: yDomain, from: plotBottom, to: plotTop)
        let n = SVGDocument.number
        document.group(["id": panel.id + "-panel", "class": "panel"]) { document in
            for value in yTicks.values {
                document.line(x1: plotLeft, y1: y(value), x2: plotRight, y2: y(value), stroke: gridColor, className: "grid")
            }
            for vertical in panel.verticals where xDomain.contains(vertical.x) {
                document.line(x1: x(vertical.x), y1: plotTop, x2: x(vertical.x), y2: plotBottom, stroke: "#888", width: 1.25,
                              dash: "5 4", className: "endpoint")
                document.text(vertical.label, x: x(vertical.x), y: plotTop - 4, size: 12, anchor: "middle", bold: true,
                              className: "endpoint-label")
            }
            for series in panel.series {
                let points = series.points.filter { $0.x.isFinite && $0.y.isFinite }
                guard !points.isEmpty else { continue }
                document.element("polyline", ["class": "series", "points": points.map { "\(n(x($0.x))),\(n(y($0.y)))" }.joined(separator: " "),
                                              "fill": "none", "stroke": series.color, "stroke-width": n(series.strokeWidth),
                                              "stroke-opacity": series.opacity < 1 ? n(series.opacity) : "", "stroke-linejoin": "round"])
                if series.markers {
                    for point in points {
                        let isEnd = panel.verticals.contains { $0.x == point.x }
                        document.element("circle", ["class": isEnd ? "endpoint-marker" : "marker", "cx": n(x(point.x)), "cy": n(y(point.y)),
                                                    "r": isEnd ? "6" : "3.5", "fill": series.color, "stroke": "white", "stroke-width": "1"])
                    }
                }
            }
            drawAxes(xTicks: xTicks, yTicks: yTicks, x: x, y: y, plotLeft: plotLeft, plotRight: plotRight,
                     plotTop: plotTop, plotBottom: plotBottom, into: &document)
            document.text(panel.xTitle, x: (plotLeft + plotRight) / 2, y: plotBottom + 42, size: 13, anchor: "middle", className: "axis-title")
            document.text(panel.yTitle, x: left + 13, y: (plotTop + plotBottom) / 2, size: 13, anchor: "middle", rotation: -90,
                          className: "axis-title")
        }
    }

    /// The plot's left and bottom axes with their ticks and labels. The edges are the caller's:
    /// the line and width panels share `plotTop`/`plotBottom`, the plane's square plot has its own.
    static func drawAxes(xTicks: AxisTicks, yTicks: AxisTicks, x: LinearScale, y: LinearScale, plotLeft: Double, plotRight: Double,
                         plotTop: Double, plotBottom: Double, into document: inout SVGDocument) {
        document.line(x1: plotLeft, y1: plotBottom, x2: plotRight, y2: plotBottom, stroke: axisColor)
        document.line(x1: plotLeft, y1: plotTop, x2: plotLeft, y2: plotBottom, stroke: axisColor)
        for (value, label) in zip(yTicks.values, yTicks.labels) {
            document.line(x1: plotLeft - 5, y1: y(value), x2: plotLeft, y2: y(value), stroke: axisColor)
            document.text(label, x: plotLeft - 8, y: y(value) + 4.2, size: 12, anchor: "end", className: "tick-label")
        }
        for (value, label) in zip(xTicks.values, xTicks.labels) {
            document.line(x1: x(value), y1: plotBottom, x2: x(value), y2: plotBottom + 5, stroke: axisColor)
            document.text(label, x: x(value), y: plotBottom + 19, size: 12, anchor: "middle", className: "tick-label")
        }
    }

    /// The range of `values` with `pad` × its span to spare on each side (±1 around a flat series).
    static func paddedDomain(_ values: [Double], pad: Double) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else { return 0 ... 1 }
        let span = high - low
        guard span > 1e-12 * max(abs(low), abs(high), 1e-300) else { return (low - max(abs(low) * 0.05, 0.5)) ... (high + max(abs(high) * 0.05, 0.5)) }
        return (low - pad * span) ... (high + pad * span)
    }
}
