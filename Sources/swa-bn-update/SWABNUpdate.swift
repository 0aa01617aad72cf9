import SWAData
import SWAEngine
import SWAFormats
import ArgumentParser
import Foundation
import SWACommandLine
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
        normalisation from --mean/--std or its swa.preprocess metadata.

        Examples:
          swa-bn-update swa.bin --data train.npz -o swa-bn.bin
          swa-bn-update swa.bin --arch preresnet164 --data train.npz --batch-size 128 --weighting sample -o out.bin
          swa-bn-update swa.bin --graph my-model.json --data train.npz --augment crop:4,flip --seed 1 -o out.bin
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("The model checkpoint (typically swa-avg's output).", valueName: "model"))
    var model: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the updated checkpoint.", valueName: "file"))
    var output: String?

    @OptionGroup(title: "Model")
    var modelOptions: ModelOptions

    @OptionGroup(title: "Data")
    var dataOptions: DataOptions

    @Option(help: ArgumentHelp("Weigh batches equally (PyTorch update_bn) or by their size (the paper's code).", valueName: "batch|sample"))
    var weighting: String = "batch"

    @Option(help: ArgumentHelp("Seeded augmentation of the training images: crop:P (pad P, random crop), flip (random horizontal flip).", valueName: "crop:4,flip"))
    var augment: String?

    @Option(help: ArgumentHelp("Seed of the augmentation.", valueName: "S"))
    var seed: UInt64 = 0

    @Flag(help: "Print the model graph JSON (from --arch, --graph or the checkpoint) and exit.")
    var printGraph = false

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        guard BatchNormWeighting(rawValue: weighting) != nil else { throw ValidationError("--weighting must be 'batch' or 'sample', got '\(weighting)'") }
        if let augment {
            do { _ = try Augmentation.parse(augment) } catch let error as SWAError { throw ValidationError(error.message) }
        }
        if !printGraph {
            if output == nil { throw ValidationError("missing -o/--output") }
            if dataOptions.data == nil { throw ValidationError("missing --data") }
        }
    }

    func run() throws {
        let started = Date()
        let checkpoint = try LoadedCheckpoint(path: model)
        let graph = try modelOptions.source.graph(for: checkpoint)
        if printGraph {
            print(graph.json)
            return
        }
        let output = output!
        let parameters = try ModelParameters(graph: graph, checkpoint: checkpoint)
        let update = BatchNormUpdate(parameters: parameters, weighting: BatchNormWeighting(rawValue: weighting)!)
        guard update.hasBatchNorm else {
            try CheckpointWriter.write(checkpoint.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), checkpoint.tensors[$0.name]!) },
                                       metadata: checkpoint.header.metadata, to: output, overwrite: force)
            if !reporting.quiet { print("\(model) has no batch-norm layers: nothing to recompute; written unchanged to \(output)") }
            return
        }
        let data = try dataOptions.open(for: checkpoint, augmentation: try augment.map(Augmentation.parse), seed: seed)
        guard data.sampleShape == graph.inputShape else {
            throw SWAError(file: data.path, "samples have shape \(data.sampleShape), the model expects \(graph.inputShape)")
        }
        // Refuse an existing output before the long pass, not after it.
        if FileManager.default.fileExists(atPath: output), !force {
            throw SWAError(file: output, "already exists; pass --force to replace it")
        }
        let progress = ProgressBar(title: "bn update", total: data.sampleCount, unit: .items("img"), enabled: reporting.showsProgress)
        let result = try update.run(data: data, batchSize: dataOptions.batchSize) { progress.update($0) }
        progress.finish(result.samples)
        let report = Report(model: model, output: output, graph: modelOptions.source.description, data: dataOptions.data!,
                            dataSHA256: try data.sha256, samples: result.samples, batches: result.batches, batchSize: dataOptions.batchSize,
                            weighting: weighting, augment: augment, seed: augment == nil ? nil : seed,
                            layers: graph.batchNormNodes.count, seconds: 0)
        var metadata = checkpoint.header.metadata
        metadata["swa.bn"] = report.bnMetadata
        try result.write(over: checkpoint, metadata: metadata, to: output, overwrite: force)
        var finished = report
        finished.seconds = Date().timeIntervalSince(started)
        if reporting.json {
            try printJSON(finished)
        } else if !reporting.quiet {
            print("recomputed \(finished.layers) BN layers of \(model) over \(finished.samples) samples in \(finished.batches) batches "
                + "(\(weighting) weighting) -> \(output)" + String(format: "; %.2f s", finished.seconds))
        }
    }

    /// What was done; `--json` prints it, `swa.bn` records it in the checkpoint.
    struct Report: Codable {
        var model: String
        var output: String
        var graph: String
        var data: String
        var dataSHA256: String
        var samples: Int
        var batches: Int
        var batchSize: Int
        var weighting: String
        var augment: String?
        var seed: UInt64?
        var layers: Int
        var seconds: Double

        /// JSON for `swa.bn`: how the statistics were computed, and from what data.
        var bnMetadata: String {
            var members: [(String, JSONValue)] = [
                ("method", .string("recomputed")), ("weighting", .string(weighting)),
                ("data", .string(URL(fileURLWithPath: data).lastPathComponent)), ("data_sha256", .string(dataSHA256)),
                ("samples", .number(String(samples))), ("batches", .number(String(batches))), ("batch_size", .number(String(batchSize))),
            ]
            if let augment { members.append(("augment", .string(augment))) }
            if let seed { members.append(("seed", .number(String(seed)))) }
            return JSONValue.object(members).serialized
        }
    }

    static func main() { runAsTool() }
}
