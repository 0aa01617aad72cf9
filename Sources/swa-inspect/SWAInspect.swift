import ArgumentParser
import Foundation
import SWACommandLine
import SWAFormats
import SWAKit

@main
struct SWAInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swa-inspect",
        abstract: "Describe a checkpoint: tensors, dtypes, shapes, metadata, sizes and compression.",
        discussion: """
        Reads the whole file, so every zstd frame checksum and the safetensors layout are verified: \
        a clean exit means the checkpoint is intact. Long metadata values (the model graph) are \
        shortened in the table; --json prints them whole.
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("A checkpoint (zstd-compressed or plain safetensors, or a PyTorch torch.save file).", valueName: "file"))
    var file: String

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @Flag(help: "Print the description as JSON.")
    var json = false

    func run() throws {
        let info = try CheckpointInspection.inspect(path: file, options: pytorch.archiveOptions)
        if json { try printJSON(info); return }
        print("file: \(info.path)")
        if info.container == "zstd" {
            let table = info.seekTable ? "seek table of \(counted(info.seekTableFrames ?? 0, "frame"))" : "no seek table"
            print("container: zstd, \(counted(info.frames, "frame")) (\(table)), checksums verified")
        } else if info.container == FileFormat.safetensorsIndex.rawValue {
            print("container: sharded safetensors (an index and its shards, read as one checkpoint)")
        } else if let pytorch = info.pytorch {
            print("container: PyTorch torch.save, \(pytorch.layout == "zip" ? "zip format (PyTorch 1.6 and later)" : "legacy format (before 1.6)"), read without running any code")
            printStructure(pytorch)
        } else {
            print("container: plain safetensors (uncompressed)")
        }
        let ratio = Double(info.payloadBytes) / Double(max(info.fileBytes, 1))
        print("size: \(formatCount(info.fileBytes)) bytes on disk, \(formatCount(info.payloadBytes)) bytes of payload"
            + String(format: " (ratio %.2f), header %@ bytes", ratio, formatCount(info.headerBytes)))
        print("metadata (\(info.metadata.count)):")
        for key in info.metadata.keys.sorted() {
            let value = info.metadata[key]!
            let shown = value.count > 100 ? value.prefix(97) + "... (\(value.count) chars)" : Substring(value)
            print("  \(key) = \(shown)")
        }
        print("tensors (\(info.tensors.count), \(formatCount(info.elements)) elements):")
        let width = min(60, info.tensors.map(\.name.count).max() ?? 4)
        for tensor in info.tensors {
            let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
            print("  \(tensor.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(tensor.dtype.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shape.padding(toLength: 18, withPad: " ", startingAt: 0))  \(formatCount(tensor.bytes)) B")
        }
    }

    /// Where the tensors came from in a PyTorch file and what else its pickle holds.
    func printStructure(_ pytorch: PyTorchStructure) {
        print("state dict: \(pytorch.stateDictKey.isEmpty ? "the top-level object" : "'\(pytorch.stateDictKey)'")"
            + pytorch.strippedPrefixes.map { ", prefix '\($0)' stripped" }.joined()
            + pytorch.dropped.map { ", '\($0)' dropped" }.joined())
        print("pickled object:")
        for entry in pytorch.entries {
            let marker = !entry.key.isEmpty && entry.key == pytorch.stateDictKey ? "  <- tensors" : ""
            print("  \(entry.key.isEmpty ? "(top level)" : entry.key): \(entry.summary)\(marker)")
        }
        if !pytorch.inertGlobals.isEmpty {
            print("globals recorded, never imported or called: \(pytorch.inertGlobals.joined(separator: ", "))")
        }
    }

    static func main() { runAsTool() }
}
