import SWAData
import SWAEngine
import SWAFormats

/// `swa-eval` as a library call: the single (SWA) model against the FGE ensemble of the selected
/// checkpoints on one labelled data set, with the ensemble curve and the cost of each
/// (docs/CLI.md, "swa-eval").
public struct EvaluationJob: Sendable {
    /// The model to evaluate (typically `swa-bn-update`'s output).
    public var modelPath: String
    /// Where its graph comes from; ensemble members share it.
    public var modelSource: ModelSource
    /// The test data and how to read it.
    public var data: DataRequest
    /// Checkpoint files or folders of the ensemble; empty for none.
    public var ensembleInputs: [String]
    /// Which of the ensemble's checkpoints to use, as `swa-avg` selects them.
    public var selection: CheckpointSelection
    /// Also evaluate this checkpoint as "the model before its BN update", or nil.
    public var beforeBNPath: String?
    /// How PyTorch inputs (model, ensemble members, `--before-bn`) are read: `--key`, `--strip-prefix`.
    public var archiveOptions: ArchiveOptions = .none
    /// Write the ensemble curve as CSV here (atomically), or nil.
    public var csvPath: String?
    /// Write the SVG plot of the ensemble curve here (atomically), or nil.
    public var plotPath: String?
    /// Replace an existing CSV or plot (`--force`); otherwise they are refused before any work.
    public var overwrite: Bool
    /// Most bytes of Float32 weights held at once (the model, `--before-bn` and every member:
    /// `ModelParameters.byteCount` each) to evaluate them all in one pass over the data
    /// (`--max-resident`); beyond it, each member gets a pass of its own and the members'
    /// `[samples, classes]` probabilities are held instead. The results are the same.
    public var maxResidentBytes = EvaluationJob.defaultMaxResidentBytes
    /// 4 GiB: twelve WRN-28-10 members (146 MB each) fit, with room for the data pipeline.
    public static let defaultMaxResidentBytes = 4 << 30

    public init(modelPath: String, modelSource: ModelSource, data: DataRequest, ensembleInputs: [String] = [],
                selection: CheckpointSelection = CheckpointSelection(), beforeBNPath: String? = nil,
                csvPath: String? = nil, plotPath: String? = nil, overwrite: Bool = false) {
        self.modelPath = modelPath
        self.modelSource = modelSource
        self.data = data
        self.ensembleInputs = ensembleInputs
        self.selection = selection
        self.beforeBNPath = beforeBNPath
        self.csvPath = csvPath
        self.plotPath = plotPath
        self.overwrite = overwrite
    }

    /// Evaluates everything, writes the CSV and plot if asked, and returns the report.
    /// - Parameter progress: one phase per model evaluated; warnings for skipped files, stale BN
    ///   statistics and images fed with no normalisation.
    public func run(progress: ProgressObserver = SilentProgress()) throws -> EvaluationReport {
        for path in [csvPath, plotPath].compactMap({ $0 }) { try AtomicOutputFile.checkDestination(path, overwrite: overwrite) }
        let evaluated = try evaluate(shard: nil, progress: progress)
        let report = EvaluationReport(description: evaluated.description, sums: evaluated.sums)
        try writeCurveFiles(of: report)
        return report
    }

    /// Writes the CSV and the plot of the ensemble curve where asked (nothing without an ensemble).
    func writeCurveFiles(of report: EvaluationReport) throws {
        if let csvPath, let csv = report.curveCSV { try AtomicOutputFile.writeText(csv, to: csvPath, overwrite: overwrite) }
        if let plotPath, let plot = report.curvePlot { try AtomicOutputFile.writeText(plot.svg(), to: plotPath, overwrite: overwrite) }
    }

    /// What `evaluate` found: the report's description and sums, and what a shard records.
    struct Evaluated {
        var description: EvaluationDescription
        var sums: EvaluationSums
        var dataSet: DataSet
        var graph: ModelGraph
        var entries: [CheckpointEntry]
        /// The batches evaluated, of `batchCount`.
        var batches: Range<Int>
        var batchCount: Int
    }

