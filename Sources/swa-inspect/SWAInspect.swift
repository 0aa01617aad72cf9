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

    @Argument(help: ArgumentHelp("A checkpoint (zstd-compressed or plain safetensors).", valueName: "file"))
    var file: String

    @Flag(help: "Print the description as JSON.")
    var json = false

    func run() throws {
        let info = try CheckpointInspection.inspect(path: file)
        if json { try printJSON(info); return }
        print("file: \(info.path)")
        if info.container == "zstd" {
            let table = info.seekTable ? "seek table of \(counted(info.seekTableFrames ?? 0, "frame"))" : "no seek table"
            print("container: zstd, \(counted(info.frames, "frame")) (\(table)), checksums verified")
        } else if info.container == FileFormat.safetensorsIndex.rawValue {
            print("container: sharded safetensors (an index and its shards, read as one checkpoint)")
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

    static func main() { runAsTool() }
}
