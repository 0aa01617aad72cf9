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

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        if let augment { _ = try augmentationArgument(augment) }
        if model == nil, !(printGraph && (modelOptions.arch != nil || modelOptions.graph != nil)) {
            throw ValidationError("missing the model checkpoint (only --print-graph with --arch or --graph needs none)")
        }
        if !printGraph {
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
        var job = BatchNormUpdateJob(modelPath: model, modelSource: modelOptions.source, data: try dataOptions.request(),
                                     weighting: weighting, augment: augment, seed: seed, output: output!, overwrite: force)
        job.archiveOptions = pytorch.archiveOptions
        let report = try job.run(progress: ProgressBars(tool: "swa-bn-update", reporting: reporting))
        if reporting.json {
            try printJSON(report)
        } else if reporting.quiet {
            return
        } else if report.layers == 0 {
            print("\(model) has no batch-norm layers: nothing to recompute; written unchanged to \(report.output)")
        } else {
            print("recomputed \(counted(report.layers, "BN layer")) of \(model) over \(counted(report.samples, "sample")) in \(counted(report.batches, "batch", "batches"))"
                + " (\(weighting.rawValue) weighting) -> \(report.output)" + String(format: "; %.2f s", report.seconds))
            if let normalization = report.normalization { print("  " + normalization.summary) }
        }
    }

    static func main() { runAsTool() }
}
