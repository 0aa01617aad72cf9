import SWAData
import SWAEngine
import SWAFormats
import Foundation
import SWAKit

/// The table `swa-eval` prints: one row per model, then how SWA and FGE agree.
public struct EvaluationTable {
    public let report: EvaluationReport

    public init(report: EvaluationReport) { self.report = report }

    public var text: String {
        var rows: [(String, Double, Double, Double, Double, String)] = []
        if let ensemble = report.ensemble {
            for member in ensemble.members {
                rows.append(("  " + fileName(member.path), member.accuracy, member.nll, member.ece, member.brier, "1"))
            }
            rows.append(("FGE ensemble of \(ensemble.members.count)", ensemble.accuracy, ensemble.nll, ensemble.ece, ensemble.brier,
                         String(report.forwardPasses.ensemble)))
        }
        let model = report.model
        let bnNote = model.bn == "stale" ? ", BN stale" : ""
        rows.append(("SWA \(fileName(model.path))\(bnNote)", model.accuracy, model.nll, model.ece, model.brier, String(report.forwardPasses.model)))
        if let before = report.modelBeforeBN {
            rows.append(("SWA before BN update", before.accuracy, before.nll, before.ece, before.brier, "1"))
        }
        let width = max(28, rows.map(\.0.count).max() ?? 0)
        var lines = ["\("model".padding(toLength: width, withPad: " ", startingAt: 0))  accuracy %      NLL      ECE    Brier  passes"]
        for (name, accuracy, nll, ece, brier, passes) in rows {
            lines.append(name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %10.2f  %7.4f  %7.4f  %7.4f  ", accuracy * 100, nll, ece, brier)
                + String(repeating: " ", count: max(0, 6 - passes.count)) + passes)
        }
        lines.append("")
        lines.append("data: \(report.data.path), \(report.data.samples) samples")
        if let agreement = report.agreement, let ensemble = report.ensemble {
            lines.append(String(format: "SWA and FGE agree on the top class of %.1f%% of samples; ", agreement * 100)
                + "SWA costs 1 forward pass per sample, the ensemble \(ensemble.members.count)"
                + String(format: " (%.2f s vs %.2f s)", report.model.seconds, ensemble.seconds))
        }
        return lines.joined(separator: "\n")
    }

    private func fileName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
}

/// Writes `text` to `path` atomically (replacing an existing file): CSV and SVG outputs.
public func writeTextAtomically(_ text: String, to path: String) throws {
    let output = try AtomicOutputFile(destination: path, overwrite: true)
    try Array(text.utf8).withUnsafeBytes { try output.write($0) }
    try output.commit()
}
