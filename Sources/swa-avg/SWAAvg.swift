import ArgumentParser
import Foundation
import SWACommandLine
import SWAFormats
import SWAKit

@main
struct SWAAvg: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swa-avg",
        abstract: "Average the checkpoints of one SGD run into one model (Stochastic Weight Averaging).",
        discussion: """
        INPUT is a checkpoint file or a directory whose files are all checkpoints (zstd-compressed \
        or plain safetensors, told apart by their first bytes). Checkpoints are ordered by training \
        position: swa.step metadata, else swa.epoch, else the last number in the file name. \
        Selection flags apply in order: --start/--end, then --every, then --last.

        Float tensors are averaged in Float64 as sum(w_i * x_i) / sum(w_i) and rounded once; integer tensors \
        must agree, except BN counters (num_batches_tracked), which come from the last input. \
        The inputs are streamed tensor by tensor, so memory stays bounded whatever their size. \
        BN running statistics of an average are stale: run swa-bn-update next.

        Examples:
          swa-avg checkpoints/ -o swa.bin --start 161 --every 2
          swa-avg checkpoints/ -o ema.bin --ema 0.9
          swa-avg a.safetensors b.safetensors -o ab.bin --weights 1,3
          swa-avg checkpoints/ -o swa.bin --last 20 --dtype bf16 --dry-run
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("Checkpoint files or directories of checkpoints.", valueName: "input"))
    var inputs: [String]

    @Option(name: [.short, .customLong("output")],
            help: ArgumentHelp("Where to write: NAME.safetensors (plain), FOLDER/ (Hugging Face folder), or any other name (zstd).", valueName: "file"))
    var output: String

    @OptionGroup(title: "Selection")
    var selection: SelectionOptions

    @Option(help: ArgumentHelp("Comma-separated weights, one per selected checkpoint, in training order.", valueName: "w,w,..."),
            transform: commaSeparatedNumbers)
    var weights: [Double]?

    @Option(help: ArgumentHelp("Exponential moving average e = D*e + (1-D)*x in training order instead of the mean.", valueName: "D"))
    var ema: Double?

    @Option(help: ArgumentHelp("Dtype of averaged float tensors (rounded once, to nearest even); integer tensors keep theirs."))
    var dtype: OutputDType = .keep

    @Option(help: ArgumentHelp("BN running statistics: average them, or take the last checkpoint's."))
    var buffers: BufferPolicy = .average

    @Option(help: ArgumentHelp("Largest tensor data per shard of a folder output (-o FOLDER/): 5GB, 500MB, 2GiB or bytes.", valueName: "size"),
            transform: byteSizeArgument)
    var maxShardSize: Int = OutputOptions.defaultMaxShardByteCount

    @Flag(help: "Print the plan (checkpoints, positions, weights) and write nothing.")
    var dryRun = false

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        if weights != nil, ema != nil { throw ValidationError("--weights and --ema exclude each other") }
        if let ema, !(0...1).contains(ema) { throw ValidationError("--ema decay must lie in [0, 1], got \(ema)") }
    }

    func run() throws {
        let sequence = try discoverCheckpoints(inputs, options: pytorch.archiveOptions) { warning in if !reporting.quiet { printError("swa-avg: \(warning)") } }
        let selected = try selection.selection.apply(to: sequence)
        let method: AveragingMethod = if let ema { .ema(decay: ema) } else {
            .weighted(weights ?? Array(repeating: 1, count: selected.count))
        }
        var request = AveragingRequest(inputs: selected, method: method, buffers: buffers,
                                       outputDType: dtype, destination: output, overwrite: force)
        request.outputOptions.maxShardByteCount = maxShardSize
        let averager = StreamingAverager(request: request)
        if dryRun {
            var plan = try averager.plan()
            plan.positionSource = sequence.positionSource.rawValue
            if reporting.json { try printJSON(plan) } else if !reporting.quiet { printPlan(plan) }
            return
        }
        let progress = ProgressBar(title: "averaging", total: averager.bytesTotal, unit: .bytes, enabled: reporting.showsProgress)
        var report = try averager.run(note: { if !reporting.quiet { printError("swa-avg: note: \($0)") } },
                                      onChunk: { progress.update(averager.bytesRead.value) })
        progress.finish(averager.bytesRead.value)
        report.positionSource = sequence.positionSource.rawValue
        if reporting.json { try printJSON(report) } else if !reporting.quiet { printSummary(report, tensors: selected.last!.header) }
    }

    func printPlan(_ plan: AveragingReport) {
        print("plan: \(plan.method) average of \(counted(plan.inputs.count, "checkpoint")), ordered by \(plan.positionSource), \(plan.strategy)")
        print("  \("position".padding(toLength: 10, withPad: " ", startingAt: 0))  \("weight".padding(toLength: 9, withPad: " ", startingAt: 0))  file")
        for input in plan.inputs {
            let position = formatPosition(input.position).padding(toLength: 10, withPad: " ", startingAt: 0)
            let weight = String(format: "%.6f", input.weight).padding(toLength: 9, withPad: " ", startingAt: 0)
            print("  \(position)  \(weight)  \(input.path)")
        }
        print("output: \(plan.output) (not written: --dry-run)")
    }

    func printSummary(_ report: AveragingReport, tensors header: SafetensorsHeader) {
        let positions = report.inputs.map(\.position)
        let span = "\(report.positionSource) \(formatPosition(positions.first!))…\(formatPosition(positions.last!))"
        print("averaged \(counted(report.inputs.count, "checkpoint")) (\(span), \(report.method)) -> \(report.output)")
        let elements = header.tensors.reduce(0) { $0 + $1.elementCount }
        let frames = (report.frames ?? 0) > 0 ? " in \(counted(report.frames!, "frame"))" : ""
        print("  \(counted(header.tensors.count, "tensor")), \(formatCount(elements)) elements; \(formatBytes(report.outputBytes ?? 0))\(frames); "
            + String(format: "%.2f s", report.seconds))
        if header.tensors.contains(where: { $0.name.hasSuffix("running_mean") }) {
            // The output carries the last input's graph and preprocessing: ask for what it lacks.
            let metadata = header.checkpointMetadata
            let graph = metadata.graphJSON == nil ? " --graph MODEL.json" : ""
            let normalization = metadata[.preprocess] == nil ? " --mean M --std S" : ""
            print("  BN statistics are \(report.buffers == "last" ? "the last checkpoint's" : "averaged"), so stale: "
                + "run swa-bn-update \(report.output)\(graph)\(normalization) --data TRAIN.npz -o OUT")
        }
    }

    static func main() { runAsTool() }
}
