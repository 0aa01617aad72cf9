import Foundation
import Synchronization
import SWAFormats

// MARK: - Sharded sweeps: swa-landscape --shard I/N --partial FILE, --merge PARTIAL...

/// Where the points of a sweep get their metrics (docs/SCALE.md, "swa-landscape").
///
/// A sweep's work list (line: the steps; width: each model at distance 0, then model ×
/// direction × distance; plane: the lattice b-major, then the placed models) is split by
/// `ShardSpec.range`: a shard evaluates its contiguous range and records it, and the merge,
/// given the same command line, takes every point's metrics from the shards instead of
/// evaluating them, then builds the report exactly as the single process does (widths, the
/// plane's placement, table, JSON, CSV, plot). A point's metrics do not depend on which
/// process computed it, so the merged report equals the single process's.
enum LandscapePointSource: Sendable {
    /// Evaluate every point (the single process).
    case evaluate
    /// Evaluate shard `shard`'s range of the work list and hand it to `capture`; the other
    /// points get placeholder metrics, and the report is not the result.
    case evaluateShard(ShardSpec, ShardCapture)
    /// Evaluate nothing: the metrics come from the partials at these paths.
    case merge([String])
}

/// What a shard evaluated, taken out of the sweep for `LandscapeJob.runShard`.
final class ShardCapture: Sendable {
    struct Record: Sendable {
        var identity: PartialRunIdentity
        var range: Range<Int>
        var total: Int
        var metrics: [PointMetrics]
    }
    let record = Mutex<Record?>(nil)
}

extension LandscapeJob {
    /// The `swa.partial` kind of a landscape shard.
    public static let partialKind = "landscape"

    /// Evaluates shard `shard`'s range of the sweep's points and writes them to `partial`
    /// (tensors `metrics` [points, 4] F64: train loss, train error, test error, test NLL; and
    /// `range` [3] I64: first point, end, total), with the run's identity: the models' and
    /// data's SHA-256 and every option that changes a point. No CSV or plot is written.
    /// - Returns: the shard's range of point indices and the sweep's point count.
    public func runShard(_ shard: ShardSpec, partial: String, overwrite: Bool, tool: String,
                         progress: ProgressObserver = SilentProgress()) throws -> (range: Range<Int>, total: Int) {
        try AtomicOutputFile.checkDestination(partial, overwrite: overwrite)
        let capture = ShardCapture()
        var job = self
        job.pointSource = .evaluateShard(shard, capture)
        job.csvPath = nil
        job.plotPath = nil
        _ = try job.run(progress: progress)
        guard let record = capture.record.withLock({ $0 }) else {
            throw SWAError(file: partial, "internal: the sweep recorded no points")
        }
        let metrics = record.metrics.flatMap { [$0.trainLoss, $0.trainError, $0.testError, $0.testNLL] }
        try PartialResultFile.write([
            ("metrics", PartialTensor(metrics, shape: [record.metrics.count, 4])),
            ("range", PartialTensor([Int64(record.range.lowerBound), Int64(record.range.upperBound), Int64(record.total)])),
        ], header: PartialResultHeader(identity: record.identity, shard: shard, tool: tool), to: partial, force: overwrite)
        return (record.range, record.total)
    }

    /// The report of the whole sweep from the shards' partials (any order; used in shard
    /// order), built as the single process builds it, CSV and plot included. The job must be
    /// the shards' command line: the partials are refused unless they are all the shards of one
    /// run with this job's models, data and options.
    public func runMerge(_ partials: [String], progress: ProgressObserver = SilentProgress()) throws -> LandscapeReport {
        var job = self
        job.pointSource = .merge(partials)
        return try job.run(progress: progress)
    }

    /// The metrics of the `count` points of the work list, by `pointSource`: `evaluate(i)` for
    /// every point, for one shard's range, or none (taken from the partials).
    func sweepPoints(count: Int, title: String, inputs: LandscapeInputs, progress: ProgressObserver,
                     _ evaluate: @Sendable @escaping (Int) throws -> PointMetrics) throws -> [PointMetrics] {
        switch pointSource {
        case .evaluate:
            return try PointSweep(workers: workers).run(count: count, title: title, progress: progress, evaluate)
        case let .evaluateShard(shard, capture):
            let identity = try runIdentity(inputs)
            let range = shard.range(of: count)
            let start = range.lowerBound
            let mine = try PointSweep(workers: workers).run(count: range.count, title: title, progress: progress) { try evaluate(start + $0) }
            capture.record.withLock { $0 = ShardCapture.Record(identity: identity, range: range, total: count, metrics: mine) }
            let placeholder = PointMetrics(trainLoss: 0, trainError: 0, testError: 0, testNLL: 0)
            return Array(repeating: placeholder, count: start) + mine + Array(repeating: placeholder, count: count - range.upperBound)
        case let .merge(paths):
            return try mergedMetrics(paths, count: count, identity: runIdentity(inputs))
        }
    }

