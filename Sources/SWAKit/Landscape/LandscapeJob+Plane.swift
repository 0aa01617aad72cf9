import SWAEngine
import SWAFormats

// MARK: - plane: through three checkpoints, or a trajectory's principal directions

extension LandscapeJob {
    /// The plane of Figure 1 through W1, W2, W3 (`PlaneBasis`), scored on a `grid`×`grid`
    /// lattice covering the three points and the marks with `margin` (a fraction of each
    /// axis's span) on every side; W1, W2, W3 and the marks scored at their own weights.
    func runPlane(points paths: [String], grid: Int, margin: Double, marks: [String], progress: ProgressObserver) throws -> LandscapeReport {
        guard paths.count == 3 else { throw SWAError("plane needs exactly three models W1 W2 W3, got \(paths.count)") }
        try Self.checkGrid(grid, margin: margin)
        let inputs = try LandscapeInputs(firstModel: paths[0], job: self)
        let w = try paths.map { try inputs.load($0) }
        let basis = try PlaneBasis(through: w[0], w[1], w[2], ignore: directions.ignore,
                                   names: paths.map { $0.split(separator: "/").last.map(String.init) ?? $0 })
        let placed = try zip(paths, w).map { ($0, "point", $1) } + marks.map { ($0, "mark", try inputs.load($0)) }
        return try sweepPlane(basis: basis, basisName: "three points", explained: nil, placed: placed, path: [],
                              grid: grid, margin: margin, models: paths, inputs: inputs, progress: progress)
    }

    /// The lattice, the placed models' own points, the report.
    /// - Parameter path: checkpoints projected only (the `--pca` trajectory), not evaluated.
    func sweepPlane(basis: PlaneBasis, basisName: String, explained: [Double]?, placed: [(String, String, ModelParameters)],
                    path: [(String, ModelParameters)], grid: Int, margin: Double, models: [String],
                    inputs: LandscapeInputs, progress: ProgressObserver) throws -> LandscapeReport {
        let placedCoordinates = try placed.map { try basis.project($0.2) }
        let pathCoordinates = try path.map { try basis.project($0.1) }
        let all = placedCoordinates + pathCoordinates
        let aValues = Self.axis(all.map(\.a), grid: grid, margin: margin)
        let bValues = Self.axis(all.map(\.b), grid: grid, margin: margin)
        let evaluator = inputs.evaluator
        let own = placed.map(\.2)
        // Lattice points (b-major, a fastest), then the placed models at their own weights.
        let latticeCount = grid * grid
        let metrics = try sweepPoints(count: latticeCount + own.count, title: "plane", inputs: inputs, progress: progress) { index in
            if index >= latticeCount { return try evaluator.evaluate(own[index - latticeCount]) }
            return try evaluator.evaluate(basis.point(a: aValues[index % grid], b: bValues[index / grid]))
        }
        let points = (0 ..< latticeCount).map { LandscapePoint(a: aValues[$0 % grid], b: bValues[$0 / grid], metrics: metrics[$0]) }
        var placedModels = zip(placed, placedCoordinates).enumerated().map { index, pair in
            PlacedModel(model: pair.0.0, role: pair.0.1, a: pair.1.a, b: pair.1.b, offPlane: pair.1.offPlane,
                        metrics: metrics[latticeCount + index])
        }
        placedModels += zip(path, pathCoordinates).map {
            PlacedModel(model: $0.0, role: "checkpoint", a: $1.a, b: $1.b, offPlane: $1.offPlane, metrics: nil)
        }
        var report = LandscapeReport(kind: "plane", models: models, train: inputs.trainSummary, test: inputs.testSummary,
                                     bn: batchNorm, points: points, seconds: 0, threads: min(workers, metrics.count))
        report.plane = PlaneSummary(basis: basisName, explainedVariance: explained, aValues: aValues, bValues: bValues, placed: placedModels)
        return report
    }

    static func checkGrid(_ grid: Int, margin: Double) throws {
        guard grid >= 2 else { throw SWAError("--grid must be at least 2, got \(grid)") }
        guard grid <= 1000 else { throw SWAError("--grid \(grid) asks for \(grid * grid) points; at most 1000") }
        guard margin >= 0, margin.isFinite else { throw SWAError("--margin must be a fraction ≥ 0, got \(margin)") }
    }

    /// `grid` evenly spaced values covering `values` with `margin` × their span added on each side.
    static func axis(_ values: [Double], grid: Int, margin: Double) -> [Double] {
        let low = values.min() ?? 0, high = values.max() ?? 1
        let span = high > low ? high - low : max(abs(low), 1)
        return SweepValues.linspace(low - margin * span, high + margin * span, grid)
    }
}
