import SWAEngine
import SWAFormats

// MARK: - line: w(t) = (1 − t)·A + t·B

extension LandscapeJob {
    /// The line from A (t = 0) to B (t = 1), every tensor interpolated (BN running statistics
    /// too, which `--bn update` then replaces). Both ends are A and B bit for bit
    /// (`ModelParameters.linearCombination`), so t = 0 and t = 1 score exactly as A and B do.
    func runLine(a: String, b: String, steps: SweepValues, progress: ProgressObserver) throws -> LandscapeReport {
        let inputs = try LandscapeInputs(firstModel: a, job: self)
        let start = inputs.first.parameters, end = try inputs.load(b)
        let evaluator = inputs.evaluator
        let ts = steps.values
        let metrics = try sweepPoints(count: ts.count, title: "line", inputs: inputs, progress: progress) { index in
            let t = ts[index]
            return try evaluator.evaluate(ModelParameters.linearCombination(1 - t, start, t, end, over: .all))
        }
        let points = zip(ts, metrics).map { LandscapePoint(t: $0, metrics: $1) }
        return LandscapeReport(kind: "line", models: [a, b], train: inputs.trainSummary, test: inputs.testSummary,
                               bn: batchNorm, points: points, seconds: 0, threads: min(workers, ts.count))
    }
}

// MARK: - width: w + t·d along random directions

extension LandscapeJob {
    /// Every model, every direction, every distance; the point at distance 0 is the model itself
    /// (w + 0·d = w bit for bit) and is evaluated once per model, not once per direction.
    /// Directions are drawn again for each point from their seed (cheap next to a BN pass and
    /// two evaluations), so memory holds no direction per point.
    func runWidth(models: [String], count: Int, distances: SweepValues, threshold: Double?, progress: ProgressObserver) throws -> LandscapeReport {
        guard count >= 1 else { throw SWAError("--directions must be at least 1, got \(count)") }
        guard !models.isEmpty else { throw SWAError("width needs at least one model") }
        if let threshold, !(threshold > 0 && threshold.isFinite) {
            throw SWAError("--threshold must be a positive number of nats, got \(threshold)")
        }
        let inputs = try LandscapeInputs(firstModel: models[0], job: self)
        // Checked and bound up front: a bad model fails before the sweep. Held for the sweep.
        let weights = try models.map { try inputs.load($0) }
        let evaluator = inputs.evaluator, directions = self.directions
        let ts = distances.values

        // The work list: each model at distance 0 once, then (model, direction, t ≠ 0).
        struct Task: Sendable { var model: Int, direction: Int?, t: Double }
        var tasks = models.indices.map { Task(model: $0, direction: nil, t: 0) }
        for model in models.indices {
            for direction in 0 ..< count {
                for t in ts where t != 0 { tasks.append(Task(model: model, direction: direction, t: t)) }
            }
        }
        let work = tasks
        let metrics = try sweepPoints(count: work.count, title: "width", inputs: inputs, progress: progress) { index in
            let task = work[index], w = weights[task.model]
            guard let direction = task.direction else { return try evaluator.evaluate(w) }
            let d = try directions.direction(direction, for: w)
            return try evaluator.evaluate(w.adding(task.t, times: d, over: .trainable))
        }
        let origin = Array(metrics[0 ..< models.count])
        var lookup: [String: PointMetrics] = [:]
        for (task, value) in zip(work, metrics) where task.direction != nil {
            lookup["\(task.model)/\(task.direction!)/\(task.t)"] = value
        }
        var points: [LandscapePoint] = [], widths: [WidthSummary] = []
        for (model, path) in models.enumerated() {
            var perDirection: [Double?] = []
            let limit = threshold ?? 2 * origin[model].trainLoss
            for direction in 0 ..< count {
                var curve: [(t: Double, loss: Double)] = []
                for t in ts {
                    let value = t == 0 ? origin[model] : lookup["\(model)/\(direction)/\(t)"]!
                    points.append(LandscapePoint(t: t, direction: direction + 1, model: path, metrics: value))
                    curve.append((t, value.trainLoss))
                }
                if !ts.contains(0) { curve.append((0, origin[model].trainLoss)) }
                perDirection.append(Self.crossing(of: curve, at: limit))
            }
            let crossed = perDirection.compactMap { $0 }
            widths.append(WidthSummary(model: path, trainLoss: origin[model].trainLoss, threshold: limit, widths: perDirection,
                                       mean: crossed.count == count ? crossed.reduce(0, +) / Double(count) : nil))
        }
        var report = LandscapeReport(kind: "width", models: models, train: inputs.trainSummary, test: inputs.testSummary,
                                     bn: batchNorm, points: points, seconds: 0, threads: min(workers, work.count))
        report.widths = widths
        report.directions = DirectionSummary(count: count, seed: directions.seed, normalize: directions.normalization, ignore: directions.ignore)
        return report
    }

    /// The smallest distance t ≥ 0 at which `curve`'s loss reaches `threshold`, linearly
    /// interpolated between the last distance below it and the first at or above it (or not finite); 0 if the
    /// loss at the smallest distance already reaches it; nil if it never does.
    static func crossing(of curve: [(t: Double, loss: Double)], at threshold: Double) -> Double? {
        let ordered = curve.filter { $0.t >= 0 }.sorted { $0.t < $1.t }
        guard let first = ordered.first else { return nil }
        if first.loss >= threshold { return first.t }
        for (below, above) in zip(ordered, ordered.dropFirst()) where above.loss >= threshold || !above.loss.isFinite {
            // A loss that overflowed to infinity or NaN has crossed any threshold.
            guard above.loss.isFinite else { return above.t }
            let fraction = (threshold - below.loss) / (above.loss - below.loss)
            return below.t + fraction * (above.t - below.t)
        }
        return nil
    }
}
