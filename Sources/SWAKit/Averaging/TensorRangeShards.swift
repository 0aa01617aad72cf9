import Foundation
import SWAFormats

// MARK: - swa-avg --shard I/N: a range of tensors per shard

/// A sharded average split by tensors (docs/SCALE.md, "swa-avg, by tensors"): shard I of N
/// averages a contiguous range of the tensors, about 1/N of the output bytes, and writes it as
/// `FOLDER/model-0000{I+1}-of-0000N.safetensors`; `completeFolder` then writes the index and the
/// configuration files, and the folder is a Hugging Face sharded checkpoint.
///
/// Every shard reads every input whole (it hashes each for `swa.sources` and `swa.partial`, and
/// a zstd stream cannot be skipped without decompressing it) but combines and writes only its
/// own tensors. Each tensor goes through the same `TensorCombiner` as in the single process,
/// so the tensors are bit for bit the single process's, and so is the metadata of every shard
/// (`swa.partial` added, which records the run and the shard).
public enum TensorRangeShards {
    /// The `swa.partial` kind of a tensor-range shard file.
    public static let kind = "avg"

    /// The tensors (indices, in order) shard `shard` takes out of tensors of `byteCounts` bytes:
    /// tensor t, whose data starts `start(t)` bytes into the output, belongs to shard
    /// ⌊start(t)·N / total⌋. So shards hold contiguous ranges of about total/N bytes each (a tensor
    /// larger than that makes the shards after it empty, as its size dictates); with no bytes at
    /// all, `ShardSpec.range` splits the tensors by count.
    public static func tensorRange(of shard: ShardSpec, byteCounts: [Int]) -> Range<Int> {
        let total = byteCounts.reduce(0, +)
        guard total > 0 else { return shard.range(of: byteCounts.count) }
        var owners: [Int] = []
        var start = 0
        for count in byteCounts {
            // ⌊start·N / total⌋ without overflow; empty tensors at the very end go to the last shard.
            owners.append(min(shard.count - 1, total.dividingFullWidth(start.multipliedFullWidth(by: shard.count)).quotient))
            start += count
        }
        let lower = owners.firstIndex { $0 >= shard.index } ?? owners.count
        let upper = owners.firstIndex { $0 > shard.index } ?? owners.count
        return lower..<max(lower, upper)
    }

