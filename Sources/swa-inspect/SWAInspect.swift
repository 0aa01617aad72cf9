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
        shortened in the table; --json prints them whole. Tensors holding NaN or infinite values \
        are listed with how many and the flat index of the first; they do not change the exit \
        status (swa-avg, swa-bn-update, swa-eval, swa-landscape and swa-convert refuse such \
        weights, naming the tensor).

        --verify checks integrity only and prints one line: every zstd frame decoded through \
        its checksum, the seek table against the frames (count, compressed and decompressed \
        sizes), the safetensors layout (header length and JSON, dtypes, shape x dtype size = \
        byte range, offsets contiguous, in range, not overlapping), every shard of a Hugging \
        Face folder or index, every storage of a PyTorch file and, in the zip format, every \
        member against its CRC-32. Plain safetensors and legacy PyTorch files carry no \
        checksum: their layout is checked, their data cannot be. Exit 0 with "OK" and what was \
        checked, or exit 1 with the first fault, naming the file and the first tensor hit.
        """,
        version: swaVersion)

    @Argument(help: ArgumentHelp("A checkpoint (zstd-compressed or plain safetensors, or a PyTorch torch.save file).", valueName: "file"))
    var file: String

    @OptionGroup(title: "PyTorch inputs")
    var pytorch: PyTorchInputOptions

    @Flag(help: "Print the description as JSON.")
    var json = false

    @Flag(help: "Check integrity only (frame checksums, seek table, safetensors layout) and print one line: OK, or the first fault.")
    var verify = false

    func run() throws {
        if verify {
            let report = try CheckpointVerification.verify(path: file, options: pytorch.archiveOptions)
            if json { try printJSON(report) } else { print(verifiedLine(report)) }
            return
        }
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
            let flagged = tensor.nonFinite.map { "  ! \($0.summary)" } ?? ""
            print("  \(tensor.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(tensor.dtype.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shape.padding(toLength: 18, withPad: " ", startingAt: 0))  \(formatCount(tensor.bytes)) B\(flagged)")
        }
        if info.nonFiniteTensors > 0 {
            print("non-finite values: \(formatCount(info.nonFiniteElements)) in \(counted(info.nonFiniteTensors, "tensor")) (marked !)")
        } else {
            print("non-finite values: none")
        }
    }

    /// `ckpt.bin: OK: zstd-compressed safetensors, 3 zstd frames (every checksum verified), seek table matches 3 frames, 27 tensors laid out exactly, 84,096 bytes of tensor data decoded`.
    func verifiedLine(_ report: CheckpointVerification) -> String {
        var parts = [FileFormat(rawValue: report.container)?.description ?? report.container]
        if report.files.count > 1 { parts.append("\(counted(report.files.count, "file")) (the shards)") }
        let frames = report.files.reduce(0) { $0 + $1.frames }
        let unchecked = report.files.reduce(0) { $0 + $1.framesWithoutChecksum }
        if frames > 0 {
            parts.append(counted(frames, "zstd frame") + (unchecked == 0 ? " (every checksum verified)" : " (\(unchecked) without a checksum, not verifiable)"))
            let tables = report.files.compactMap(\.seekTableFrames)
            parts.append(tables.isEmpty ? "no seek table" : "seek table matches \(counted(tables.reduce(0, +), "frame"))")
        } else if let members = report.files.first?.zipMembers {
            parts.append("\(counted(members, "zip member")) (every CRC-32 verified)")
        } else if report.container == FileFormat.pickle.rawValue {
            parts.append("no checksums in the legacy format (structure checked only)")
        } else if report.container == FileFormat.safetensors.rawValue || report.container == FileFormat.safetensorsIndex.rawValue {
            parts.append("no checksums in plain safetensors (layout checked only)")
        }
        parts.append("\(counted(report.tensors, "tensor")) laid out exactly, \(formatCount(report.dataBytes)) bytes of tensor data decoded")
        if let first = report.firstNonFiniteTensor {
            parts.append("\(counted(report.nonFiniteTensors, "tensor")) holding NaN or Inf (first '\(first)')")
        }
        return "\(report.path): OK: " + parts.joined(separator: ", ")
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
