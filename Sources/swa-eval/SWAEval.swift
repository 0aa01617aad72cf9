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

        The data is read and decoded once: each batch runs through the model, --before-bn and \
        every member in turn, whose weights are held together (up to --max-resident; beyond it, \
        one pass per model, same results).

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

        Sharded (docs/SCALE.md): each shard evaluates a contiguous run of the single pass's \
        batches and writes the sums the metrics need; the merge adds them in shard order and \
        prints the single process's report (no MODEL or --data needed):
          swa-eval swa-bn.bin --ensemble ckpts/ --data test.npz --shard 3/8 --partial parts/eval-3
          swa-eval --merge parts/eval-* --json
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("The model to evaluate (typically swa-bn-update's output); not with --merge.", valueName: "model"))
    var model: String?

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

    @Option(help: ArgumentHelp("Most memory for weights held at once (the model, --before-bn and every member, as Float32) to evaluate them all in one pass that decodes the data once; beyond it each member gets a pass of its own, with the same results. 4GiB, 500MB or bytes (default: 4GiB).", valueName: "size"),
            transform: byteSizeArgument)
    var maxResident: Int = EvaluationJob.defaultMaxResidentBytes

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Shards")
    var shards: ShardFlags

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        try shards.validateShardWritesPartial()
        if shards.isMerge {
            if model != nil { throw ValidationError("--merge takes everything from the partials; leave out the model") }
            if dataOptions.data != nil || !ensemble.isEmpty || beforeBn != nil {
                throw ValidationError("--merge takes the data and the ensemble from the partials; leave out --data, --ensemble and --before-bn")
            }
            return
        }
        if model == nil { throw ValidationError("missing the model checkpoint") }
        if shards.isShard, csv != nil || plot != nil { throw ValidationError("a shard writes --partial; --csv and --plot go with --merge") }
        if dataOptions.data == nil { throw ValidationError("missing --data") }
        if ensemble.isEmpty, csv != nil || plot != nil { throw ValidationError("--csv and --plot draw the ensemble curve: give --ensemble") }
    }

    func run() throws {
        let progress = ProgressBars(tool: "swa-eval", reporting: reporting)
        if shards.isMerge {
            let report = try EvaluationJob.merge(shards.merge, csvPath: csv, plotPath: plot, overwrite: force)
            if reporting.json {
                try printJSON(report)
            } else if !reporting.quiet {
                print(EvaluationTable(report: report).text)
            }
            return
        }
        let model = model!
        var job = EvaluationJob(modelPath: model, modelSource: modelOptions.source, data: try dataOptions.request(defaultSplit: .test),
                                ensembleInputs: ensemble, selection: selection.selection, beforeBNPath: beforeBn,
                                csvPath: csv, plotPath: plot, overwrite: force)
        job.archiveOptions = pytorch.archiveOptions
        job.maxResidentBytes = maxResident
        if let shard = try shards.shardSpec(environment: ProcessInfo.processInfo.environment) {
            let report = try job.runShard(shard, partial: shards.partial!, toolName: "swa-eval \(swaVersion)", progress: progress)
            if reporting.json {
                try printJSON(report)
            } else if !reporting.quiet {
                print("shard \(report.shard) of \(model): samples \(report.samples.first)..<\(report.samples.end) of \(report.samples.total),"
                    + " model and \(report.members) member(s) -> \(report.partial)" + String(format: "; %.2f s", report.seconds))
            }
            return
        }
        let report = try job.run(progress: progress)
        if reporting.json {
            try printJSON(report)
        } else if !reporting.quiet {
            print(EvaluationTable(report: report).text)
        }
    }

    static func main() { runAsTool() }
}
