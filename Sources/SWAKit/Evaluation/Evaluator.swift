import SWAData
import SWAEngine
import SWAFormats

/// Scores models on one labelled data set: the model + data → predictions and metrics step that
/// `swa-eval`, the FGE ensemble and later commands share.
///
/// Labels are read once and checked against the class count at creation; each `predictions`
/// call then runs one model forward in inference mode over the data (docs/CLI.md, "Evaluation").
public struct Evaluator {
    /// The labelled data, normalised for the model.
    public let data: any BatchSource
    /// The labels of the samples evaluated (`samples`), each in `0 ..< classes`.
    public let labels: [Int64]
    /// The samples evaluated: all, or a shard's range of whole batches.
    public let samples: Range<Int>
    /// The model's class count.
    public let classes: Int
    /// Samples per forward pass.
    public let batchSize: Int

    /// Reads and checks the labels of `data` for a model with `classes` classes.
    /// - Throws: naming the file when it has no labels (`labels()` lists the arrays it has), or
    ///   the first sample whose label is out of range.
    /// - Parameter samples: the samples to evaluate (a shard), all when nil.
    public init(data: any BatchSource, classes: Int, batchSize: Int, samples: Range<Int>? = nil) throws {
        let labels = try data.labels()
        try checkLabels(labels, classes: classes, data: data.path)
        let range = samples ?? 0..<labels.count
        self.init(data: data, labels: Array(labels[range]), classes: classes, batchSize: batchSize, samples: range)
    }

    /// An evaluator over labels already read and checked: those of `samples` (all when nil).
    public init(data: any BatchSource, labels: [Int64], classes: Int, batchSize: Int, samples: Range<Int>? = nil) {
        self.data = data
        self.labels = labels
        self.classes = classes
        self.batchSize = batchSize
        self.samples = samples ?? 0..<labels.count
    }

    /// Runs `parameters` over the data in inference mode.
    /// - Parameter onBatch: samples done so far (progress).
    public func predictions(of parameters: ModelParameters, onBatch: (Int) -> Void = { _ in }) throws -> ModelPredictions {
        try ModelPredictions(parameters: parameters, data: data, labels: labels, batchSize: batchSize, samples: samples, onBatch: onBatch)
    }

    /// Predictions and metrics of one model, reporting progress under `title`.
    public func evaluate(_ parameters: ModelParameters, title: String, progress: ProgressObserver) throws -> ModelPredictions {
        progress.begin(title, total: samples.count)
        let result = try predictions(of: parameters) { progress.advance(to: $0) }
        progress.end(samples.count)
        return result
    }
}
