import Foundation
import SWAKit

/// The table `swa-landscape` prints: the points (line), the width per model with the mean
/// curve over directions (width), the placed models and the best lattice point (plane).
public struct LandscapeTable {
    public let report: LandscapeReport

    public init(report: LandscapeReport) { self.report = report }

    static let header = "train loss  train err %  test err %  test NLL"

    static func metrics(_ m: PointMetrics) -> String {
        String(format: "%10.4f  %11.2f  %10.2f  %8.4f", m.trainLoss, 100 * m.trainError, 100 * m.testError, m.testNLL)
    }

    public var text: String {
        var lines: [String] = []
        switch report.kind {
        case "width": lines = widthLines
        case "plane": lines = planeLines
        default:
            lines.append("A = \(report.models.first ?? "?"), B = \(report.models.dropFirst().first ?? "?")")
            lines.append("       t  " + Self.header)
            for point in report.points {
                lines.append(String(format: "%8.3f  ", point.t ?? .nan) + Self.metrics(point.metrics))
            }
        }
        lines.append("")
        lines.append("train: \(report.train.path), \(report.train.samples) samples; test: \(report.test.path), \(report.test.samples) samples; "
            + "BN statistics \(report.bn == .update ? "recomputed at every point" : "kept")")
        lines.append(String(format: "%d points in %.1f s (%.2f points/s, %d at once)", report.points.count, report.seconds,
                            report.pointsPerSecond, report.threads))
        return lines.joined(separator: "\n")
    }

    private var widthLines: [String] {
        var lines: [String] = []
        for summary in report.widths ?? [] {
            let widths = summary.widths.map { $0.map { String(format: "%.3g", $0) } ?? ">max" }.joined(separator: " ")
            let mean = summary.mean.map { String(format: "%.4g", $0) } ?? "beyond the largest distance for some direction"
            lines.append("\(summary.model): train loss \(String(format: "%.4f", summary.trainLoss)), "
                + "width at loss \(String(format: "%.4f", summary.threshold)): mean \(mean) (per direction: \(widths))")
            lines.append("  distance  " + Self.header + "   (mean over directions)")
            let points = report.points.filter { $0.model == summary.model }
            let ts = Array(Set(points.compactMap(\.t))).sorted()
            for t in ts {
                let at = points.filter { $0.t == t }.map(\.metrics)
                let n = Double(at.count)
                let mean = PointMetrics(trainLoss: at.map(\.trainLoss).reduce(0, +) / n, trainError: at.map(\.trainError).reduce(0, +) / n,
                                        testError: at.map(\.testError).reduce(0, +) / n, testNLL: at.map(\.testNLL).reduce(0, +) / n)
                lines.append(String(format: "%10.4g  ", t) + Self.metrics(mean))
            }
        }
        return lines
    }

    private var planeLines: [String] {
        guard let plane = report.plane else { return [] }
        var lines = ["plane: \(plane.basis)" + (plane.explainedVariance.map { String(format: " (variance explained: %.1f%% and %.1f%%)", 100 * $0[0], 100 * $0[1]) } ?? "")]
        lines.append("model                          role          a         b  off plane  " + Self.header)
        for placed in plane.placed where placed.metrics != nil || placed.role != "checkpoint" {
            let name = (placed.model.split(separator: "/").last.map(String.init) ?? placed.model).padding(toLength: 29, withPad: " ", startingAt: 0)
            lines.append(name + " " + placed.role.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%9.4g %9.4g  %9.4g  ", placed.a, placed.b, placed.offPlane)
                + (placed.metrics.map(Self.metrics) ?? ""))
        }
        let path = plane.placed.filter { $0.role == "checkpoint" }
        if !path.isEmpty { lines.append("trajectory: \(path.count) checkpoints projected (--json or --plot for their coordinates)") }
        if let best = report.points.min(by: { $0.testError < $1.testError }) {
            lines.append(String(format: "lowest test error on the %d×%d lattice: %.2f%% at a = %.4g, b = %.4g",
                                plane.aValues.count, plane.bValues.count, 100 * best.testError, best.a ?? .nan, best.b ?? .nan))
        }
        return lines
    }
}
