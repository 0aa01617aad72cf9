import Crypto
import Foundation
import SWAData
import SWAEngine
import SWAFormats

// MARK: - Shards of the evaluation and their merge

/// What one shard of `swa-eval` did (`--shard I/N --partial FILE`); `--json` prints it.
public struct EvaluationShardReport: Codable, Sendable {
    public var model: String
    public var data: String
    /// `"I/N"`.
    public var shard: String
    /// The samples this shard evaluated, `first ..< end` of `total`.
    public var samples: SampleRange
    public var members: Int
    public var partial: String
    public var seconds: Double

    public struct SampleRange: Codable, Sendable {
        public var first: Int
        public var end: Int
        public var total: Int
    }
}

extension EvaluationJob {
    /// The `kind` of evaluation partial results.
    public static let partialKind = "eval"
    /// The metadata key of the description a partial carries for the merge's report.
    static let descriptionKey = "swa.eval"

    /// Evaluates shard `shard`: the samples of a contiguous run of whole batches of the single
    /// pass (`shard.range(of: batch count)`), for the model, `--before-bn` and every member, and
    /// writes the sums the report needs to `partial` (docs/SCALE.md). Writes no CSV or plot.
    public func runShard(_ shard: ShardSpec, partial: String, toolName: String? = nil,
                         progress: ProgressObserver = SilentProgress()) throws -> EvaluationShardReport {
        let started = Date()
        try AtomicOutputFile.checkDestination(partial, overwrite: overwrite)
        let evaluated = try evaluate(shard: shard, progress: progress)
        var inputs = [try InputDigest.data(evaluated.dataSet), try InputDigest.file(at: modelPath)]
        if let beforeBNPath { inputs.append(try InputDigest.file(at: beforeBNPath)) }
        for entry in evaluated.entries { inputs.append(try InputDigest.file(at: entry.path)) }
        let options = ["batch_size": String(data.batchSize), "samples": String(evaluated.dataSet.sampleCount),
                       "members": String(evaluated.entries.count), "before_bn": beforeBNPath == nil ? "no" : "yes",
                       "graph_sha256": SHA256.hash(data: Array(evaluated.graph.json.utf8)).map { String(format: "%02x", $0) }.joined(),
                       "normalization": JSONCoding.encode(evaluated.description.normalization)]
        let header = PartialResultHeader(identity: PartialRunIdentity(kind: Self.partialKind, inputs: inputs, options: options),
                                         shard: shard, tool: toolName)
        try PartialResultFile.write(evaluated.sums.partialTensors, header: header, to: partial, force: overwrite,
                                    metadata: [Self.descriptionKey: JSONCoding.encode(evaluated.description)])
        let samples = min(evaluated.dataSet.sampleCount, evaluated.batches.lowerBound * data.batchSize)
        return EvaluationShardReport(model: modelPath, data: evaluated.dataSet.path, shard: shard.description,
                                     samples: .init(first: samples, end: samples + evaluated.sums.samples, total: evaluated.dataSet.sampleCount),
                                     members: evaluated.entries.count, partial: partial, seconds: Date().timeIntervalSince(started))
    }

    /// Adds the sums of `partials` (every shard of one run, any order) in shard order and
    /// returns the single process's report; writes `csvPath` and `plotPath` if set. Needs
    /// neither the model nor the data: the paths and counts come from the first shard.
    /// - Throws: one line naming the file for a partial that is not one, is damaged, belongs
    ///   to another run (other inputs or options), is missing or duplicated.
    public static func merge(_ partials: [String], csvPath: String? = nil, plotPath: String? = nil,
                             overwrite: Bool = false) throws -> EvaluationReport {
        for path in [csvPath, plotPath].compactMap({ $0 }) { try AtomicOutputFile.checkDestination(path, overwrite: overwrite) }
        let read = try partials.map { path in (path: path, contents: try PartialResultFile.readWithMetadata(path)) }
        let ordered = try orderedCompleteShards(read.map { (path: $0.path, header: $0.contents.header) }, kind: partialKind)
        let contents = Dictionary(read.map { ($0.path, $0.contents) }, uniquingKeysWith: { first, _ in first })
        let first = ordered[0].path
        guard let text = contents[first]!.metadata[descriptionKey] else {
            throw SWAError(file: first, "damaged partial result: no \(descriptionKey) metadata")
        }
        let description: EvaluationDescription
        do {
            description = try JSONCoding.decode(EvaluationDescription.self, from: text)
        } catch let error as DecodingError {
            throw SWAError(file: first, "damaged partial result: \(descriptionKey): \(JSONCoding.describe(error))")
        }
        var sums = EvaluationSums()
        for shard in ordered {
            sums.add(try EvaluationSums(partialTensors: contents[shard.path]!.tensors, members: description.memberPaths.count,
                                        beforeBN: description.beforeBNPath != nil, file: shard.path))
        }
        guard sums.samples == description.samples else {
            throw SWAError(file: first, "the shards hold \(sums.samples) samples, the data set \(description.samples)")
        }
        let report = EvaluationReport(description: description, sums: sums)
        var writer = EvaluationJob(modelPath: "", modelSource: .metadata, data: DataRequest(path: ""), csvPath: csvPath, plotPath: plotPath, overwrite: overwrite)
        writer.csvPath = csvPath
        try writer.writeCurveFiles(of: report)
        return report
    }
}

