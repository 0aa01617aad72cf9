import Foundation

// MARK: - plane: a heat map of test error (the paper's Figure 1)

extension LandscapePlot {
    /// A filled heat map of test error over the lattice (one cell per point, coloured on a
    /// viridis-like scale from the lowest to the highest error), the points defining the plane
    /// as white circles, marks as white diamonds, and the `--pca` path as a white polyline;
    /// a colour bar on the right.
    static func plane(_ report: LandscapeReport) -> String {
        let size = 560.0, barWidth = 16.0
        let canvasWidth = 760.0, canvasHeight = 660.0
        var document = SVGDocument(width: canvasWidth, height: canvasHeight)
        let title = "Test error on the plane (\(report.plane?.basis ?? "plane"), BN \(report.bn.rawValue))"
        document.element("title", [:], text: title)
        document.element("rect", ["width": "100%", "height": "100%", "fill": "white"])
        document.text(title, x: canvasWidth / 2, y: 26, size: 14, anchor: "middle", bold: true, className: "title")
        guard let plane = report.plane, plane.aValues.count >= 2, plane.bValues.count >= 2 else { return document.rendered() }
        let aValues = plane.aValues, bValues = plane.bValues
        let plotLeft = 80.0, plotTop = 50.0, plotRight = plotLeft + size, plotBottom = plotTop + size
        let aStep = aValues[1] - aValues[0], bStep = bValues[1] - bValues[0]
        let x = LinearScale(domain: (aValues.first! - aStep / 2) ... (aValues.last! + aStep / 2), from: plotLeft, to: plotRight)
        let y = LinearScale(domain: (bValues.first! - bStep / 2) ... (bValues.last! + bStep / 2), from: plotBottom, to: plotTop)
        let errors = report.points.map { 100 * $0.testError }.filter(\.isFinite)
        let low = errors.min() ?? 0, high = max(errors.max() ?? 1, low + 1e-9)
        let n = SVGDocument.number
        document.group(["id": "heat-map", "class": "heat-map", "shape-rendering": "crispEdges"]) { document in
            for point in report.points {
                guard let a = point.a, let b = point.b else { continue }
                let value = 100 * point.testError
                document.element("rect", ["x": n(x(a - aStep / 2)), "y": n(y(b + bStep / 2)),
                                          "width": n(abs(x(a + aStep / 2) - x(a - aStep / 2)) + 0.5),
                                          "height": n(abs(y(b - bStep / 2) - y(b + bStep / 2)) + 0.5),
                                          "fill": value.isFinite ? color((value - low) / (high - low)) : "#000"])
            }
        }
        let path = plane.placed.filter { $0.role == "checkpoint" }
        if path.count > 1 {
            document.element("polyline", ["class": "trajectory", "points": path.map { "\(n(x($0.a))),\(n(y($0.b)))" }.joined(separator: " "),
                                          "fill": "none", "stroke": "white", "stroke-width": "1.5"])
        }
        for placed in plane.placed {
            let cx = x(placed.a), cy = y(placed.b)
            switch placed.role {
            case "mark":
                let r = 7.0
                document.element("polygon", ["class": "mark", "points": "\(n(cx)),\(n(cy - r)) \(n(cx + r)),\(n(cy)) \(n(cx)),\(n(cy + r)) \(n(cx - r)),\(n(cy))",
                                             "fill": "white", "stroke": "#222", "stroke-width": "1.5"])
            case "checkpoint":
                document.element("circle", ["class": "checkpoint", "cx": n(cx), "cy": n(cy), "r": "2.5", "fill": "white"])
            default:
                document.element("circle", ["class": "point", "cx": n(cx), "cy": n(cy), "r": "6", "fill": "white", "stroke": "#222", "stroke-width": "1.5"])
            }
            if placed.role != "checkpoint" {
                // Right of the point, or left of it near the right edge, so the label stays inside the
                // plot; a white halo keeps it readable on dark cells.
                let onRight = cx < plotLeft + 0.75 * (plotRight - plotLeft)
                document.element("text", ["class": "placed-label", "x": n(onRight ? cx + 9 : cx - 9), "y": n(cy - 8), "font-size": "12",
                                          "text-anchor": onRight ? "start" : "end", "font-weight": "bold", "fill": "#111",
                                          "stroke": "white", "stroke-width": "3", "paint-order": "stroke"],
                                 text: fileName(placed.model))
            }
        }
        let aTicks = AxisTicks.nice(in: x.domain, target: 6), bTicks = AxisTicks.nice(in: y.domain, target: 6)
        drawAxes(xTicks: aTicks, yTicks: bTicks, x: x, y: y, plotLeft: plotLeft, plotRight: plotRight,
                 plotTop: plotTop, plotBottom: plotBottom, into: &document)
        document.text("a (distance along u)", x: (plotLeft + plotRight) / 2, y: plotBottom + 42, size: 13, anchor: "middle", className: "axis-title")
        document.text("b (distance along v)", x: 24, y: (plotTop + plotBottom) / 2, size: 13, anchor: "middle", rotation: -90, className: "axis-title")

        // The colour bar: 50 bands from the lowest error (bottom) to the highest (top).
        let barLeft = plotRight + 40
        let bar = LinearScale(domain: low ... high, from: plotBottom, to: plotTop)
        document.group(["id": "colour-bar", "class": "colour-bar", "shape-rendering": "crispEdges"]) { document in
            for band in 0 ..< 50 {
                let fraction = (Double(band) + 0.5) / 50
                let top = plotTop + (plotBottom - plotTop) * Double(49 - band) / 50
                document.element("rect", ["x": n(barLeft), "y": n(top), "width": n(barWidth), "height": n((plotBottom - plotTop) / 50 + 0.5),
                                          "fill": color(fraction)])
            }
        }
        for (value, label) in zip(AxisTicks.nice(in: low ... high).values, AxisTicks.nice(in: low ... high).labels) {
            document.line(x1: barLeft + barWidth, y1: bar(value), x2: barLeft + barWidth + 4, y2: bar(value), stroke: axisColor)
            document.text(label, x: barLeft + barWidth + 7, y: bar(value) + 4.2, size: 12, className: "tick-label")
        }
        document.text("test error (%)", x: barLeft + barWidth + 62, y: (plotTop + plotBottom) / 2, size: 13, anchor: "middle",
                      rotation: -90, className: "axis-title")
        return document.rendered()
    }

    /// A colour for `fraction` in 0 ... 1 on a viridis-like scale (dark purple, blue, green,
    /// yellow), interpolated linearly between five of viridis's colours.
    static func color(_ fraction: Double) -> String {
        let stops: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let f = min(1, max(0, fraction.isFinite ? fraction : 0)) * Double(stops.count - 1)
        let index = min(Int(f), stops.count - 2), w = f - Double(index)
        let (r0, g0, b0) = stops[index], (r1, g1, b1) = stops[index + 1]
        func mix(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * w).rounded()) }
        return String(format: "#%02x%02x%02x", mix(r0, r1), mix(g0, g1), mix(b0, b1))
    }
}
