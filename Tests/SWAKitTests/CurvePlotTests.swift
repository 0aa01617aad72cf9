import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The SVG plot of `swa-eval`: FGE ensemble accuracy and NLL against k, with the SWA model as dashed lines.
@Suite("Ensemble curve plot")
struct CurvePlotTests {
    /// A PyTorch golden curve (eval.curve of fixtures/golden/golden.json as it was for the
    /// clean-label fixture run, before the label noise), kept as fixed input for its shape:
    /// accuracy peaks at k = 2, so "highest accuracy" and "last point" are different points.
    static let golden: [CurvePoint] = [
        CurvePoint(k: 1, accuracy: 0.99195, nll: 0.023829),
        CurvePoint(k: 2, accuracy: 0.99799, nll: 0.019583),
        CurvePoint(k: 3, accuracy: 0.99598, nll: 0.018423),
        CurvePoint(k: 4, accuracy: 0.99598, nll: 0.017625),
        CurvePoint(k: 5, accuracy: 0.99598, nll: 0.016872),
        CurvePoint(k: 6, accuracy: 0.99598, nll: 0.016586),
    ]

    static func render(_ curve: [CurvePoint] = golden, swaAccuracy: Double? = 0.99700, swaNLL: Double? = 0.015657,
                       title: String = "SWA vs FGE") throws -> (text: String, svg: ParsedSVG) {
        let text = EnsembleCurvePlot(curve: curve, swaAccuracy: swaAccuracy, swaNLL: swaNLL, title: title).svg()
        return (text, try ParsedSVG(text))
    }

    // MARK: - Document

    @Test("The output is an XML document whose root is a sized svg element")
    func documentRoot() throws {
        let (text, svg) = try Self.render()
        #expect(text.hasPrefix("<?xml"))
        #expect(svg.root.name == "svg")
        #expect(svg.root.uri == "http://www.w3.org/2000/svg")
        #expect(svg.root.attributeValue("width") == "900")
        #expect(svg.root.attributeValue("height") == "380")
        #expect(svg.root.attributeValue("viewBox") == "0 0 900 380")
        #expect(svg.root.attributeValue("font-family") == "sans-serif")
        #expect(svg.panel("accuracy") != nil)
        #expect(svg.panel("nll") != nil)
    }

    @Test("The same input gives the same bytes, whatever the order of the points")
    func deterministic() throws {
        let (text, _) = try Self.render()
        let (again, _) = try Self.render()
        let (shuffled, _) = try Self.render([4, 1, 6, 3, 5, 2].map { Self.golden[$0 - 1] })
        #expect(text == again)
        #expect(text == shuffled)
    }

    @Test("Coordinates carry at most 4 significant digits")
    func compactNumbers() throws {
        let (_, svg) = try Self.render()
        var numbers: [String] = svg.elements.flatMap { element in
            ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy"].compactMap { element.attributeValue($0) }
        }
        for polyline in svg.elements(named: "polyline") {
            let points = polyline.attributeValue("points") ?? ""
            numbers += points.split { $0 == " " || $0 == "," }.map(String.init)
        }
        #expect(numbers.count > 100)
        for number in numbers {
            #expect(number.filter(\.isNumber).drop(while: { $0 == "0" }).count <= 4, "\(number)")
            #expect(Double(number) != nil, "\(number)")
        }
        #expect(SVGDocument.number(123.456) == "123.5")
        #expect(SVGDocument.number(5.0) == "5")
        #expect(SVGDocument.number(0.01234) == "0.012")
        #expect(SVGDocument.number(-0.0001) == "0")
        #expect(SVGDocument.number(.nan) == "0")
    }

    // MARK: - Data mapping

    @Test("Each panel draws K points in k order, x linear in k and y linear in the value, up is better for accuracy")
    func curvesMapData() throws {
        let (_, svg) = try Self.render()
        for (id, values) in [("accuracy", Self.golden.map { 100 * $0.accuracy }), ("nll", Self.golden.map(\.nll))] {
            let panel = try #require(svg.panel(id))
            let points = try #require(panel.ensemblePoints)
            #expect(points.count == 6)
            #expect(panel.elements(named: "circle", class: "marker").count == 6)
            let xStep = points[1].x - points[0].x
            #expect(xStep > 20)
            for index in points.indices {
                #expect(abs(points[index].x - points[0].x - Double(index) * xStep) < 0.2, "x of k = \(index + 1)")
            }
            // y = a + b value with b < 0 (SVG y grows downwards); b from the first and last point.
            let slope = (points[5].y - points[0].y) / (values[5] - values[0])
            #expect(slope < 0)
            for index in points.indices {
                #expect(abs(points[0].y + slope * (values[index] - values[0]) - points[index].y) < 0.2, "y of k = \(index + 1)")
            }
            let frame = try #require(panel.plotFrame)
            #expect(points.allSatisfy { frame.y.contains($0.y) && frame.x.contains($0.x) })
        }
        let accuracy = try #require(svg.panel("accuracy")?.ensemblePoints)
        #expect(accuracy.map(\.y).min() == accuracy[1].y)  // k = 2 has the best accuracy
        let nll = try #require(svg.panel("nll")?.ensemblePoints)
        #expect(nll.map(\.y).max() == nll[5].y)  // k = 6 has the lowest NLL
    }

