import Crypto
import Foundation
import SWAData
import SWAEngine
import SWAFormats

// MARK: - Shards of the BN pass and their merge

/// What one shard of `swa-bn-update` did (`--shard I/N --partial FILE`); `--json` prints it.
public struct BatchNormShardReport: Codable, Sendable {
    public var model: String
    public var data: String
    /// `"I/N"`.
    public var shard: String
    /// The batches this shard ran, `first ..< end` of the single pass's `total`.
    public var batches: BatchRange
    public var samples: Int
    public var partial: String
    public var seconds: Double

    public struct BatchRange: Codable, Sendable {
        public var first: Int
        public var end: Int
        public var total: Int
    }
}

extension BatchNormUpdateJob {
    /// The `kind` of BN partial results.
    public static let partialKind = "bn"

    /// Runs shard `shard` of the pass: the batches `shard.range(of: batch count)` of the single
    /// pass (whole batches of `batchSize`, the same samples and augmentation draws), and writes
    /// their Float64 sums to `partial` (docs/SCALE.md). `output` is not written.
    ///
    /// The partial names the run: the model's and the data's SHA-256, and every option that
    /// changes the result (batch size, weighting, augmentation and seed, sample count, graph,
    /// normalisation), so `merge` refuses partials of another run.
    public func runShard(_ shard: ShardSpec, partial: String, progress: ProgressObserver = SilentProgress()) throws -> BatchNormShardReport {
        let started = Date()
        try AtomicOutputFile.checkDestination(partial, overwrite: overwrite)
        let model = try LoadedModel(path: modelPath, source: modelSource, options: archiveOptions)
        let update = BatchNormUpdate(parameters: model.parameters, weighting: weighting)
        let dataSet = try openData(for: model, progress: progress)
        let normalization = data.normalization(of: dataSet, for: model.checkpoint)
        if let warning = data.missingNormalizationWarning(normalization, model: modelPath) { progress.warn(warning) }
        let total = BatchNormUpdate.batchCount(samples: dataSet.sampleCount, batchSize: data.batchSize)
        let range = shard.range(of: total)
        var sums = update.emptySums
        if update.hasBatchNorm {
            let sampleCount = min(dataSet.sampleCount, range.upperBound * data.batchSize) - min(dataSet.sampleCount, range.lowerBound * data.batchSize)
            progress.begin("bn update \(shard)", total: sampleCount)
            sums = try update.accumulate(data: dataSet, batchSize: data.batchSize, batches: range) { progress.advance(to: $0) }
            progress.end(sums.samples)
        }
        let identity = PartialRunIdentity(
            kind: Self.partialKind,
            inputs: [try InputDigest.file(at: modelPath), try InputDigest.data(dataSet)],
            options: options(graph: model.graph, samples: dataSet.sampleCount, normalization: normalization, preprocessing: dataSet.preprocessing))
        try PartialResultFile.write(sums.partialTensors, header: PartialResultHeader(identity: identity, shard: shard, tool: toolName),
                                    to: partial, force: overwrite)
        return BatchNormShardReport(model: modelPath, data: dataSet.path, shard: shard.description,
                                    batches: .init(first: range.lowerBound, end: range.upperBound, total: total),
                                    samples: sums.samples, partial: partial, seconds: Date().timeIntervalSince(started))
    }