    /// Evaluates the model, `--before-bn` and the ensemble over the samples of `shard` (a
    /// contiguous run of whole batches of the single pass; all samples when nil) into sums.
    func evaluate(shard: ShardSpec?, progress: ProgressObserver) throws -> Evaluated {
        let model = try LoadedModel(path: modelPath, source: modelSource, options: archiveOptions)
        let dataSet = try data.open(for: model)
        if let first = dataSet.skippedFiles.first {
            progress.warn("warning: \(dataSet.path): skipped \(dataSet.skippedFiles.count) image\(dataSet.skippedFiles.count == 1 ? "" : "s") that do not decode (--skip-bad), the first \(first)")
        }
        guard dataSet.hasLabels else {
            throw SWAError(file: dataSet.path, "has no labels '\(data.yKey)' to evaluate against" + dataSet.keySuggestion)
        }
        let normalization = data.normalization(of: dataSet, for: model.checkpoint)
        if let warning = data.missingNormalizationWarning(normalization, model: modelPath) { progress.warn(warning) }
        let batchCount = (dataSet.sampleCount + data.batchSize - 1) / data.batchSize
        let batches = shard?.range(of: batchCount) ?? 0..<batchCount
        let samples = min(dataSet.sampleCount, batches.lowerBound * data.batchSize) ..< min(dataSet.sampleCount, batches.upperBound * data.batchSize)
        let evaluator = try Evaluator(data: dataSet, classes: model.classCount, batchSize: data.batchSize, samples: samples)
        let entries = ensembleInputs.isEmpty ? [] : try selection.apply(to: discoverCheckpoints(ensembleInputs, options: archiveOptions) { progress.warn($0) })

        let bn = model.metadata.batchNorm
        if bn == .stale {
            progress.warn("warning: \(modelPath) has averaged BN statistics (swa.bn = stale), not ones of its own weights; "
                + "its accuracy understates SWA. Fix: swa-bn-update \(modelPath) --data TRAIN.npz -o \(modelPath).bn")
        }
        var description = EvaluationDescription(dataPath: dataSet.path, samples: dataSet.sampleCount, normalization: normalization,
                                                modelPath: modelPath, modelBN: model.metadata.batchNormSummary,
                                                beforeBNPath: nil, beforeBNState: nil, memberPaths: entries.map(\.path))
        var beforeBN: ModelParameters?
        if let beforeBNPath {
            let stale = try LoadedModel(checkpoint: LoadedCheckpoint(path: beforeBNPath, options: archiveOptions), graph: model.graph)
            description.beforeBNPath = beforeBNPath
            description.beforeBNState = stale.metadata.batchNormSummary
            beforeBN = stale.parameters
        }
        let resident = model.parameters.byteCount * (1 + (beforeBN == nil ? 0 : 1) + entries.count)
        var sums: EvaluationSums
        if entries.isEmpty || resident <= maxResidentBytes {
            sums = try evaluateInOnePass(model: model.parameters, beforeBN: beforeBN, entries: entries, evaluator: evaluator, progress: progress)
        } else {
            let table = entries.count * samples.count * model.classCount * MemoryLayout<Double>.size
            progress.warn("warning: the weights of the model\(beforeBN == nil ? "" : ", --before-bn") and the \(entries.count) ensemble member\(entries.count == 1 ? "" : "s") "
                + "take \(formatByteSize(resident, binary: true)) together, more than --max-resident \(formatByteSize(maxResidentBytes, binary: true)); "
                + "evaluating one model per pass instead (the data is read \(entries.count + (beforeBN == nil ? 1 : 2)) times "
                + "and the members' probabilities, \(formatByteSize(table, binary: true)), are held)")
            sums = try evaluateOneModelPerPass(model: model.parameters, beforeBN: beforeBN, entries: entries, evaluator: evaluator,
                                               progress: progress)
        }
        sums.samples = samples.count
        return Evaluated(description: description, sums: sums, dataSet: dataSet, graph: model.graph, entries: entries,
                         batches: batches, batchCount: batchCount)
    }
}
