import ArgumentParser
import Foundation
import SWACommandLine
import SWAEngine
import SWAFormats
import SWAKit

@main
struct SWAConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swa-convert",
        abstract: "Convert a checkpoint between formats: swa's zstd format, plain safetensors, a Hugging Face folder.",
        discussion: """
        INPUT is any checkpoint the tools read: a zstd-compressed or plain safetensors file, a sharded \
        safetensors index (model.safetensors.index.json) or a folder holding one model (a Hugging Face \
        Trainer checkpoint-<step>/ folder). The output's name decides its form: NAME.safetensors is one \
        plain safetensors file; FOLDER/ (a trailing slash, or an existing folder) is a Hugging Face folder \
        (shards of at most --max-shard-size, model.safetensors.index.json, and the input folder's \
        config and tokenizer files); any other name is swa's zstd format.

        Tensors keep their order and bytes unless --dtype converts float tensors (rounded once, to \
        nearest even), so converting back gives the same file contents bit for bit. Metadata is carried \
        through; --arch or --graph checks that the graph binds every tensor (keys and shapes) and \
        records it as swa.graph; --preprocess records swa.preprocess. The output appears whole or not at all.

        Examples:
          swa-convert output/checkpoint-500/ -o ckpt-500.bin
          swa-convert fge-161.pt -o fge-161.safetensors
          swa-convert checkpoint-200.pt --key swa_state_dict -o swa.bin \\
              --arch preresnet164
          swa-convert swa.bin -o swa.safetensors
          swa-convert swa.bin -o averaged/ --max-shard-size 2GB
          swa-convert model.safetensors -o model.bin --arch preresnet20 --preprocess '{"layout":"nchw","mean":[0.5],"std":[0.25]}'
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("A checkpoint file, a sharded safetensors index, or a model folder.", valueName: "input"))
    var input: String

    @Option(name: [.short, .customLong("output")],
            help: ArgumentHelp("Where to write: NAME.safetensors, FOLDER/ (Hugging Face), or any other name (zstd).", valueName: "path"))
    var output: String

    @OptionGroup(title: "Model")
    var model: ModelOptions

    @Option(help: ArgumentHelp("Preprocessing JSON to record as swa.preprocess, e.g. '{\"layout\":\"nchw\",\"mean\":[0.5],\"std\":[0.25]}'.",
                               valueName: "json"))
    var preprocess: String?

    @Option(help: ArgumentHelp("Dtype of float tensors in the output (rounded once, to nearest even); integer tensors keep theirs."))
    var dtype: OutputDType = .keep

    @Option(help: ArgumentHelp("Largest tensor data per shard of a folder output: 5GB, 500MB, 2GiB or bytes.", valueName: "size"),
            transform: byteSizeArgument)
    var maxShardSize: Int = OutputOptions.defaultMaxShardByteCount

    @Flag(help: "Replace the output if it exists.")
    var force = false

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @OptionGroup(title: "Reporting")
    var reporting: ReportingOptions

    func validate() throws {
        if let preprocess {
            do { _ = try Preprocessing.parse(metadataJSON: preprocess) } catch let error as SWAError {
                throw ValidationError("--preprocess: \(error.message)")
            }
        }
    }

    func run() throws {
        var request = ConversionRequest(
            input: input, destination: output, overwrite: force, outputDType: dtype, model: model.source,
            preprocessing: try preprocess.map { try Preprocessing.parse(metadataJSON: $0) },
            outputOptions: OutputOptions(maxShardByteCount: maxShardSize))
        request.archiveOptions = pytorch.archiveOptions
        let report = try ConversionJob.run(request)
        if reporting.json { try printJSON(report); return }
        guard reporting.printsSummary else { return }
        print("converted \(report.input) (\(report.inputFormat)) -> \(report.output) (\(report.outputLayout))")
        var details = "  \(report.tensors) tensors, \(formatCount(report.elements)) elements; \(formatBytes(report.outputBytes)) written"
        if let graph = report.graph { details += "; swa.graph from \(graph)" }
        if report.preprocess { details += "; swa.preprocess set" }
        print(details + String(format: "; %.2f s", report.seconds))
    }

    static func main() { runAsTool() }
}
