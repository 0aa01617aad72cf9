import Foundation
import SWAKit

/// The table `swa-eval` prints: one row per model, then how SWA and FGE agree.
public struct EvaluationTable {
    public let report: EvaluationReport

    public init(report: EvaluationReport) { self.report = report }

    public var text: String {
        var rows: [(name: String, metrics: ClassificationMetrics, passes: String)] = []
        if let ensemble = report.ensemble {
            for member in ensemble.members {
                rows.append(("  " + fileName(member.path), member.metrics, "1"))
            }
            rows.append(("FGE ensemble of \(ensemble.members.count)", ensemble.metrics, String(report.forwardPasses.ensemble)))
        }
        let model = report.model
        let bnNote = model.bn == "stale" ? ", BN stale" : ""
        rows.append(("SWA \(fileName(model.path))\(bnNote)", model.metrics, String(report.forwardPasses.model)))
        if let before = report.modelBeforeBN {
            rows.append(("SWA before BN update", before.metrics, "1"))
        }
        let width = max(28, rows.map(\.name.count).max() ?? 0)
        var lines = ["\("model".padding(toLength: width, withPad: " ", startingAt: 0))  accuracy %      NLL      ECE    Brier  passes"]
        for (name, metrics, passes) in rows {
            lines.append(name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %10.2f  %7.4f  %7.4f  %7.4f  ", metrics.accuracy * 100, metrics.nll, metrics.ece, metrics.brier)
                + String(repeating: " ", count: max(0, 6 - passes.count)) + passes)
        }
        lines.append("")
        lines.append("data: \(report.data.path), \(counted(report.data.samples, "sample")); \(report.data.normalization.summary)")
        if let agreement = report.agreement, let ensemble = report.ensemble {
            lines.append(String(format: "SWA and FGE agree on the top class of %.1f%% of samples; ", agreement * 100)
                + "SWA costs 1 forward pass per sample, the ensemble \(ensemble.members.count)"
                + String(format: " (%.2f s vs %.2f s)", report.model.seconds, ensemble.seconds))
        }
        if let linearization = report.linearization {
            let pairs = linearization.memberPairs.map { String(format: ", the members' from each other by %.4f", $0) } ?? ""
            lines.append(String(format: "Linearization (paper §3.5): the model's predictions differ from the ensemble's by a mean "
                + "total variation of %.4f", linearization.modelVsEnsemble) + pairs + ".")
        }
        return lines.joined(separator: "\n")
    }

    private func fileName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
}