    /// Averages shard `shard`'s tensors of `request` into `FOLDER/model-0000{I+1}-of-0000N.safetensors`,
    /// where FOLDER is `request.destination` (created when missing).
    /// - Parameters:
    ///   - options: the options that change the result, recorded in `swa.partial` and compared at the merge.
    ///   - tool: the tool and version, for messages.
    /// - Returns: the report; its `output` is the shard file.
    public static func writeShard(_ request: AveragingRequest, shard: ShardSpec, options: [String: String], tool: String,
                                  note: (String) -> Void = { _ in }, onChunk: () -> Void = {}) throws -> AveragingReport {
        try request.validate()
        let folder = trimmedFolder(request.destination)
        if !ModelFolder.isDirectory(folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                // Another shard may have made it meanwhile.
                guard ModelFolder.isDirectory(folder) else {
                    throw SWAError(file: folder, "cannot create the output folder: \(error.localizedDescription)")
                }
            }
        }
        var shardRequest = request
        shardRequest.destination = ModelFolder.join(folder, HuggingFaceFolderWriter.shardFileName(index: shard.index, count: shard.count))
        let averager = StreamingAverager(request: shardRequest)
        let byteCounts = request.inputs[0].header.tensors.map { TensorSpec(name: $0.name, dtype: averager.outputDType(of: $0), shape: $0.shape).byteCount }
        shardRequest.tensorRange = tensorRange(of: shard, byteCounts: byteCounts)
        let sideFiles = request.outputOptions.sideFilesFrom ?? request.inputs.last.flatMap { ModelFolder.folder(holding: $0.path) }
        var runOptions = options
        runOptions["split"] = "tensor bytes"
        runOptions["tensors"] = "\(byteCounts.count) tensors, \(byteCounts.reduce(0, +)) bytes"
        runOptions["side_files_from"] = sideFiles ?? ""
        let shardAverager = StreamingAverager(request: shardRequest)
        return try shardAverager.run(note: note, onChunk: onChunk) { hashes in
            var metadata = CheckpointMetadata(shardAverager.outputMetadata(hashes: hashes))
            let inputs = zip(request.inputs, hashes).map { InputDigest(name: $0.path, sha256: $1) }
            let header = PartialResultHeader(identity: PartialRunIdentity(kind: kind, inputs: inputs, options: runOptions),
                                             shard: shard, tool: tool)
            metadata[.partial] = header.metadataJSON
            return metadata.values
        }
    }

    /// What `completeFolder` did.
    public struct Completion: Sendable, Codable {
        /// The folder, now a Hugging Face sharded checkpoint.
        public var folder: String
        /// The shard files, in order.
        public var shards: [String]
        /// Tensors over all shards.
        public var tensors: Int
        /// Bytes of tensor data over all shards (`metadata.total_size`).
        public var totalSize: Int
        /// Bytes written by the merge: the index and the configuration files.
        public var bytesWritten: Int
    }

    /// Completes a folder of tensor-range shards: checks that the shard files `model-*-of-*.safetensors`
    /// in `folder` are all the shards of one run (`orderedCompleteShards`: same inputs and
    /// options, no shard missing or twice) and that together they hold every tensor once; then
    /// writes `model.safetensors.index.json` and copies the configuration files of the last
    /// input's folder. Reads only the shards' headers.
    /// - Parameter overwrite: replace an existing index and configuration files (`--force`).
    public static func completeFolder(_ folder: String, overwrite: Bool) throws -> Completion {
        let folder = trimmedFolder(folder)
        guard ModelFolder.isDirectory(folder) else {
            throw SWAError(file: folder, "is not a folder of shard files; give the -o FOLDER/ of the swa-avg --shard runs")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { HuggingFaceFolderWriter.parseShardFileName($0) != nil }.sorted()
        } catch {
            throw SWAError(file: folder, "cannot list the folder: \(error.localizedDescription)")
        }
        guard !names.isEmpty else {
            throw SWAError(file: folder, "holds no shard files (model-00001-of-0000N.safetensors ...) written by swa-avg --shard I/N")
        }
        var partials: [(path: String, header: PartialResultHeader)] = []
        var headers: [String: SafetensorsHeader] = [:]
        for name in names {
            let path = ModelFolder.join(folder, name)
            let archive = try TensorArchives.open(path: path)
            guard let text = archive.header.checkpointMetadata[.partial] else {
                throw SWAError(file: path, "not a shard of a sharded swa-avg (no \(PartialResultFile.metadataKey) metadata)")
            }
            let header = try PartialResultHeader(metadataJSON: text, file: path)
            let named = HuggingFaceFolderWriter.parseShardFileName(name)!
            guard named.index == header.shard.index, named.count == header.shard.count else {
                throw SWAError(file: path, "its name says shard \(named.index)/\(named.count) but it holds shard \(header.shard)")
            }
            partials.append((path, header))
            headers[path] = archive.header
        }
        let ordered = try orderedCompleteShards(partials, kind: kind)
        var weightMap: [(tensor: String, file: String)] = []
        var seen: [String: String] = [:]
        var totalSize = 0
        for (path, _) in ordered {
            let file = path.split(separator: "/").last.map(String.init) ?? path
            for tensor in headers[path]!.tensors {
                if let other = seen[tensor.name] {
                    throw SWAError(file: path, "tensor '\(tensor.name)' is also in \(other)")
                }
                seen[tensor.name] = path
                weightMap.append((tensor.name, file))
                totalSize += tensor.byteCount
            }
        }
        let options = ordered[0].header.identity.options
        let expected = "\(weightMap.count) tensors, \(totalSize) bytes"
        if let recorded = options["tensors"], recorded != expected {
            throw SWAError(file: folder, "the shards hold \(expected), but the run had \(recorded)")
        }
        var written = try HuggingFaceFolderWriter.writeIndex(into: folder, weightMap: weightMap, totalSize: totalSize, overwrite: overwrite)
        if let source = options["side_files_from"], !source.isEmpty {
            written += try HuggingFaceFolderWriter.copySideFiles(from: source, into: folder, overwrite: overwrite)
        }
        return Completion(folder: folder, shards: ordered.map(\.path), tensors: weightMap.count, totalSize: totalSize, bytesWritten: written)
    }

    private static func trimmedFolder(_ path: String) -> String {
        var trimmed = path
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }
}
