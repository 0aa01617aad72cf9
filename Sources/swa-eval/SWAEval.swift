import SWAData
import SWAEngine
import SWAFormats
import ArgumentParser
import Foundation
import SWACommandLine
import SWAKit

@main
struct SWAEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swa-eval",
        abstract: "Compare a single (SWA) model with the FGE ensemble of the same checkpoints.",
        discussion: """
        Evaluates MODEL on DATA (inference mode: running BN statistics, dropout off) and, with \
        --ensemble, the Fast Geometric Ensemble of the checkpoints selected exactly as swa-avg \
        selects them: their softmax probabilities averaged in Float64, each member with its own BN \
        statistics. Reports accuracy, NLL (nats), ECE (15 bins) and Brier score for every member, \
        the ensemble and the model; the ensemble of the first k members for every k (--csv, --plot); \
        how often the model and the ensemble agree; and what each cost in forward passes.

        Examples:
          swa-eval swa-bn.bin --ensemble checkpoints/ --start 161 --every 2 --data test.npz
          swa-eval swa-bn.bin --ensemble checkpoints/ --data test.npz --json
          swa-eval swa-bn.bin --ensemble checkpoints/ --data test.npz --csv curve.csv --plot curve.svg
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("The model to evaluate (typically swa-bn-update's output).", valueName: "model"))
    var model: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Checkpoints of the ensemble: files or directories, selected with --start/--end/--every/--last.", valueName: "input"))
    var ensemble: [String] = []

    @OptionGroup(title: "Ensemble selection")
    var selection: SelectionOptions

    @OptionGroup(title: "Model")
    var modelOptions: ModelOptions

    @OptionGroup(title: "Data")
    var dataOptions: DataOptions

    @Option(help: ArgumentHelp("Also evaluate this checkpoint as 'the model before its BN update' (e.g. swa-avg's output).", valueName: "file"))
    var beforeBn: String?

    @Option(help: ArgumentHelp("Write the ensemble curve (k, accuracy, nll, ece, brier) as CSV.", valueName: "file.csv"))
    var csv: String?

    @Option(help: ArgumentHelp("Write an SVG plot of ensemble accuracy and NLL against k, with the model as a line.", valueName: "file.svg"))
    var plot: String?

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        if dataOptions.data == nil { throw ValidationError("missing --data") }
        if ensemble.isEmpty, csv != nil || plot != nil { throw ValidationError("--csv and --plot draw the ensemble curve: give --ensemble") }
    }

    func run() throws {
        let checkpoint = try LoadedCheckpoint(path: model)
        let graph = try modelOptions.source.graph(for: checkpoint)
        let parameters = try ModelParameters(graph: graph, checkpoint: checkpoint)
        let data = try dataOptions.open(for: checkpoint)
        guard data.sampleShape == graph.inputShape else {
            throw SWAError(file: data.path, "samples have shape \(data.sampleShape), the model expects \(graph.inputShape)")
        }
        guard data.hasLabels else { throw SWAError(file: data.path, "has no labels '\(dataOptions.yKey)' to evaluate against") }
        let labels = try data.labels()
        let classes = graph.outputShape.reduce(1, *)
        try checkLabels(labels, classes: classes, data: data.path)
        let entries = ensemble.isEmpty ? [] : try selection.selection.apply(to: discoverCheckpoints(ensemble) { warning in
            if !reporting.quiet { printError("swa-eval: \(warning)") }
        })

        let bn = batchNormState(of: checkpoint)
        if bn == "stale", !reporting.quiet {
            printError("swa-eval: warning: \(model) has averaged BN statistics (swa.bn = stale), not ones of its own weights; "
                + "its accuracy understates SWA. Fix: swa-bn-update \(model) --data TRAIN.npz -o \(model).bn")
        }
        let progressEnabled = reporting.showsProgress
        let modelPredictions = try predictions(parameters, data: data, labels: labels, title: "model", enabled: progressEnabled)
        var report = EvaluationReport(
            data: .init(path: data.path, samples: data.sampleCount),
            model: .init(path: model, metrics: modelPredictions.metrics(labels: labels), bn: bn, seconds: modelPredictions.seconds),
            modelBeforeBN: nil, ensemble: nil, agreement: nil, forwardPasses: .init(model: 1, ensemble: entries.count))
        if let beforeBn {
            let stale = try LoadedCheckpoint(path: beforeBn)
            let staleParameters = try ModelParameters(graph: graph, checkpoint: stale)
            let stalePredictions = try predictions(staleParameters, data: data, labels: labels, title: "before BN", enabled: progressEnabled)
            report.modelBeforeBN = .init(path: beforeBn, metrics: stalePredictions.metrics(labels: labels), bn: batchNormState(of: stale),
                                         seconds: stalePredictions.seconds)
        }
        if !entries.isEmpty {
            var bar: ProgressBar?
            let fge = try FGEEnsemble(entries: entries, graph: graph, data: data, labels: labels, batchSize: dataOptions.batchSize,
                                      onMember: { index, _ in
                                          bar?.finish(data.sampleCount)
                                          bar = ProgressBar(title: "member \(index + 1)/\(entries.count)", total: data.sampleCount,
                                                            unit: .items("img"), enabled: progressEnabled)
                                      },
                                      onBatch: { bar?.update($0) })
            bar?.finish(data.sampleCount)
            report.ensemble = .init(fge)
            report.agreement = topClassAgreement(modelPredictions.probabilities, fge.probabilities, classes: classes)
            if let csv { try writeCSV(report.ensemble!.curve, to: csv) }
            if let plot { try writePlot(report, to: plot) }
        }
        if reporting.json {
            try printJSON(report)
        } else if !reporting.quiet {
            print(EvaluationTable(report: report).text)
        }
    }

    private func predictions(_ parameters: ModelParameters, data: DataSet, labels: [Int64], title: String, enabled: Bool) throws -> ModelPredictions {
        let bar = ProgressBar(title: title, total: data.sampleCount, unit: .items("img"), enabled: enabled)
        let result = try ModelPredictions(parameters: parameters, data: data, labels: labels, batchSize: dataOptions.batchSize) { bar.update($0) }
        bar.finish(data.sampleCount)
        return result
    }

    private func writeCSV(_ curve: [EvaluationReport.CurvePoint], to path: String) throws {
        var text = "k,accuracy,nll,ece,brier\n"
        for point in curve {
            text += "\(point.k),\(point.accuracy),\(point.nll),\(point.ece),\(point.brier)\n"
        }
        try writeTextAtomically(text, to: path)
    }

    private func writePlot(_ report: EvaluationReport, to path: String) throws {
        let curve = report.ensemble!.curve.map { CurvePoint(k: $0.k, accuracy: $0.accuracy, nll: $0.nll) }
        let plot = EnsembleCurvePlot(curve: curve, swaAccuracy: report.model.accuracy, swaNLL: report.model.nll,
                                     title: "SWA vs FGE on \(report.data.path)")
        try writeTextAtomically(plot.svg(), to: path)
    }

    static func main() { runAsTool() }
}