// MARK: - Sums as partial-result tensors

extension MetricSums {
    /// `[samples, correct, binCount…, binCorrect…]` (I64) and, per batch, `[nll, brier,
    /// binConfidence…]` (F64 `[batches, 17]`).
    var partialTensors: (counts: PartialTensor, sums: PartialTensor) {
        (PartialTensor([Int64(samples), Int64(correct)] + binCount.map(Int64.init) + binCorrect.map(Int64.init)),
         PartialTensor(batchSums.rows, shape: [batchSums.batchCount, Self.width]))
    }

    /// Sums read back: `sums` holds whole batches of `width` values.
    init(counts: [Int64], sums: [Double]) {
        let bins = ClassificationMetrics.calibrationBins
        self.init()
        samples = Int(counts[0])
        correct = Int(counts[1])
        binCount = counts[2 ..< 2 + bins].map { Int($0) }
        binCorrect = counts[2 + bins ..< 2 + 2 * bins].map { Int($0) }
        batchSums = BatchwiseSums(width: Self.width, rows: sums)
    }
}

extension EvaluationSums {
    /// `model.counts`/`model.sums`, `before_bn.*`, `member.I.*`, `curve.K.*`, `scalars` (I64:
    /// samples, agreements, batches), `model_ensemble_tv` (`[batches]`, none without an
    /// ensemble), `member_pairs_tv` (`[batches, pairs]`), `seconds` (F64). The Float64 sums are
    /// per batch (`BatchwiseSums`), so that the merge adds them in batch order.
    public var partialTensors: [(name: String, tensor: PartialTensor)] {
        var tensors: [(name: String, tensor: PartialTensor)] = []
        func add(_ name: String, _ sums: MetricSums) {
            let (counts, values) = sums.partialTensors
            tensors.append((name + ".counts", counts))
            tensors.append((name + ".sums", values))
        }
        add("model", model)
        if let beforeBN { add("before_bn", beforeBN) }
        for (index, member) in members.enumerated() { add("member.\(index)", member) }
        for (index, point) in curve.enumerated() { add("curve.\(index + 1)", point) }
        tensors.append(("scalars", PartialTensor([Int64(samples), Int64(agreements), Int64(model.batchSums.batchCount)])))
        tensors.append(("model_ensemble_tv", PartialTensor(modelEnsembleTotalVariationSums.rows)))
        let pairs = memberPairTotalVariationSums
        tensors.append(("member_pairs_tv", PartialTensor(pairs.rows, shape: [pairs.batchCount, pairs.width])))
        tensors.append(("seconds", PartialTensor([modelSeconds, beforeBNSeconds] + memberSeconds)))
        return tensors
    }

    /// Reads the sums of an evaluation partial of `members` members (and `--before-bn` when `beforeBN`).
    /// - Throws: naming `file` and the tensor when one is missing or of another size.
    public init(partialTensors tensors: [String: PartialTensor], members memberCount: Int, beforeBN: Bool, file: String) throws {
        self.init()
        let bins = ClassificationMetrics.calibrationBins
        let scalars = try tensors.integers("scalars", count: 3, file: file)
        guard scalars.allSatisfy({ $0 >= 0 }), scalars[2] <= scalars[0] else {
            throw SWAError(file: file, "damaged partial result: tensor 'scalars' holds \(scalars)")
        }
        let batches = Int(scalars[2])
        func read(_ name: String) throws -> MetricSums {
            MetricSums(counts: try tensors.integers(name + ".counts", count: 2 + 2 * bins, file: file),
                       sums: try tensors.doubles(name + ".sums", count: batches * MetricSums.width, file: file))
        }
        model = try read("model")
        if beforeBN { self.beforeBN = try read("before_bn") }
        members = try (0..<memberCount).map { try read("member.\($0)") }
        curve = try (0..<memberCount).map { try read("curve.\($0 + 1)") }
        samples = Int(scalars[0])
        agreements = Int(scalars[1])
        let pairs = memberCount * (memberCount - 1) / 2
        modelEnsembleTotalVariationSums = BatchwiseSums(
            width: 1, rows: try tensors.doubles("model_ensemble_tv", count: memberCount > 0 ? batches : 0, file: file))
        memberPairTotalVariationSums = BatchwiseSums(
            width: pairs, rows: try tensors.doubles("member_pairs_tv", count: batches * pairs, file: file))
        let seconds = try tensors.doubles("seconds", count: 2 + memberCount, file: file)
        modelSeconds = seconds[0]
        beforeBNSeconds = seconds[1]
        memberSeconds = Array(seconds[2...])
    }
}