    /// Reads the partials, checks they are the complete shards of the run `identity` names,
    /// each holding its `ShardSpec.range` of `count` points, and returns the metrics in order.
    private func mergedMetrics(_ paths: [String], count: Int, identity: PartialRunIdentity) throws -> [PointMetrics] {
        let files = try paths.map { path in (path: path, contents: try PartialResultFile.read(path)) }
        let ordered = try orderedCompleteShards(files.map { ($0.path, $0.contents.header) }, kind: Self.partialKind)
        let first = ordered[0]
        try checkSameRun(first.header.identity, of: first.path, as: identity)
        var metrics: [PointMetrics] = []
        for (path, header) in ordered {
            let tensors = files.first { $0.path == path }!.contents.tensors
            let range = try tensors.integers("range", count: 3, file: path)
            let expected = header.shard.range(of: count)
            guard range[2] == Int64(count), range[0] == Int64(expected.lowerBound), range[1] == Int64(expected.upperBound) else {
                throw SWAError(file: path, "holds points \(range[0])..<\(range[1]) of \(range[2]), but shard \(header.shard) of this "
                    + "sweep's \(count) points is \(expected.lowerBound)..<\(expected.upperBound)")
            }
            let values = try tensors.doubles("metrics", count: expected.count * 4, file: path)
            for point in 0 ..< expected.count {
                metrics.append(PointMetrics(trainLoss: values[4 * point], trainError: values[4 * point + 1],
                                            testError: values[4 * point + 2], testNLL: values[4 * point + 3]))
            }
        }
        return metrics
    }

    /// Refuses partials of a run other than this command line's, naming the differing input or option.
    private func checkSameRun(_ recorded: PartialRunIdentity, of path: String, as mine: PartialRunIdentity) throws {
        for (input, expected) in zip(recorded.inputs, mine.inputs) where input.sha256 != expected.sha256 {
            throw SWAError(file: path, "was computed from '\(input.name)' (SHA-256 \(input.sha256.prefix(12))…), "
                + "but this command reads '\(expected.name)' (SHA-256 \(expected.sha256.prefix(12))…): not the same run")
        }
        guard recorded.inputs.count == mine.inputs.count else {
            throw SWAError(file: path, "was computed from \(recorded.inputs.count) inputs, this command reads \(mine.inputs.count): not the same run")
        }
        for key in Set(recorded.options.keys).union(mine.options.keys).sorted() where recorded.options[key] != mine.options[key] {
            throw SWAError(file: path, "option \(key) is \(recorded.options[key].map { "'\($0)'" } ?? "unset"), but this command gives "
                + "\(mine.options[key].map { "'\($0)'" } ?? "none"): not the same run")
        }
    }

    /// What makes two sweeps the same run: the models' and data's SHA-256 (each read once
    /// more) and every setting that changes a point's metrics or the work list.
    func runIdentity(_ inputs: LandscapeInputs) throws -> PartialRunIdentity {
        let models = try modelPaths.map { try InputDigest.file(at: $0) }
        let options = [
            "sweep": "\(kind)",
            "bn": batchNorm.rawValue,
            "directions": "\(directions)",
            "train": Self.settings(of: train),
            "test": Self.settings(of: test),
            "archive": "\(archiveOptions)",
        ]
        return PartialRunIdentity(kind: Self.partialKind, inputs: models + (try inputs.dataDigests()), options: options)
    }

    /// A data request's settings without its path (the data is compared by its SHA-256).
    static func settings(of request: DataRequest) -> String {
        var settings = request
        settings.path = ""
        return "\(settings)"
    }

    /// The checkpoints (files or folders) the command line names, in its order.
    var modelPaths: [String] {
        switch kind {
        case let .line(a, b, _): [a, b]
        case let .width(models, _, _, _): models
        case let .plane(points, _, _, marks): points + marks
        case let .trajectory(inputs, _, _, _, marks): inputs + marks
        }
    }
}