    /// Adds the sums of `partials` (every shard of one run of MODEL, in shard order) and writes
    /// `output` as the single pass writes it: the same statistics (within rounding of the
    /// Float64 sums' order, far below Float32's) and the same `swa.bn` record.
    /// `data`, `weighting`, `augment` and `seed` are taken from the partials, not from `self`.
    /// - Throws: one line naming the file for a partial that is not one, is damaged, belongs
    ///   to another run (other inputs or options, another MODEL), is missing or duplicated.
    public func merge(_ partials: [String], progress: ProgressObserver = SilentProgress()) throws -> BatchNormUpdateReport {
        let started = Date()
        try AtomicOutputFile.checkDestination(output, overwrite: overwrite)
        let read = try partials.map { path in (path: path, contents: try PartialResultFile.read(path)) }
        let ordered = try orderedCompleteShards(read.map { (path: $0.path, header: $0.contents.header) }, kind: Self.partialKind)
        let first = ordered[0]
        let identity = first.header.identity
        guard identity.inputs.count == 2 else { throw SWAError(file: first.path, "damaged partial result: a BN partial names 2 inputs, this one \(identity.inputs.count)") }
        let model = try LoadedModel(path: modelPath, source: modelSource, options: archiveOptions)
        let digest = try InputDigest.file(at: modelPath)
        guard digest == identity.inputs[0] else {
            throw SWAError(file: modelPath, "is not the model the shards ran on ('\(identity.inputs[0].name)', SHA-256 \(identity.inputs[0].sha256.prefix(12))…, in \(first.path))")
        }
        let options = identity.options
        func option(_ key: String) throws -> String {
            guard let value = options[key] else { throw SWAError(file: first.path, "damaged partial result: no option \(key)") }
            return value
        }
        guard try option("graph_sha256") == Self.digest(model.graph.json) else {
            throw SWAError(file: modelPath, "its graph (\(modelSource.description)) is not the one the shards ran with (\(first.path)); give the shards' --arch/--graph")
        }
        guard let weighting = BatchNormWeighting(rawValue: try option("weighting")), let batchSize = Int(try option("batch_size")) else {
            throw SWAError(file: first.path, "damaged partial result: bad weighting or batch_size option")
        }
        let augment = options["augment"], seed = options["seed"].flatMap(UInt64.init)
        let normalization = try JSONCoding.decode(NormalizationRecord.self, from: try option("normalization"))
        let preprocessing = try options["preprocess"].map { try Preprocessing.parse(metadataJSON: $0, file: first.path) }
        let update = BatchNormUpdate(parameters: model.parameters, weighting: weighting)

        var report = BatchNormUpdateReport(model: modelPath, output: output, graph: modelSource.description, data: identity.inputs[1].name,
                                           dataSHA256: identity.inputs[1].sha256, samples: 0, batches: 0, batchSize: batchSize,
                                           weighting: weighting, augment: augment, seed: seed, layers: 0, normalization: nil, seconds: 0)
        var metadata = model.checkpoint.header.checkpointMetadata
        if modelSource != .metadata { metadata.graphJSON = model.graph.json }
        guard update.hasBatchNorm else {
            let checkpoint = model.checkpoint
            try CheckpointWriter.write(checkpoint.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), checkpoint.tensors[$0.name]!) },
                                       metadata: metadata.values, to: output, overwrite: overwrite)
            report.seconds = Date().timeIntervalSince(started)
            return report
        }
        var sums = update.emptySums
        let tensorsByPath = Dictionary(read.map { ($0.path, $0.contents.tensors) }, uniquingKeysWith: { first, _ in first })
        for shard in ordered {
            sums.add(try BatchNormUpdate.Sums(partialTensors: tensorsByPath[shard.path]!, like: update.emptySums, file: shard.path))
        }
        report.normalization = normalization
        try write(update: update, sums: sums, model: model, preprocessing: preprocessing, metadata: metadata, report: &report)
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The options a BN partial records: whatever changes the sums or the written record.
    func options(graph: ModelGraph, samples: Int, normalization: NormalizationRecord, preprocessing: Preprocessing?) -> [String: String] {
        var options = ["batch_size": String(data.batchSize), "weighting": weighting.rawValue, "samples": String(samples),
                       "graph_sha256": Self.digest(graph.json), "normalization": JSONCoding.encode(normalization)]
        if let augment {
            options["augment"] = augment
            options["seed"] = String(seed)
        }
        if let preprocessing { options["preprocess"] = preprocessing.metadataJSON }
        return options
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

// MARK: - Sums as partial-result tensors

extension BatchNormUpdate.Sums {
    /// `mean_sum.NODE`, `var_sum.NODE` (`[C]` F64 each, nodes in name order), `batches`, `samples` (I64) and `total_weight` (F64).
    public var partialTensors: [(name: String, tensor: PartialTensor)] {
        var tensors: [(name: String, tensor: PartialTensor)] = []
        for node in mean.keys.sorted() {
            tensors.append(("mean_sum." + node, PartialTensor(mean[node]!)))
            tensors.append(("var_sum." + node, PartialTensor(variance[node]!)))
        }
        tensors.append(("batches", PartialTensor([Int64(batches)])))
        tensors.append(("samples", PartialTensor([Int64(samples)])))
        tensors.append(("total_weight", PartialTensor([totalWeight])))
        return tensors
    }

    /// Reads the sums of a BN partial whose nodes and channel counts are `template`'s.
    /// - Throws: naming `file` and the tensor when one is missing or of another size.
    public init(partialTensors tensors: [String: PartialTensor], like template: BatchNormUpdate.Sums, file: String) throws {
        self = template
        for (node, values) in template.mean {
            mean[node] = try tensors.doubles("mean_sum." + node, count: values.count, file: file)
            variance[node] = try tensors.doubles("var_sum." + node, count: values.count, file: file)
        }
        batches = Int(try tensors.integers("batches", count: 1, file: file)[0])
        samples = Int(try tensors.integers("samples", count: 1, file: file)[0])
        totalWeight = try tensors.doubles("total_weight", count: 1, file: file)[0]
    }
}
