#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A folder holding one model as Hugging Face saves it (`save_pretrained`, a Trainer's
/// `checkpoint-<step>/`): `model.safetensors.index.json` and its shards, or one
/// `model.safetensors`, beside `config.json`, tokenizer files and, in a Trainer checkpoint,
/// `trainer_state.json` and the optimizer's state.
public enum ModelFolder {
    /// The index `transformers` writes beside the shards of a sharded model.
    public static let indexName = "model.safetensors.index.json"
    /// The single file of an unsharded model.
    public static let singleFileName = "model.safetensors"
    /// The Trainer's state, whose `global_step` positions a checkpoint folder.
    public static let trainerStateName = "trainer_state.json"

    /// The file that describes the folder's model: its index if it has one, else its
    /// `model.safetensors`; `nil` if it holds neither.
    public static func modelFile(in folder: String) -> String? {
        for name in [indexName, singleFileName] {
            let path = join(folder, name)
            if isRegularFile(path) { return path }
        }
        return nil
    }

    /// Whether `path` is a folder holding one model (`modelFile(in:)` finds one).
    public static func isModelFolder(_ path: String) -> Bool {
        isDirectory(path) && modelFile(in: path) != nil
    }

    /// `global_step` of the folder's `trainer_state.json`; `nil` if the folder has no such file.
    /// - Throws: naming the file if it exists but is not JSON or its `global_step` is not a
    ///   non-negative integer.
    public static func trainerGlobalStep(in folder: String) throws -> Int? {
        let path = join(folder, trainerStateName)
        guard isRegularFile(path) else { return nil }
        let file = try InputFile(path: path)
        guard file.size <= SafetensorsHeader.maximumJSONByteCount else {
            throw SWAError(file: path, "\(file.size) bytes is too large for a trainer state")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(file.bytes(at: 0, count: file.size) ?? [])
        } catch {
            throw SWAError(file: path, "not valid JSON: \(error)")
        }
        guard let step = document["global_step"] else {
            throw SWAError(file: path, "has no 'global_step'")
        }
        guard let value = step.unsignedIntegerValue, value <= UInt64(Int.max) else {
            throw SWAError(file: path, "'global_step' is not a non-negative integer: \(step.serialized)")
        }
        return Int(value)
    }

    /// `folder/name`, without doubling a trailing slash.
    public static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// Whether `path` names a directory (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` names a regular file (following symbolic links).
    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }
}

extension ModelFolder {
    /// The folder of a checkpoint's model files, whose side files an output may copy: the path
    /// itself for a folder, the index's folder for a sharded safetensors index, else `nil`.
    public static func folder(holding checkpointPath: String) -> String? {
        if isDirectory(checkpointPath) { return checkpointPath }
        if (try? FileFormat.detect(path: checkpointPath)) == .safetensorsIndex { return SWAFormats.folder(of: checkpointPath) }
        return nil
    }
}
