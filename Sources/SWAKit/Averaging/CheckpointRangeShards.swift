import Crypto
import Foundation
import SWAFormats

// MARK: - swa-avg --shard I/N --partial FILE: a range of checkpoints per shard

/// A sharded average split by checkpoints (docs/SCALE.md, "swa-avg, by checkpoints"): shard I
/// of N takes `ShardSpec.range` of the selected checkpoints, sums wᵢ·xᵢ over them in Float64
/// in input order, and writes the undivided sums as a partial result (F64 tensors; copied
/// tensors such as BN counters in their own dtype). `merge` adds the partials in shard order,
/// divides by the run's Σ wᵢ and rounds once. Each shard reads only its own checkpoints, so the
/// checkpoints of one run may live on different machines.
///
/// Exactness: the single process adds w₀x₀ + w₁x₁ + … one term at a time; the merge adds the
/// shards' sums instead. Both are exact, and the outputs identical bit for bit, whenever every
/// running Float64 sum is exact, which holds for equal (or small integer) weights on F32, F16
/// and BF16 checkpoints unless one element's values across the checkpoints span more than
/// about 2^(29 − log₂ K) in magnitude (K checkpoints). Otherwise the sums may differ in the last
/// bit of Float64 before the final rounding, which changes an output element only when its
/// average falls that close to a rounding boundary of the output dtype.
public enum CheckpointRangeShards {
    /// The `swa.partial` kind of a checkpoint-range partial.
    public static let kind = "avg-sums"

    /// Writes shard `shard`'s partial sums of `request` (all selected checkpoints, weighted
    /// average) to `partial`.
    /// - Parameters:
    ///   - options: the options that change the result (recorded, compared at the merge).
    ///   - tool: the tool and version, for messages.
    /// - Throws: for an EMA (a chain through every checkpoint cannot be split), or when the
    ///   shard has no checkpoint (more shards than checkpoints).
    public static func writePartial(_ request: AveragingRequest, shard: ShardSpec, to partial: String, overwrite: Bool,
                                    options: [String: String], tool: String,
                                    note: (String) -> Void = { _ in }, onChunk: () -> Void = {}) throws -> AveragingReport {
        try request.validate()
        guard case let .weighted(weights) = request.method else {
            throw SWAError("--ema cannot be split over checkpoints (each step of an EMA needs the one before it): "
                + "split it by tensors instead, with --shard I/N -o FOLDER/ and no --partial")
        }
        let range = shard.range(of: request.inputs.count)
        guard !range.isEmpty else {
            throw SWAError("shard \(shard) has no checkpoint: \(request.inputs.count) selected for \(shard.count) shards; use at most \(request.inputs.count) shards")
        }
        var shardRequest = request
        shardRequest.inputs = Array(request.inputs[range])
        shardRequest.method = .weighted(Array(weights[range]))
        shardRequest.combinedTensors = .float64Sums
        shardRequest.destination = partial
        shardRequest.overwrite = overwrite
        let shares = Array(request.effectiveWeights[range])
        let averager = StreamingAverager(request: shardRequest)
        let summed = request.inputs[0].header.tensors.filter { TensorRule.of($0, buffers: request.buffers) == .combine }
        var runOptions = options
        runOptions["checkpoints"] = selectionDigest(request.inputs)
        runOptions["weights"] = weights.map { "\($0)" }.joined(separator: ",")
        runOptions["summed_dtypes"] = dtypesRecord(summed)
        // The whole run's last checkpoint, as the single process takes it, for a folder output's config files.
        runOptions["side_files_from"] = request.outputOptions.sideFilesFrom ?? request.inputs.last.flatMap { ModelFolder.folder(holding: $0.path) } ?? ""
        return try averager.run(note: note, onChunk: onChunk) { hashes in
            var metadata = CheckpointMetadata(averager.outputMetadata(hashes: hashes, weights: shares))
            metadata.method = request.method.metadataValue
            let header = PartialResultHeader(identity: PartialRunIdentity(kind: kind, inputs: [], options: runOptions),
                                             shard: shard, tool: tool)
            metadata[.partial] = header.metadataJSON
            return metadata.values
        }
    }

