import Foundation

// MARK: - Completing a folder whose shards were written apart

/// The pieces of a Hugging Face folder written by separate processes (`swa-avg --shard I/N`,
/// docs/SCALE.md): each process writes one `model-0000i-of-0000N.safetensors` itself, and a
/// merge step adds the index and the configuration files, so the folder is complete without
/// copying any tensor data.
extension HuggingFaceFolderWriter {
    /// `model-00003-of-00008.safetensors` for shard `index` (0-based) of `count`, as
    /// `transformers` numbers its shards (from 1, five digits).
    public static func shardFileName(index: Int, count: Int) -> String {
        func padded(_ number: Int) -> String { String(repeating: "0", count: max(0, 5 - String(number).count)) + String(number) }
        return "model-\(padded(index + 1))-of-\(padded(count)).safetensors"
    }

    /// The shard number (0-based) and count a name of `shardFileName`'s form stands for, else nil.
    public static func parseShardFileName(_ name: String) -> (index: Int, count: Int)? {
        guard name.hasPrefix("model-"), name.hasSuffix(".safetensors") else { return nil }
        let middle = name.dropFirst("model-".count).dropLast(".safetensors".count)
        let parts = middle.components(separatedBy: "-of-")
        guard parts.count == 2, let number = Int(parts[0]), let count = Int(parts[1]),
              number >= 1, number <= count, shardFileName(index: number - 1, count: count) == name else { return nil }
        return (number - 1, count)
    }

    /// Writes `model.safetensors.index.json` into `folder` (atomically), as `transformers` does.
    /// - Parameters:
    ///   - weightMap: each tensor and the shard file holding it.
    ///   - totalSize: bytes of tensor data in all shards (`metadata.total_size`).
    ///   - overwrite: replace an existing index; otherwise an existing one is an error.
    /// - Returns: the bytes written.
    public static func writeIndex(into folder: String, weightMap: [(tensor: String, file: String)], totalSize: Int,
                                  overwrite: Bool) throws -> Int {
        let index = indexJSON(totalSize: totalSize, weightMap: weightMap.map { ($0.tensor, $0.file) })
        let output = try AtomicOutputFile(destination: ModelFolder.join(folder, ModelFolder.indexName), overwrite: overwrite)
        try index.withUnsafeBytes { try output.write($0) }
        try output.commit()
        return index.count
    }

    /// Copies the non-weight files of the model folder `source` (`isSideFile`: `config.json`,
    /// tokenizer and generation files; regular files only) into `folder`, each atomically.
    /// - Parameter overwrite: replace files already there; otherwise one is an error.
    /// - Returns: the bytes copied.
    public static func copySideFiles(from source: String, into folder: String, overwrite: Bool) throws -> Int {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
        } catch {
            throw SWAError(file: source, "cannot list the folder to copy its configuration files: \(error.localizedDescription)")
        }
        var copied = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for name in names where isSideFile(name) {
            let path = ModelFolder.join(source, name)
            guard ModelFolder.isRegularFile(path) else { continue }
            let input = try InputFile(path: path)
            let output = try AtomicOutputFile(destination: ModelFolder.join(folder, name), overwrite: overwrite)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                copied += count
            }
            try output.commit()
        }
        return copied
    }
}
