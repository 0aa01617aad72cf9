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

        Sharded runs (docs/SCALE.md): split by tensors, each shard writes one file of a \
        Hugging Face sharded checkpoint and the merge writes the index and config files:
          swa-avg checkpoints/ -o swa/ --shard 3/8      (or --shard auto in a Slurm array)
          swa-avg --merge swa/
        Split by checkpoints, each shard writes Float64 partial sums of its range of the \
        selected checkpoints (not with --ema), and the merge divides and rounds once:
          swa-avg checkpoints/ --shard 1/4 --partial parts/avg-1.swa
          swa-avg --merge parts/avg-*.swa -o swa.bin
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("Checkpoint files or directories of checkpoints (none with --merge).", valueName: "input"))
    var inputs: [String] = []

    @Option(name: [.short, .customLong("output")],
            help: ArgumentHelp("Where to write: NAME.safetensors (plain), FOLDER/ (Hugging Face folder), or any other name (zstd). With --shard and no --partial, the folder the shard files go to.", valueName: "file"))
    var output: String?

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

    @OptionGroup(title: "Shards")
    var shards: ShardFlags

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        if weights != nil, ema != nil { throw ValidationError("--weights and --ema exclude each other") }
        if let ema, !(0...1).contains(ema) { throw ValidationError("--ema decay must lie in [0, 1], got \(ema)") }
        if shards.isMerge {
            if !inputs.isEmpty { throw ValidationError("--merge takes the shards' outputs, not checkpoints: drop \(inputs[0])") }
            if dryRun { throw ValidationError("--merge and --dry-run exclude each other") }
            return
        }
        if inputs.isEmpty { throw ValidationError("give the checkpoints to average (files or directories)") }
        if shards.partial != nil {
            if output != nil { throw ValidationError("--partial writes the shard's partial sums instead of the output: drop -o") }
            if ema != nil { throw ValidationError("--ema cannot be split over checkpoints (each EMA step needs the one before it): shard by tensors instead, with --shard I/N -o FOLDER/ and no --partial") }
        } else if output == nil {
            throw ValidationError("missing -o OUT (with --shard, the folder the shard files go to)")
        }
    }

    func run() throws {
        if shards.isMerge { return try merge() }
        let output = shards.partial ?? self.output!
        let sequence = try discoverCheckpoints(inputs, options: pytorch.archiveOptions) { warning in if !reporting.quiet { printError("swa-avg: \(warning)") } }
        let selected = try selection.selection.apply(to: sequence)
        let method: AveragingMethod = if let ema { .ema(decay: ema) } else {
            .weighted(weights ?? Array(repeating: 1, count: selected.count))
        }
        var request = AveragingRequest(inputs: selected, method: method, buffers: buffers,
                                       outputDType: dtype, destination: output, overwrite: force)
        request.outputOptions.maxShardByteCount = maxShardSize
        if let shard = try shards.shardSpec(environment: ProcessInfo.processInfo.environment), !dryRun {
            return try runShard(shard, request: request, sequence: sequence)
        }
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

    // MARK: - Shards

    /// The options that change a shard's result, recorded in its partial and compared at the merge.
    var shardOptions: [String: String] {
        ["method": ema.map { "ema:\($0)" } ?? "weighted", "buffers": buffers.rawValue, "dtype": dtype.optionText,
         "max_shard_size": "\(maxShardSize)"]
    }

    func runShard(_ shard: ShardSpec, request: AveragingRequest, sequence: CheckpointSequence) throws {
        let tool = "swa-avg \(swaReleaseVersion)"
        let note: (String) -> Void = { if !reporting.quiet { printError("swa-avg: note: \($0)") } }
        var report = if let partial = shards.partial {
            try CheckpointRangeShards.writePartial(request, shard: shard, to: partial, overwrite: force, options: shardOptions, tool: tool,
                                                   note: note)
        } else {
            try TensorRangeShards.writeShard(request, shard: shard, options: shardOptions, tool: tool, note: note)
        }
        report.positionSource = sequence.positionSource.rawValue
        if reporting.json { try printJSON(report) } else if !reporting.quiet {
            print("shard \(shard): \(counted(report.inputs.count, "checkpoint")) -> \(report.output) (\(formatBytes(report.outputBytes ?? 0)); "
                + String(format: "%.2f s)", report.seconds))
        }
    }

    /// `--merge FOLDER/` completes a folder of tensor-range shards; `--merge PARTIAL...` adds
    /// checkpoint-range partial sums into `-o OUT`.
    func merge() throws {
        let folders = shards.merge.filter { ModelFolder.isDirectory($0) }
        if !folders.isEmpty {
            guard folders.count == 1, shards.merge.count == 1 else {
                throw ValidationError("--merge takes one folder of shard files (swa-avg --shard I/N -o FOLDER/), or the partial files of --partial")
            }
            if let output, ModelFolder.join(output, "") != ModelFolder.join(folders[0], "") {
                throw ValidationError("--merge \(folders[0]) completes that folder in place: drop -o \(output)")
            }
            let completion = try TensorRangeShards.completeFolder(folders[0], overwrite: force)
            if reporting.json { try printJSON(completion) } else if !reporting.quiet {
                print("completed \(completion.folder): \(counted(completion.shards.count, "shard")), \(counted(completion.tensors, "tensor")), "
                    + "\(formatBytes(completion.totalSize)) of tensor data; wrote the index and configuration files (\(formatBytes(completion.bytesWritten)))")
            }
            return
        }
        guard let output else { throw ValidationError("--merge of partial sums needs -o OUT") }
        let options = OutputOptions(maxShardByteCount: maxShardSize)
        let report = try CheckpointRangeShards.merge(shards.merge, destination: output, overwrite: force, outputOptions: options)
        if reporting.json { try printJSON(report) } else if !reporting.quiet {
            print("merged \(counted(report.inputs.count, "partial")) -> \(report.output) (\(formatBytes(report.outputBytes ?? 0)); "
                + String(format: "%.2f s)", report.seconds))
        }
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
