import SWAData
import SWAEngine
import SWAFormats
import Foundation

/// Finds checkpoints among `inputs` (files, or directories whose files are all taken) and
/// orders them by training position: `swa.step` if every checkpoint has it, else
/// `swa.epoch`, else the last number in the file name (docs/CLI.md, swa-avg, "Inputs" and "Order").
///
/// Only headers are read. In a directory, hidden files are ignored and a file that is neither
/// zstd nor safetensors nor a `torch.save` zip (a README, a log) is skipped with a warning,
/// unless its name ends in `.safetensors`, `.zst`, `.zstd`, `.bin`, `.pt`, `.pth`,
/// `.pth.tar` or `.ckpt`: a damaged checkpoint is an error, never skipped.
///
/// Folders (docs/CLI.md, "Hugging Face folders"): a folder holding one model (`ModelFolder`:
/// an index with its shards, or a `model.safetensors`) is one checkpoint, positioned by its
/// `trainer_state.json` (`swa.step`), else the number in its name. A folder whose subfolders
/// hold models (a Trainer's `output/` with `checkpoint-<step>/` folders) is a run of them; the
/// files beside those subfolders are not read (a warning names a model saved there).
/// - Parameters:
///   - options: how to read PyTorch files (`--key`, `--strip-prefix`); kept in every entry.
///   - warn: receives one line per skipped file.
public func discoverCheckpoints(_ inputs: [String], options: ArchiveOptions = .none, warn: (String) -> Void = { _ in }) throws -> CheckpointSequence {
    var paths: [String] = []
    for input in inputs {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw SWAError(file: input, "no such file or directory")
        }
        guard isDirectory.boolValue else {
            paths.append(input)
            continue
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: input).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw SWAError(file: input, "cannot list the directory: \(error.localizedDescription)")
        }
        let modelFolders = names.map { ModelFolder.join(input, $0) }.filter(ModelFolder.isModelFolder)
        if !modelFolders.isEmpty {
            if let model = ModelFolder.modelFile(in: input) {
                warn("ignoring \(model): the model folders in \(input) are the checkpoints of the run")
            }
            paths += modelFolders
            continue
        }
        if ModelFolder.isModelFolder(input) {
            paths.append(input)
            continue
        }
        var found = 0
        for name in names {
            let path = input.hasSuffix("/") ? input + name : input + "/" + name
            var isSubdirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isSubdirectory)
            if isSubdirectory.boolValue { continue }
            let format = try FileFormat.detect(path: path)
            if hasCheckpointExtension(name) || format.isCheckpoint {
                paths.append(path)
                found += 1
            } else {
                warn("skipping \(path): \(TensorArchives.notACheckpoint(format))")
            }
        }
        if found == 0 { throw SWAError(file: input, "no checkpoints found in this directory") }
    }
    let entries = try paths.map { path in
        let archive = try TensorArchives.open(path: path, options: options)
        return CheckpointEntry(path: path, header: archive.header, format: archive.format,
                               fileByteCount: archive.fileByteCount, position: 0, options: options)
    }
    return try orderByPosition(entries)
}

/// Whether the name promises a checkpoint; such a file is read (and fails loudly if damaged)
/// even when its first bytes are not those of a checkpoint.
func hasCheckpointExtension(_ name: String) -> Bool {
    let lowered = name.lowercased()
    return [".safetensors", ".zst", ".zstd", ".bin", ".pt", ".pth", ".pth.tar", ".ckpt"].contains { lowered.hasSuffix($0) }
}

/// Assigns positions and sorts; duplicate positions are an error (which one would be meant?).
func orderByPosition(_ unordered: [CheckpointEntry]) throws -> CheckpointSequence {
    var entries = unordered
    let metadata = entries.map(\.header.checkpointMetadata)
    let source: PositionSource
    if metadata.allSatisfy({ $0.step != nil }) {
        source = .step
    } else if metadata.allSatisfy({ $0.epoch != nil }) {
        source = .epoch
    } else {
        source = .fileName
    }
    for index in entries.indices {
        switch source {
        case .step: entries[index].position = metadata[index].step!
        case .epoch: entries[index].position = metadata[index].epoch!
        case .fileName:
            guard let number = lastNumber(in: entries[index].fileName) else {
                throw SWAError(file: entries[index].path,
                               "cannot place this checkpoint in training order: no swa.step or swa.epoch metadata and no number in its name")
            }
            entries[index].position = number
        }
    }
    entries.sort { $0.position < $1.position }
    for (previous, next) in zip(entries, entries.dropFirst()) where previous.position == next.position {
        if let different = differentModelsMessage(next, comparedWith: previous) { throw SWAError(different) }
        throw SWAError(file: next.path, "has the same training position (\(source.rawValue) \(formatPosition(next.position))) as \(previous.path)")
    }
    return CheckpointSequence(entries: entries, positionSource: source)
}

/// The last run of digits in `name`, e.g. 13 for `ckpt-013.safetensors.zst`.
func lastNumber(in name: String) -> Double? {
    var digits = ""
    var last: String?
    for character in name {
        if character.isASCII, character.isNumber {
            digits.append(character)
        } else if !digits.isEmpty {
            last = digits
            digits = ""
        }
    }
    if !digits.isEmpty { last = digits }
    return last.flatMap(Double.init)
}
