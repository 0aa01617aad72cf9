import Foundation
import SWAData
import SWAEngine
import SWAFormats

/// `swa-bn-update` as a library call: load the model, open the data normalised for it, run the
/// BN pass and write the checkpoint with its new statistics and a `swa.bn` record
/// (docs/CLI.md, "swa-bn-update").
public struct BatchNormUpdateJob: Sendable {
    /// The checkpoint to update (typically `swa-avg`'s output).
    public var modelPath: String
    /// Where its graph comes from.
    public var modelSource: ModelSource
    /// The training data and how to read it.
    public var data: DataRequest
    public var weighting: BatchNormWeighting
    /// Seeded random crop and flip of the training images, as given (`crop:4,flip`), or nil.
    public var augment: String?
    /// Seed of the augmentation.
    public var seed: UInt64
    /// Where to write the updated checkpoint (atomically).
    public var output: String
    /// Replace an existing output (`--force`).
    public var overwrite: Bool
    /// How a PyTorch model file is read: `--key`, `--strip-prefix`.
    public var archiveOptions: ArchiveOptions = .none
    /// The tool and version recorded in partial results (`swa-bn-update 0.4.0`).
    public var toolName: String?

    public init(modelPath: String, modelSource: ModelSource, data: DataRequest, weighting: BatchNormWeighting = .batch,
                augment: String? = nil, seed: UInt64 = 0, output: String, overwrite: Bool = false) {
        self.modelPath = modelPath
        self.modelSource = modelSource
        self.data = data
        self.weighting = weighting
        self.augment = augment
        self.seed = seed
        self.output = output
        self.overwrite = overwrite
    }

    /// Runs the pass and writes the output. A model without BN layers is written unchanged
    /// (the report then has `layers == 0`); an existing output is refused before the long pass.
    ///
    /// The output carries what this command was told, so that later commands need no flags:
    /// the graph from `--graph`/`--arch` as `swa.graph`, the normalisation from `--mean/--std`
    /// as `swa.preprocess`, and `swa.bn` records the normalisation the pass used.
    /// - Parameter progress: the pass's progress; a warning when images get no normalisation.
    public func run(progress: ProgressObserver = SilentProgress()) throws -> BatchNormUpdateReport {
        let started = Date()
        let model = try LoadedModel(path: modelPath, source: modelSource, options: archiveOptions)
        let checkpoint = model.checkpoint
        let update = BatchNormUpdate(parameters: model.parameters, weighting: weighting)
        var report = BatchNormUpdateReport(model: modelPath, output: output, graph: modelSource.description, data: data.path,
                                           dataSHA256: nil, samples: 0, batches: 0, batchSize: data.batchSize,
                                           weighting: weighting, augment: augment, seed: augment == nil ? nil : seed,
                                           layers: 0, normalization: nil, seconds: 0)
        var metadata = checkpoint.header.checkpointMetadata
        if modelSource != .metadata { metadata.graphJSON = model.graph.json }
        guard update.hasBatchNorm else {
            try CheckpointWriter.write(checkpoint.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), checkpoint.tensors[$0.name]!) },
                                       metadata: metadata.values, to: output, overwrite: overwrite)
            report.seconds = Date().timeIntervalSince(started)
            return report
        }
        let dataSet = try openData(for: model, progress: progress)
        try AtomicOutputFile.checkDestination(output, overwrite: overwrite)
        let normalization = data.normalization(of: dataSet, for: checkpoint)
        if let warning = data.missingNormalizationWarning(normalization, model: modelPath) { progress.warn(warning) }
        progress.begin("bn update", total: dataSet.sampleCount)
        let sums = try update.accumulate(data: dataSet, batchSize: data.batchSize, batches: nil) { progress.advance(to: $0) }
        progress.end(sums.samples)
        report.dataSHA256 = try dataSet.sha256
        report.normalization = normalization
        try write(update: update, sums: sums, model: model, preprocessing: dataSet.preprocessing, metadata: metadata, report: &report)
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The data set for `model`, augmented as asked; warns about skipped images.
    func openData(for model: LoadedModel, progress: ProgressObserver) throws -> DataSet {
        let dataSet = try data.open(for: model, augmentation: try augment.map(Augmentation.parse), seed: seed)
        if let first = dataSet.skippedFiles.first {
            progress.warn("warning: \(dataSet.path): skipped \(dataSet.skippedFiles.count) image\(dataSet.skippedFiles.count == 1 ? "" : "s") that do not decode (--skip-bad), the first \(first)")
        }
        return dataSet
    }

    /// Divides `sums` and writes the output with its `swa.bn` record: the single pass and the
    /// merge of its shards end here, so both write the same file.
    func write(update: BatchNormUpdate, sums: BatchNormUpdate.Sums, model: LoadedModel, preprocessing: Preprocessing?,
               metadata: CheckpointMetadata, report: inout BatchNormUpdateReport) throws {
        let result = try update.result(from: sums, data: report.data)
        report.samples = result.samples
        report.batches = result.batches
        report.layers = model.graph.batchNormNodes.count
        var metadata = metadata
        if let preprocessing { metadata.setPreprocessing(preprocessing) }
        metadata.batchNorm = .recomputed(report.record)
        try result.write(over: model.checkpoint, metadata: metadata.values, to: output, overwrite: overwrite)
    }
}

/// What `swa-bn-update` did; `--json` prints it (snake_case keys), `swa.bn` records part of it.
public struct BatchNormUpdateReport: Codable, Sendable {
    public var model: String
    public var output: String
    /// How the graph was found: `--arch NAME`, `graph FILE` or `swa.graph metadata`.
    public var graph: String
    public var data: String
    /// SHA-256 of the data file, lowercase hex; nil when no pass ran.
    public var dataSHA256: String?
    public var samples: Int
    public var batches: Int
    public var batchSize: Int
    public var weighting: BatchNormWeighting
    public var augment: String?
    public var seed: UInt64?
    /// BN layers recomputed; 0 when the model has none and was written unchanged.
    public var layers: Int
    /// The normalisation the data went through and where it came from; nil when no pass ran.
    public var normalization: NormalizationRecord?
    public var seconds: Double

    /// The `swa.bn` record of this run.
    public var record: BatchNormRecord {
        BatchNormRecord(weighting: weighting.rawValue, data: URL(fileURLWithPath: data).lastPathComponent, dataSHA256: dataSHA256 ?? "",
                        samples: samples, batches: batches, batchSize: batchSize, augment: augment, seed: seed,
                        normalization: normalization)
    }
}