    @Test("The SWA values are dashed lines across the panel at the height the curve's scale gives them")
    func swaLines() throws {
        // SWA accuracy lies inside the curve's range, SWA NLL below all of it: the axis must reach it.
        let (_, svg) = try Self.render(swaAccuracy: 0.99700, swaNLL: 0.012)
        let panels = [("accuracy", 99.700, Self.golden.map { 100 * $0.accuracy }), ("nll", 0.012, Self.golden.map(\.nll))]
        for (id, swa, values) in panels {
            let panel = try #require(svg.panel(id))
            let lines = panel.elements(named: "line", class: "swa")
            try #require(lines.count == 1)
            let line = lines[0]
            #expect(line.attributeValue("stroke-dasharray") != nil)
            let y1 = line.number("y1"), y2 = line.number("y2")
            #expect(y1 == y2)
            let frame = try #require(panel.plotFrame)
            #expect(line.number("x1") == frame.x.lowerBound && line.number("x2") == frame.x.upperBound)
            #expect(frame.y.contains(y1))
            let points = try #require(panel.ensemblePoints)
            let slope = (points[5].y - points[0].y) / (values[5] - values[0])
            #expect(abs(points[0].y + slope * (swa - values[0]) - y1) < 0.2)
        }
        let accuracy = try #require(svg.panel("accuracy"))
        let swaY = accuracy.elements(named: "line", class: "swa")[0].number("y1")
        let points = try #require(accuracy.ensemblePoints)
        #expect(points[0].y > swaY && points[1].y < swaY)  // k = 1 below the SWA model, k = 2 above
        let nll = try #require(svg.panel("nll"))
        let nllY = nll.elements(named: "line", class: "swa")[0].number("y1")
        #expect(try #require(nll.ensemblePoints).allSatisfy { $0.y < nllY })  // every ensemble is worse (higher)
    }

    @Test("Value ticks are nice numbers placed on the data's scale; k ticks are the integers 1 ... K")
    func ticks() throws {
        let (_, svg) = try Self.render()
        for (id, values) in [("accuracy", Self.golden.map { 100 * $0.accuracy }), ("nll", Self.golden.map(\.nll))] {
            let panel = try #require(svg.panel(id))
            let labels = panel.elements(named: "text", class: "value")
            let grid = panel.elements(named: "line", class: "grid")
            #expect(labels.count >= 3 && labels.count <= 8)
            try #require(labels.count == grid.count)
            let tickValues = labels.compactMap { Double($0.stringValue ?? "") }
            try #require(tickValues.count == labels.count)
            let step = tickValues[1] - tickValues[0]
            let mantissa = step / pow(10, log10(step).rounded(.down))
            #expect([1, 2, 2.5, 5].contains { abs($0 - mantissa) < 1e-6 }, "step \(step)")
            let points = try #require(panel.ensemblePoints)
            let slope = (points[5].y - points[0].y) / (values[5] - values[0])
            for (value, line) in zip(tickValues, grid) {
                #expect(abs(points[0].y + slope * (value - values[0]) - line.number("y1")) < 0.5, "tick \(value)")
            }
            let k = panel.elements(named: "text", class: "k").map { $0.stringValue ?? "" }
            #expect(k == ["1", "2", "3", "4", "5", "6"])
        }
        #expect(AxisTicks.nice(in: 0.0152...0.0245).labels == ["0.016", "0.018", "0.020", "0.022", "0.024"])
        #expect(AxisTicks.nice(in: 99.1...99.85).labels == ["99.2", "99.4", "99.6", "99.8"])
        #expect(AxisTicks.nice(in: -0.3...0.8).labels == ["-0.25", "0.00", "0.25", "0.50", "0.75"])
    }