    /// Adds the partials (any order given; merged in shard order) into the average the single
    /// process writes to `destination`: Σ of the shards' sums, divided by the run's Σ wᵢ, rounded
    /// once to the output dtype; copied tensors from the last shard (BN counters) or checked equal
    /// across shards (integer tensors). Metadata: the last checkpoint's, with every shard's
    /// `swa.sources` in order, as the single process writes it.
    /// - Throws: partials of another run (`orderedCompleteShards`), missing or duplicate shards,
    ///   a damaged partial (named).
    public static func merge(_ partials: [String], destination: String, overwrite: Bool,
                             outputOptions: OutputOptions = OutputOptions(), threads: Int = WorkerThreads.count,
                             onChunk: () -> Void = {}) throws -> AveragingReport {
        var headers: [(path: String, header: PartialResultHeader)] = []
        var entries: [String: CheckpointEntry] = [:]
        for path in partials {
            let archive = try TensorArchives.open(path: path)
            guard let text = archive.header.checkpointMetadata[.partial] else {
                throw SWAError(file: path, "not a partial result (no \(PartialResultFile.metadataKey) metadata); give the files written by swa-avg --partial")
            }
            headers.append((path, try PartialResultHeader(metadataJSON: text, file: path)))
            entries[path] = CheckpointEntry(path: path, header: archive.header, format: archive.format,
                                            fileByteCount: fileSize(path), position: Double(headers.count))
        }
        let ordered = try orderedCompleteShards(headers, kind: kind)
        let options = ordered[0].header.identity.options
        let weights = try (options["weights"] ?? "").split(separator: ",").map { text in
            guard let weight = Double(text) else { throw SWAError(file: ordered[0].path, "damaged partial result: weights '\(options["weights"] ?? "")'") }
            return weight
        }
        guard let buffers = options["buffers"].flatMap(BufferPolicy.init(rawValue:)),
              let dtype = options["dtype"].flatMap(OutputDType.init(optionText:)),
              let summedDTypes = options["summed_dtypes"].flatMap(parseDTypesRecord) else {
            throw SWAError(file: ordered[0].path, "damaged partial result: its options lack buffers, dtype or summed_dtypes")
        }
        var request = AveragingRequest(inputs: ordered.map { entries[$0.path]! }, method: .weighted(Array(repeating: 1, count: ordered.count)),
                                       buffers: buffers, outputDType: dtype, destination: destination, overwrite: overwrite, threads: threads)
        request.outputOptions = outputOptions
        if request.outputOptions.sideFilesFrom == nil, let source = options["side_files_from"], !source.isEmpty {
            request.outputOptions.sideFilesFrom = source
        }
        // The single process's divisor, the same expression over the same weights: Σ wᵢ in input order.
        request.combinedTensors = .averageOfSums(divisor: AveragingMethod.weighted(weights).divisor, inputDTypes: summedDTypes)
        for (path, header) in ordered {
            let archive = entries[path]!.header
            for tensor in archive.tensors where summedDTypes.keys.contains(tensor.name) && tensor.dtype != .f64 {
                throw SWAError(file: path, "damaged partial result: summed tensor '\(tensor.name)' is \(tensor.dtype.name), expected F64 (shard \(header.shard))")
            }
        }
        let averager = StreamingAverager(request: request)
        return try averager.run(note: { _ in }, onChunk: onChunk) { _ in
            var metadata = request.inputs.last!.header.checkpointMetadata
            metadata[.partial] = nil
            var sources: [SourceRecord] = []
            for entry in request.inputs {
                sources += try entry.header.checkpointMetadata.sources(file: entry.path) ?? []
            }
            metadata.averagedCount = sources.count
            metadata.setSources(sources)
            return metadata.values
        }
    }

    /// "K checkpoints, SHA-256 of their names and positions …": the same selection in every shard.
    static func selectionDigest(_ inputs: [CheckpointEntry]) -> String {
        let text = inputs.map { "\($0.fileName)\t\($0.position)" }.joined(separator: "\n")
        let digest = SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
        return "\(inputs.count) checkpoints, names and positions \(digest.prefix(16))"
    }

    /// The dtypes the summed tensors have in the checkpoints, as `name:DTYPE` lines (JSON would
    /// escape more than it says); the merge rounds each to `--dtype` applied to its dtype.
    static func dtypesRecord(_ tensors: [TensorInfo]) -> String {
        tensors.map { "\($0.name):\($0.dtype.name)" }.joined(separator: "\n")
    }

    static func parseDTypesRecord(_ text: String) -> [String: DType]? {
        var result: [String: DType] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.lastIndex(of: ":"), let dtype = DType(rawValue: String(line[line.index(after: colon)...])) else { return nil }
            result[String(line[..<colon])] = dtype
        }
        return result
    }

    private static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
    }
}
