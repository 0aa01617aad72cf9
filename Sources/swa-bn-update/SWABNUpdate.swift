import ArgumentParser
import Foundation
import SWACommandLine
import SWAFormats
import SWAKit

@main
struct SWABNUpdate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swa-bn-update",
        abstract: "Recompute a model's batch-norm statistics with one pass over training data.",
        discussion: """
        The BN running statistics of an averaged model belong to none of the averaged points; \
        the paper recomputes them with one forward pass over the training data. This runs MODEL \
        forward on DATA once, every BN layer in training mode (normalising with batch statistics), \
        and writes MODEL with each running mean set to the average of the batch means and each \
        running variance to the average of the unbiased batch variances, as PyTorch's \
        torch.optim.swa_utils.update_bn does (--weighting batch). --weighting sample weighs each \
        batch by its size instead, as the paper's own code did. Dropout is off (identity).

        The network comes from --graph, --arch, or the checkpoint's swa.graph metadata; \
        normalisation from --mean/--std or its swa.preprocess metadata (uint8 images are \
        divided by 255 first). The output records the graph and normalisation given by flags \
        (swa.graph, swa.preprocess), so swa-eval then needs neither.

        Examples:
          swa-bn-update swa.bin --data train.npz -o swa-bn.bin
          swa-bn-update swa.bin --graph model.json --data train.npz \\
              --mean 0.1307 --std 0.3081 -o swa-bn.bin
          swa-bn-update swa.bin --arch preresnet164 --data train.npz \\
              --weighting sample -o out.bin
          swa-bn-update swa.bin --arch preresnet164 --data train.npz \\
              --augment crop:4,flip --seed 1 -o out.bin
          swa-bn-update --print-graph --arch preresnet164 > preresnet164.json

        Sharded (docs/SCALE.md): each shard runs a contiguous run of the single pass's batches \
        and writes Float64 sums; the merge adds them in shard order and writes what the single \
        process writes (MODEL and the model flags again; the data and options come from the partials):
          swa-bn-update swa.bin --data train.npz --shard 0/4 --partial parts/bn-0
          swa-bn-update swa.bin --data train.npz --shard auto --partial parts/bn-$SLURM_ARRAY_TASK_ID
          swa-bn-update swa.bin --merge parts/bn-* -o swa-bn.bin
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("The model checkpoint (typically swa-avg's output); optional with --print-graph --arch.", valueName: "model"))
    var model: String?

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the updated checkpoint.", valueName: "file"))
    var output: String?

    @OptionGroup(title: "Model")
    var modelOptions: ModelOptions

    @OptionGroup(title: "Data")
    var dataOptions: DataOptions

    @Option(help: ArgumentHelp("Weigh batches equally (PyTorch update_bn) or by their size (the paper's code)."))
    var weighting: BatchNormWeighting = .batch

    @Option(help: ArgumentHelp("Seeded augmentation of the training images: crop:P (pad P, random crop), flip (random horizontal flip).", valueName: "crop:4,flip"))
    var augment: String?

    @Option(help: ArgumentHelp("Seed of the augmentation.", valueName: "S"))
    var seed: UInt64 = 0

    @Flag(help: "Print the model graph JSON (from --arch, --graph or the checkpoint) and exit; --arch alone assumes 10 classes.")
    var printGraph = false

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Shards")
    var shards: ShardFlags

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        try shards.validateShardWritesPartial()
        if shards.isShard || shards.isMerge, printGraph { throw ValidationError("--print-graph does not go with --shard or --merge") }
        if shards.isShard {
            if output != nil { throw ValidationError("a shard writes --partial, not -o/--output; -o goes with --merge") }
            if dataOptions.data == nil { throw ValidationError("missing --data") }
        }
        if shards.isMerge {
            if model == nil { throw ValidationError("missing the model checkpoint the shards ran on") }
            if output == nil { throw ValidationError("missing -o/--output") }
            if dataOptions.data != nil { throw ValidationError("--merge takes the data from the partials; leave out --data") }
            if augment != nil { throw ValidationError("--merge takes --augment from the partials; leave it out") }
        }
        if let augment { _ = try augmentationArgument(augment) }
        if model == nil, !(printGraph && (modelOptions.arch != nil || modelOptions.graph != nil)) {
            throw ValidationError("missing the model checkpoint (only --print-graph with --arch or --graph needs none)")
        }
        if !printGraph, !shards.isShard, !shards.isMerge {
            if output == nil { throw ValidationError("missing -o/--output") }
            if dataOptions.data == nil { throw ValidationError("missing --data") }
        }
    }

    func run() throws {
        if printGraph {
            print(try modelOptions.source.graph(for: model.map { try LoadedCheckpoint(path: $0, options: pytorch.archiveOptions) }).json)
            return
        }
        let model = model!
        var job = BatchNormUpdateJob(modelPath: model, modelSource: modelOptions.source,
                                     data: shards.isMerge ? DataRequest(path: "") : try dataOptions.request(),
                                     weighting: weighting, augment: augment, seed: seed, output: output ?? "", overwrite: force)
        job.archiveOptions = pytorch.archiveOptions
        job.toolName = "swa-bn-update \(swaVersion)"
        let progress = ProgressBars(tool: "swa-bn-update", reporting: reporting)
        if let shard = try shards.shardSpec(environment: ProcessInfo.processInfo.environment) {
            let report = try job.runShard(shard, partial: shards.partial!, progress: progress)
            if reporting.json {
                try printJSON(report)
            } else if !reporting.quiet {
                print("shard \(report.shard) of \(model): batches \(report.batches.first)..<\(report.batches.end) of \(report.batches.total)"
                    + " (\(counted(report.samples, "sample"))) -> \(report.partial)" + String(format: "; %.2f s", report.seconds))
            }
            return
        }
        let report = shards.isMerge ? try job.merge(shards.merge, progress: progress) : try job.run(progress: progress)
        if reporting.json {
            try printJSON(report)
        } else if reporting.quiet {
            return
        } else if report.layers == 0 {
            print("\(model) has no batch-norm layers: nothing to recompute; written unchanged to \(report.output)")
        } else {
            print("recomputed \(counted(report.layers, "BN layer")) of \(model)\(shards.isMerge ? " from \(counted(shards.merge.count, "shard"))" : "") over \(counted(report.samples, "sample")) in \(counted(report.batches, "batch", "batches"))"
                + " (\(report.weighting.rawValue) weighting) -> \(report.output)" + String(format: "; %.2f s", report.seconds))
            if let normalization = report.normalization { print("  " + normalization.summary) }
        }
    }

    static func main() { runAsTool() }
}
