import Foundation
import SWAData
import SWAEngine
import SWAFormats

/// `swa-landscape` as a library call: the loss surface around checkpoints, point by point
/// (docs/CLI.md, "swa-landscape"; docs/ANALYSES.md). Every point's BN statistics are
/// recomputed on the training data (or kept), then it is scored in inference mode on the
/// training and the test data.
public struct LandscapeJob: Sendable {
    /// What to sweep.
    public enum Kind: Sendable {
        /// w(t) = (1 − t)·A + t·B at every t of `steps`.
        case line(a: String, b: String, steps: SweepValues)
        /// w + t·d for every model, each of `directions` random directions d and t in `distances`;
        /// the width at `threshold` (nil: twice the model's own train loss).
        case width(models: [String], directions: Int, distances: SweepValues, threshold: Double?)
        /// The plane through three checkpoints, a `grid`×`grid` lattice with `margin` around them.
        case plane(points: [String], grid: Int, margin: Double, marks: [String])
        /// The plane of a trajectory's two principal directions around its mean (`--pca`).
        case trajectory(inputs: [String], selection: CheckpointSelection, grid: Int, margin: Double, marks: [String])
    }

    public var kind: Kind
    /// Where the graph comes from (resolved on the first model; the others must match it).
    public var modelSource: ModelSource
    /// The training data: BN statistics and the train loss.
    public var train: DataRequest
    /// The test data: test error and NLL.
    public var test: DataRequest
    public var batchNorm: LandscapeBatchNorm
    /// Seed and normalisation of `width`'s directions; `ignore` also applies to `plane`.
    public var directions: RandomDirections
    /// Points evaluated at once (nil in `init`: one per core).
    public var workers: Int
    /// Bytes each of the two data sets may hold decoded in memory (else they are streamed).
    public var dataCacheBudget: Int
    /// Write the points as CSV / the SVG plot here (atomically), or nil.
    public var csvPath: String?
    public var plotPath: String?
    /// Replace existing CSV and plot files (`--force`).
    public var overwrite: Bool
    /// Which state dict of PyTorch inputs and what to strip from its names (`--key`, `--strip-prefix`).
    public var archiveOptions: ArchiveOptions = .none
    /// Evaluate every point, one shard's, or none (a merge): `runShard`, `runMerge`.
    var pointSource: LandscapePointSource = .evaluate

    public init(kind: Kind, modelSource: ModelSource, train: DataRequest, test: DataRequest,
                batchNorm: LandscapeBatchNorm = .update, directions: RandomDirections = RandomDirections(seed: 0),
                workers: Int? = nil, dataCacheBudget: Int = 2 << 30, csvPath: String? = nil, plotPath: String? = nil, overwrite: Bool = false) {
        self.kind = kind
        self.modelSource = modelSource
        self.train = train
        self.test = test
        self.batchNorm = batchNorm
        self.directions = directions
        self.workers = max(1, workers ?? PointSweep.coreCount)
        self.dataCacheBudget = dataCacheBudget
        self.csvPath = csvPath
        self.plotPath = plotPath
        self.overwrite = overwrite
    }

    /// Runs the sweep, writes the CSV and plot if asked, and returns the report.
    /// - Parameter progress: a phase per sweep, counted in points.
    public func run(progress: ProgressObserver = SilentProgress()) throws -> LandscapeReport {
        let started = Date()
        var report: LandscapeReport
        switch kind {
        case let .line(a, b, steps):
            report = try runLine(a: a, b: b, steps: steps, progress: progress)
        case let .width(models, count, distances, threshold):
            report = try runWidth(models: models, count: count, distances: distances, threshold: threshold, progress: progress)
        case let .plane(points, grid, margin, marks):
            report = try runPlane(points: points, grid: grid, margin: margin, marks: marks, progress: progress)
        case let .trajectory(inputs, selection, grid, margin, marks):
            report = try runTrajectory(inputs: inputs, selection: selection, grid: grid, margin: margin, marks: marks, progress: progress)
        }
        report.seconds = Date().timeIntervalSince(started)
        report.pointsPerSecond = report.seconds > 0 ? Double(report.points.count) / report.seconds : 0
        try checkOutputs()  // again: a file may have appeared during the sweep
        if let csvPath { try AtomicOutputFile.writeText(report.csv, to: csvPath, overwrite: overwrite) }
        if let plotPath { try AtomicOutputFile.writeText(report.plotSVG(), to: plotPath, overwrite: overwrite) }
        return report
    }

