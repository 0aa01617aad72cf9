import Foundation
import SWAData
import SWAEngine
import SWAFormats
import SWAKit

/// One parser under fuzzing, fed arbitrary bytes through the entry point the tools use.
///
/// The contract every target checks (docs/RELIABILITY.md, "Fuzzing"): whatever the bytes, the
/// parser either succeeds or throws an `SWAError` that names the file. Any other error type, an
/// error without a file, a trap, a sanitizer report, a hang or an absurd allocation is a bug in
/// the library. `swa-fuzz` runs these under libFuzzer (`make fuzz`); `FuzzRegressionTests`
/// replays the committed seeds and every input that once crashed.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A plain `.safetensors` file: length field, JSON header, data section (`CheckpointInspection`, as swa-inspect).
    case safetensorsHeader = "safetensors-header"
    /// A zstd-compressed checkpoint: frames, checksums, skippable frames (`CheckpointInspection`).
    case zstdStream = "zstd-stream"
    /// The seekable-format seek table at the end of a zstd checkpoint (`SeekTable.read`, then `CheckpointInspection`).
    case seekTable = "seek-table"
    /// One `.npy` array header (`NpyHeader.parse`, as the `.npz` reader calls it on each member).
    case npy
    /// An `.npz` archive: zip directory, members, `.npy` headers, element streams, CRC-32 (`NpzArchive`).
    case npz
    /// Model graph JSON (`ModelGraph(json:source:)`, as `--graph FILE` and `swa.graph` are read).
    case graphJSON = "graph-json"
    /// One pickle through the restricted unpickler with PyTorch's globals (`Unpickler` + `TorchPickleResolver`).
    case pickle
    /// A `torch.save` zip file (`CheckpointInspection`, which dispatches to `PyTorchArchive`).
    case pytorchZip = "pytorch-zip"
    /// A legacy (pre-1.6) `torch.save` file (`CheckpointInspection`, which dispatches to `PyTorchArchive`).
    case pytorchLegacy = "pytorch-legacy"
    /// A Hugging Face `model.safetensors.index.json` (`SafetensorsIndex.parse`).
    case hfIndex = "hf-index"
    /// A CIFAR-10 python batch (`test_batch`, a pickled dict) read as the test split (`CIFARArchive`).
    case cifarPython = "cifar-python"
    /// A CIFAR-100 binary record file (`test.bin`) read as the test split (`CIFARArchive`).
    case cifarBinary = "cifar-binary"
    /// A JPEG through libjpeg-turbo (`ImageDecoder.decode`).
    case jpeg
    /// A PNG through libspng (`ImageDecoder.decode`).
    case png
    /// A `--partial` file of a sharded run (`PartialResultFile.read`, as `--merge` reads it).
    case partialResult = "partial-result"

    /// Runs the target on `bytes`; `scratch` holds the file (or folder) the path-based readers open.
    /// - Throws: whatever the parser throws; `FuzzOutcome.check` judges it.
    public func run(_ bytes: [UInt8], scratch: FuzzScratch) throws {
        switch self {
        case .safetensorsHeader, .zstdStream, .pytorchZip, .pytorchLegacy:
            _ = try CheckpointInspection.inspect(path: try scratch.file(holding: bytes))
        case .seekTable:
            let path = try scratch.file(holding: bytes)
            _ = try SeekTable.read(from: InputFile(path: path))
            _ = try CheckpointInspection.inspect(path: path)
        case .npy:
            _ = try NpyHeader.parse(bytes, source: ArraySource(file: scratch.name, member: "x.npy"))
        case .npz:
            let archive = try NpzArchive(path: try scratch.file(holding: bytes))
            try Self.readAll(archive)
        case .graphJSON:
            // `--graph FILE` is read as UTF-8 text first (ModelSource); invalid UTF-8 never reaches the parser.
            guard let text = String(validating: bytes, as: UTF8.self) else { return }
            _ = try ModelGraph(json: text, source: scratch.name)
        case .pickle:
            var unpickler = Unpickler(input: PickleInput(bytes: bytes), resolver: TorchPickleResolver())
            do {
                _ = try unpickler.load()
            } catch let error as PickleError {
                // The readers wrap a PickleError with their file's name (PyTorchFile, CIFARPythonReader).
                throw SWAError(file: scratch.name, error.message)
            }
        case .hfIndex:
            _ = try SafetensorsIndex.parse(bytes, file: scratch.name)
        case .cifarPython:
            let folder = try scratch.folder(named: "cifar-10-batches-py", holding: ["test_batch": bytes, "batches.meta": []])
            try Self.readAll(try Self.cifar(folder))
        case .cifarBinary:
            let folder = try scratch.folder(named: "cifar-100-binary", holding: ["test.bin": bytes, "fine_label_names.txt": []])
            try Self.readAll(try Self.cifar(folder))
        case .jpeg, .png:
            _ = try scratch.imageDecoder.decode(bytes, path: scratch.name)
        case .partialResult:
            _ = try PartialResultFile.read(try scratch.file(holding: bytes))
        }
    }

    /// Reads every array of `container` to its end, as a data pass does.
    static func readAll(_ container: any ArrayContainer) throws {
        for key in container.keys {
            _ = try container.info(of: key)
            try container.streamElements(of: key) { _ in .more }
        }
    }

    /// The CIFAR folder `folder` as `DataSet.open` recognises it, test split.
    static func cifar(_ folder: String) throws -> CIFARArchive {
        guard let layout = CIFARLayout.recognise(folder) else {
            throw SWAError(file: folder, "internal: the fuzz folder is not recognised as CIFAR")
        }
        return try CIFARArchive(path: folder, layout: layout, split: .test)
    }
}