    @Test("With K = 50 the k axis labels every 5th member")
    func manyMembers() throws {
        let curve = (1...50).map { CurvePoint(k: $0, accuracy: 0.99 + 0.0001 * Double($0), nll: 0.03 - 0.0002 * Double($0)) }
        let (_, svg) = try Self.render(curve)
        for id in ["accuracy", "nll"] {
            let panel = try #require(svg.panel(id))
            #expect(panel.ensemblePoints?.count == 50)
            let k = panel.elements(named: "text", class: "k").map { $0.stringValue ?? "" }
            #expect(k == stride(from: 5, through: 50, by: 5).map(String.init))
        }
        #expect(AxisTicks.integers(in: 1...6, maxCount: 12).labels == ["1", "2", "3", "4", "5", "6"])
        #expect(AxisTicks.integers(in: 1...13, maxCount: 12).labels == ["2", "4", "6", "8", "10", "12"])
        #expect(AxisTicks.integers(in: 1...50, maxCount: 3).labels == ["20", "40"])
        #expect(AxisTicks.integers(in: 0...0, maxCount: 12).labels == ["0"])
    }

    // MARK: - Text

    @Test("Legend entries, axis titles and the title are all there")
    func texts() throws {
        let (_, svg) = try Self.render(title: "SWA vs FGE on fixtures/data/test.npz")
        let texts = svg.elements(named: "text").map { $0.stringValue ?? "" }
        let legend = svg.elements(named: "text", class: "legend-label").map { $0.stringValue ?? "" }
        #expect(legend == ["FGE ensemble of first k", "SWA model"])
        #expect(texts.filter { $0 == "ensemble members k" }.count == 2)
        #expect(svg.panel("accuracy")?.elements(named: "text", class: "axis-title").map { $0.stringValue ?? "" }
            == ["ensemble members k", "test accuracy (%)"])
        #expect(svg.panel("nll")?.elements(named: "text", class: "axis-title").map { $0.stringValue ?? "" }
            == ["ensemble members k", "test NLL (nats)"])
        #expect(svg.elements(named: "text", class: "title").first?.stringValue == "SWA vs FGE on fixtures/data/test.npz")
    }

    @Test("Markup in the title is escaped and reads back unchanged")
    func escapedTitle() throws {
        let title = #"a <b> & "c" 'd' </svg>"#
        let (text, svg) = try Self.render(title: title)
        #expect(text.contains("a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &lt;/svg&gt;"))
        #expect(!text.contains("<b>"))
        #expect(svg.elements(named: "text", class: "title").first?.stringValue == title)
        #expect(svg.elements(named: "title").first?.stringValue == title)
        #expect(SVGDocument.escaped("x\u{1}y\tz") == "xy\tz")  // a control character would make the XML invalid
    }

    @Test("A title wider than the canvas is cut with an ellipsis")
    func longTitle() throws {
        let title = String(repeating: "checkpoints/", count: 20)
        let (_, svg) = try Self.render(title: title)
        let shown = try #require(svg.elements(named: "text", class: "title").first?.stringValue)
        #expect(shown.hasSuffix("…") && shown.count < title.count)
        #expect(SVGDocument.textWidth(shown, size: 14, bold: true) <= 900 - 32)
    }

    // MARK: - Degenerate input

    @Test("A single point and a flat series still draw on a non-empty axis, with no NaN")
    func degenerate() throws {
        let single = [CurvePoint(k: 1, accuracy: 0.995, nll: 0.02)]
        let flat = (1...4).map { CurvePoint(k: $0, accuracy: 1.0, nll: 0.0) }
        for (curve, swa) in [(single, 0.995), (flat, 1.0)] {
            let (text, svg) = try Self.render(curve, swaAccuracy: swa, swaNLL: curve[0].nll)
            #expect(!text.lowercased().contains("nan") && !text.lowercased().contains("inf"))
            for id in ["accuracy", "nll"] {
                let panel = try #require(svg.panel(id))
                let points = try #require(panel.ensemblePoints)
                #expect(points.count == curve.count)
                let frame = try #require(panel.plotFrame)
                #expect(frame.y.upperBound - frame.y.lowerBound > 100)
                #expect(points.allSatisfy { frame.x.contains($0.x) && frame.y.contains($0.y) })
                #expect(panel.elements(named: "text", class: "value").count >= 2)
                #expect(panel.elements(named: "line", class: "swa").first?.number("y1") == points[0].y)
            }
        }
        // Padding stops at 100 % and 0 nats when the data do not go past them.
        #expect(EnsembleCurvePlot.valueDomain([100, 100], limits: 0...100) == 98...100)
        #expect(EnsembleCurvePlot.valueDomain([0], limits: 0...Double.infinity) == 0...1)
        #expect(EnsembleCurvePlot.valueDomain([150], limits: 0...100) == 147...150)
    }

    @Test("Non-finite values are left out of their panel only; a non-finite SWA value draws no line")
    func nonFinite() throws {
        var curve = Self.golden
        curve[2].accuracy = .nan
        curve[4].nll = .infinity
        let (text, svg) = try Self.render(curve, swaAccuracy: .nan, swaNLL: 0.015)
        #expect(!text.lowercased().contains("nan") && !text.lowercased().contains("inf"))
        #expect(svg.panel("accuracy")?.ensemblePoints?.count == 5)
        #expect(svg.panel("nll")?.ensemblePoints?.count == 5)
        #expect(svg.panel("accuracy")?.elements(named: "line", class: "swa").count == 0)
        #expect(svg.panel("nll")?.elements(named: "line", class: "swa").count == 1)
    }

    @Test("Without SWA values there is no dashed line and no legend entry for it")
    func withoutSWA() throws {
        let (text, svg) = try Self.render(swaAccuracy: nil, swaNLL: nil)
        #expect(svg.elements(named: "line", class: "swa").isEmpty)
        #expect(!text.contains("stroke-dasharray"))
        #expect(svg.elements(named: "text", class: "legend-label").map { $0.stringValue ?? "" } == ["FGE ensemble of first k"])

        let (_, onlyNLL) = try Self.render(swaAccuracy: nil, swaNLL: 0.017)
        #expect(onlyNLL.panel("accuracy")?.elements(named: "line", class: "swa").count == 0)
        #expect(onlyNLL.panel("nll")?.elements(named: "line", class: "swa").count == 1)
        #expect(onlyNLL.elements(named: "text", class: "legend-label").count == 2)
    }

    @Test("An empty curve still gives a valid document, with axes and no polyline")
    func emptyCurve() throws {
        let (text, svg) = try Self.render([], swaAccuracy: 0.99, swaNLL: nil)
        #expect(!text.lowercased().contains("nan"))
        #expect(svg.elements(named: "polyline").isEmpty && svg.elements(named: "circle", class: "marker").isEmpty)
        #expect(svg.panel("nll")?.plotFrame != nil)
        #expect(svg.panel("accuracy")?.elements(named: "line", class: "swa").count == 1)
    }
}