    /// Refuses an existing `--csv`/`--plot` output without `overwrite`, or a folder, before any work.
    func checkOutputs() throws {
        for path in [csvPath, plotPath].compactMap({ $0 }) {
            try AtomicOutputFile.checkDestination(path, overwrite: overwrite)
        }
    }
}

// MARK: - Loading the models and the data once

/// The models of one sweep bound to one graph, and the data they are scored on.
struct LandscapeInputs {
    /// The first model: its graph and preprocessing are everyone's.
    let first: LoadedModel
    let evaluator: PointEvaluator
    let trainSummary: EvaluationReport.DataSummary
    let testSummary: EvaluationReport.DataSummary
    /// How every model of the job is read (`--key`, `--strip-prefix`).
    let archiveOptions: ArchiveOptions
    /// The training and test data as opened, for their digests (`dataDigests`).
    let trainSet: DataSet
    let testSet: DataSet

    /// The SHA-256 of the training and the test data (read once more; a sharded run's identity).
    func dataDigests() throws -> [InputDigest] {
        [try InputDigest.data(trainSet), try InputDigest.data(testSet)]
    }

    /// Loads `path` with `job`'s graph source and opens both data sets for it, decoded once.
    init(firstModel path: String, job: LandscapeJob) throws {
        try job.checkOutputs()
        archiveOptions = job.archiveOptions
        first = try LoadedModel(path: path, source: job.modelSource, options: job.archiveOptions)
        let trainData = try job.train.open(for: first), testData = try job.test.open(for: first)
        trainSet = trainData
        testSet = testData
        let train = try CachedBatchSource(trainData, memoryBudget: job.dataCacheBudget)
        let test = try CachedBatchSource(testData, memoryBudget: job.dataCacheBudget)
        guard train.hasLabels else { throw SWAError(file: train.path, "has no labels '\(job.train.yKey)' to compute the train loss with") }
        guard test.hasLabels else { throw SWAError(file: test.path, "has no labels '\(job.test.yKey)' to evaluate against") }
        evaluator = try PointEvaluator(train: train, test: test, classes: first.classCount, batchNorm: job.batchNorm,
                                       batchSize: job.train.batchSize)
        trainSummary = .init(path: train.path, samples: train.sampleCount,
                             normalization: job.train.normalization(of: trainData, for: first.checkpoint))
        testSummary = .init(path: test.path, samples: test.sampleCount,
                            normalization: job.test.normalization(of: testData, for: first.checkpoint))
    }

    /// The weights of `path`, bound to the first model's graph after checking that it holds
    /// the same tensor names and shapes; errors name `path` and the tensor.
    func load(_ path: String) throws -> ModelParameters {
        if path == first.path { return first.parameters }
        let checkpoint = try LoadedCheckpoint(path: path, options: archiveOptions)
        try checkSameShapes(checkpoint, as: first.checkpoint)
        return try LoadedModel(checkpoint: checkpoint, graph: first.graph).parameters
    }
}

/// Checks that `other` holds exactly the tensors of `reference`, with the same shapes (dtypes may
/// differ: a Float16 copy lies on the same line); the error names `other`'s file and the tensor.
func checkSameShapes(_ other: LoadedCheckpoint, as reference: LoadedCheckpoint) throws {
    try checkSameTensorNamesAndShapes(other.header, of: other.path, as: reference.header, of: reference.path,
                                      shapeNote: " (as in \(reference.path))")
}
