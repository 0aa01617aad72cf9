import RealModule
import SWAEngine
import SWAFormats

// MARK: - plane --pca: the trajectory's two principal directions around its mean

extension LandscapeJob {
    /// The plane through the mean of the selected checkpoints spanned by the two principal
    /// directions of their deviations from it (tomgoldstein/loss-landscape `plot_trajectory.py`
    /// draws the same path; it centres on the last checkpoint, we centre on the mean, the
    /// PCA convention). Every checkpoint is projected as a path; marks are evaluated too.
    ///
    /// Memory: the deviations of every selected checkpoint are held (as Double, over the
    /// covered tensors) to form their Gram matrix; the principal directions come from its
    /// eigenvectors (Jacobi rotations), as the checkpoints are far fewer than the weights.
    func runTrajectory(inputs paths: [String], selection: CheckpointSelection, grid: Int, margin: Double, marks: [String],
                       progress: ProgressObserver) throws -> LandscapeReport {
        try Self.checkGrid(grid, margin: margin)
        let entries = try selection.apply(to: discoverCheckpoints(paths) { progress.warn($0) })
        guard entries.count >= 3 else {
            throw SWAError("--pca needs at least three checkpoints for a plane, the selection kept \(entries.count)")
        }
        let inputs = try LandscapeInputs(firstModel: entries[0].path, job: self)
        let weights = try entries.map { try inputs.load($0.path) }
        let graph = inputs.first.graph
        let keys = PlaneBasis.coveredKeys(graph, ignore: directions.ignore)

        // The mean of every float tensor (running statistics too, for --bn keep), in Double.
        var mean: [String: [Double]] = [:]
        for key in graph.floatTensorKeys(.all) {
            guard let first = weights[0].values[key] else { continue }
            var sum = [Double](repeating: 0, count: first.count)
            for w in weights { for (i, x) in w.values[key]!.enumerated() { sum[i] += Double(x) } }
            mean[key] = sum.map { $0 / Double(weights.count) }
        }
        let origin = try ModelParameters(graph: graph, floatTensors: mean.mapValues { $0.map(Float.init) })
        let deviations = weights.map { w in
            Dictionary(uniqueKeysWithValues: keys.compactMap { key in
                w.values[key].map { (key, zip($0, mean[key]!).map { Double($0) - $1 }) }
            })
        }
        let n = deviations.count
        var gram = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n {
            for j in i ..< n {
                let value = PlaneBasis.dot(deviations[i], deviations[j])
                gram[i * n + j] = value
                gram[j * n + i] = value
            }
        }
        let (eigenvalues, eigenvectors) = symmetricEigen(gram, n: n)
        let total = eigenvalues.reduce(0) { $0 + max($1, 0) }
        guard eigenvalues.count >= 2, eigenvalues[1] > 1e-12 * max(eigenvalues[0], 0), total > 0 else {
            throw SWAError("the selected checkpoints are collinear (their deviations from the mean span fewer than two directions); "
                + "a plane needs three non-collinear points")
        }
        func direction(_ k: Int) -> [String: [Double]] {
            var result: [String: [Double]] = [:]
            for key in keys {
                guard let count = deviations[0][key]?.count else { continue }
                var values = [Double](repeating: 0, count: count)
                for i in 0 ..< n {
                    let c = eigenvectors[i * n + k]
                    for (index, x) in deviations[i][key]!.enumerated() { values[index] = Relaxed.multiplyAdd(c, x, values[index]) }
                }
                result[key] = values
            }
            let norm = PlaneBasis.dot(result, result).squareRoot()
            return result.mapValues { $0.map { $0 / norm } }
        }
        let basis = try PlaneBasis(origin: origin, u: direction(0), v: direction(1), keys: keys)
        let placed = try marks.map { ($0, "mark", try inputs.load($0)) }
        return try sweepPlane(basis: basis, basisName: "pca", explained: [eigenvalues[0] / total, eigenvalues[1] / total],
                              placed: placed, path: zip(entries.map(\.path), weights).map { ($0, $1) },
                              grid: grid, margin: margin, models: entries.map(\.path), inputs: inputs, progress: progress)
    }
}

/// Eigenvalues (descending) and eigenvectors (column k of the row-major `[n, n]` result) of a
/// symmetric `[n, n]` matrix, by cyclic Jacobi rotations (Golub & Van Loan §8.5) until the
/// off-diagonal part is below 10⁻¹⁴ of the matrix's norm. For the small Gram matrices of a
/// trajectory (one row per checkpoint).
func symmetricEigen(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0 ..< n { v[i * n + i] = 1 }
    let scale = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
    for _ in 0 ..< 100 {
        var off = 0.0
        for i in 0 ..< n { for j in 0 ..< n where i != j { off += a[i * n + j] * a[i * n + j] } }
        if off.squareRoot() <= 1e-14 * max(scale, .leastNormalMagnitude) { break }
        for p in 0 ..< n {
            for q in p + 1 ..< n where a[p * n + q] != 0 {
                let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0 ..< n {
                    let akp = a[k * n + p], akq = a[k * n + q]
                    a[k * n + p] = c * akp - s * akq
                    a[k * n + q] = s * akp + c * akq
                }
                for k in 0 ..< n {
                    let apk = a[p * n + k], aqk = a[q * n + k]
                    a[p * n + k] = c * apk - s * aqk
                    a[q * n + k] = s * apk + c * aqk
                }
                for k in 0 ..< n {
                    let vkp = v[k * n + p], vkq = v[k * n + q]
                    v[k * n + p] = c * vkp - s * vkq
                    v[k * n + q] = s * vkp + c * vkq
                }
            }
        }
    }
    let order = (0 ..< n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
    var vectors = [Double](repeating: 0, count: n * n)
    for (column, source) in order.enumerated() { for row in 0 ..< n { vectors[row * n + column] = v[row * n + source] } }
    return (order.map { a[$0 * n + $0] }, vectors)
}