// MARK: - Reading the SVG back

/// An SVG document parsed with Foundation's XML parser, its elements in document order.
struct ParsedSVG {
    let root: XMLElement
    let elements: [XMLElement]

    init(_ text: String) throws {
        let document = try XMLDocument(xmlString: text, options: [])
        root = try #require(document.rootElement())
        elements = Self.descendants(of: root)
    }

    private init(root: XMLElement) {
        self.root = root
        elements = Self.descendants(of: root)
    }

    private static func descendants(of element: XMLElement) -> [XMLElement] {
        (element.children ?? []).compactMap { $0 as? XMLElement }.flatMap { [$0] + descendants(of: $0) }
    }

    /// Elements called `name` (local name; the SVG namespace is the default one), with `class` among their classes.
    func elements(named name: String, class className: String? = nil) -> [XMLElement] {
        elements.filter { element in
            let classes = (element.attributeValue("class") ?? "").split(separator: " ")
            return element.localName == name && (className.map { classes.contains(Substring($0)) } ?? true)
        }
    }

    /// The `<g id="<id>-panel">` group.
    func panel(_ id: String) -> ParsedSVG? {
        elements(named: "g").first { $0.attributeValue("id") == id + "-panel" }.map { ParsedSVG(root: $0) }
    }

    /// The points of the panel's ensemble polyline.
    var ensemblePoints: [(x: Double, y: Double)]? {
        let polylines = elements(named: "polyline", class: "ensemble")
        guard polylines.count == 1, let text = polylines[0].attributeValue("points") else { return nil }
        return text.split(separator: " ").compactMap { pair in
            let parts = pair.split(separator: ",").compactMap { Double($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    /// The plot area from the panel's axes: the vertical axis line gives the top, bottom and left,
    /// the horizontal one the right.
    var plotFrame: (x: ClosedRange<Double>, y: ClosedRange<Double>)? {
        let axes = elements(named: "line").filter { $0.attributeValue("class") == nil }
        guard let vertical = axes.first(where: { $0.number("x1") == $0.number("x2") && $0.number("y2") - $0.number("y1") > 50 }),
              let horizontal = axes.first(where: { $0.number("y1") == $0.number("y2") && $0.number("x2") - $0.number("x1") > 50 })
        else { return nil }
        return (vertical.number("x1")...horizontal.number("x2"), vertical.number("y1")...vertical.number("y2"))
    }
}

extension XMLElement {
    /// The value of the attribute `name`. (`attribute(forName:)` of swift-corelibs-foundation finds
    /// nothing on an element in a default namespace, as every SVG element is.)
    func attributeValue(_ name: String) -> String? {
        attributes?.first { $0.name == name }?.stringValue
    }

    /// A numeric attribute, NaN when missing or not a number (so comparisons with it fail).
    func number(_ name: String) -> Double {
        attributeValue(name).flatMap(Double.init) ?? .nan
    }
}
