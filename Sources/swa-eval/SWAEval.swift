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

        The network and the normalisation come from the model's swa.graph and swa.preprocess \
        metadata (swa-bn-update writes both when given --graph/--arch and --mean/--std), else \
        from the flags. --csv and --plot refuse an existing file unless --force.

        Examples:
          swa-eval swa-bn.bin --data test.npz
          swa-eval swa-bn.bin --ensemble ckpts/ --start 161 --every 2 \\
              --data test.npz
          swa-eval swa-bn.bin --ensemble ckpts/ --data test.npz --json
          swa-eval swa-bn.bin --ensemble ckpts/ --data test.npz \\
              --csv curve.csv --plot curve.svg
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

    @Flag(help: "Replace the --csv and --plot files if they exist.")
    var force = false

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        if dataOptions.data == nil { throw ValidationError("missing --data") }
        if ensemble.isEmpty, csv != nil || plot != nil { throw ValidationError("--csv and --plot draw the ensemble curve: give --ensemble") }
    }

    func run() throws {
        var job = EvaluationJob(modelPath: model, modelSource: modelOptions.source, data: try dataOptions.request(defaultSplit: .test),
                                ensembleInputs: ensemble, selection: selection.selection, beforeBNPath: beforeBn,
                                csvPath: csv, plotPath: plot, overwrite: force)
        job.archiveOptions = pytorch.archiveOptions
        let report = try job.run(progress: ProgressBars(tool: "swa-eval", reporting: reporting))
        if reporting.json {
            try printJSON(report)
        } else if !reporting.quiet {
            print(EvaluationTable(report: report).text)
        }
    }

    static func main() { runAsTool() }
}
