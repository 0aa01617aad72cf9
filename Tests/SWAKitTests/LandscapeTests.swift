import Dispatch
import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
#if canImport(FoundationXML)
import FoundationXML
#endif

/// swa-landscape's procedures on the fixture run: ranges, directions, line, width, plane,
/// against the swa-bn-update + swa-eval path and PyTorch's goldens.
@Suite("Landscape")
struct LandscapeTests {
    static let train = TestSupport.fixtures + "/data/train.npz"
    static let test = TestSupport.fixtures + "/data/test.npz"
    static func checkpoint(_ epoch: Int) -> String { TestSupport.checkpoints + String(format: "/ckpt-%03d.safetensors.zst", epoch) }

    static func job(_ kind: LandscapeJob.Kind, bn: LandscapeBatchNorm = .update, directions: RandomDirections = RandomDirections(seed: 0),
                    workers: Int? = nil) -> LandscapeJob {
        LandscapeJob(kind: kind, modelSource: .metadata, train: DataRequest(path: train), test: DataRequest(path: test),
                     batchNorm: bn, directions: directions, workers: workers)
    }

    /// A model's metrics the way swa-bn-update and swa-eval compute them, independently of the
    /// landscape code: the BN pass streamed from the file, then `Evaluator` and `ClassificationMetrics`.
    static func ownMetrics(_ parameters: ModelParameters, model: LoadedModel, bn: LandscapeBatchNorm = .update) throws -> PointMetrics {
        let trainData = try DataRequest(path: train).open(for: model)
        let testData = try DataRequest(path: test).open(for: model)
        var scored = parameters
        if bn == .update {
            scored = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: trainData, batchSize: 128).applied(to: parameters)
        }
        let onTrain = try Evaluator(data: trainData, classes: 10, batchSize: 128).predictions(of: scored)
        let onTest = try Evaluator(data: testData, classes: 10, batchSize: 128).predictions(of: scored)
        let trainMetrics = onTrain.metrics(labels: try trainData.labels()), testMetrics = onTest.metrics(labels: try testData.labels())
        return PointMetrics(trainLoss: trainMetrics.nll, trainError: 1 - trainMetrics.accuracy,
                            testError: 1 - testMetrics.accuracy, testNLL: testMetrics.nll)
    }

    // MARK: - Ranges

    @Test("Ranges A:B:N and lists parse as numpy.linspace and in order; bad ones name the flag and the text")
    func sweepValues() throws {
        #expect(try SweepValues.parse("-0.5:1.5:5").values == [-0.5, 0, 0.5, 1, 1.5])
        #expect(try SweepValues.parse("0:20:11").values == (0 ... 10).map { Double($0) * 2 })
        #expect(try SweepValues.parse("0.3:0.3:1").values == [0.3])
        #expect(try SweepValues.parse(" 1, 0.5 ,2").values == [1, 0.5, 2])
        let cases: [(String, String)] = [
            ("", "--steps is empty: give A:B:N or a list T,T,..."),
            ("0:1", "--steps '0:1' is not a range A:B:N (start, end, number of points; e.g. -0.5:1.5:21)"),
            ("0:1:x", "--steps '0:1:x' is not a range A:B:N (start, end, number of points; e.g. -0.5:1.5:21)"),
            ("0:1:0", "--steps '0:1:0' asks for 0 points; N must be at least 1"),
            ("0:1:1", "--steps '0:1:1' asks for 1 point between two different values; give N ≥ 2, or A:A:1"),
            ("1,,2", "--steps '1,,2': '' is not a number (give A:B:N or a list T,T,...)"),
            ("1,nan", "--steps holds nan, which is not a finite number"),
        ]
        for (text, message) in cases {
            let error = try #require(throws: SWAError.self) { try SweepValues.parse(text) }
            #expect(error.message == message, "\(text)")
        }
    }

    // MARK: - Directions

    @Test("A direction is a unit vector over the trainable tensors, identical for one seed across runs and threads")
    func directionsAreSeededUnitVectors() throws {
        let model = try LoadedModel(path: Self.checkpoint(20), source: .metadata)
        let directions = RandomDirections(seed: 7)
        let first = try directions.direction(0, for: model.parameters)
        #expect(abs(first.norm(over: .trainable) - 1) < 1e-6)
        #expect(first.norm(over: .all) == first.norm(over: .trainable))  // running statistics are zero
        #expect(try directions.direction(0, for: model.parameters).values == first.values)
        #expect(try RandomDirections(seed: 7).direction(1, for: model.parameters).values != first.values)
        #expect(try RandomDirections(seed: 8).direction(0, for: model.parameters).values != first.values)
        // Made on several threads at once, in reverse order: the same values, bit for bit.
        let count = 6
        let serial = try (0 ..< count).map { try directions.direction($0, for: model.parameters).values }
        final class Box: @unchecked Sendable { var values: [[String: [Float]]?] = Array(repeating: nil, count: 6) }
        let box = Box(), lock = NSLock(), parameters = model.parameters
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let direction = count - 1 - index
            let values = try? directions.direction(direction, for: parameters).values
            lock.lock()
            box.values[direction] = values
            lock.unlock()
        }
        #expect(box.values.map { $0! } == serial)
        // Gaussian: mean near 0 and variance near 1/n over the n trainable values.
        let all = model.graph.floatTensorKeys(.trainable).flatMap { first.values[$0]! }.map(Double.init)
        let n = Double(all.count), mean = all.reduce(0, +) / n
        #expect(abs(mean) < 4 / n)
        #expect(abs(all.map { $0 * $0 }.reduce(0, +) - 1) < 1e-5)
        #expect(abs(all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) * n / (n - 1) - 1) < 0.03)
    }

    @Test("--ignore biasbn leaves biases and BN tensors at zero; filter normalisation gives each filter its model filter's norm")
    func ignoreAndFilterNormalisation() throws {
        let model = try LoadedModel(path: Self.checkpoint(20), source: .metadata)
        let ignoring = try RandomDirections(seed: 3, ignore: .biasbn).direction(0, for: model.parameters)
        let plain = try RandomDirections(seed: 3).direction(0, for: model.parameters)
        #expect(abs(ignoring.norm(over: .trainable) - 1) < 1e-6)
        for key in model.graph.floatTensorKeys(.all) {
            let values = try #require(ignoring.values[key])
            if key.contains("bn") || key.hasPrefix("stem.1") || key.hasPrefix("head.1") || key.hasSuffix("bias") {
                #expect(values.allSatisfy { $0 == 0 }, "\(key)")
            } else {
                #expect(values.contains { $0 != 0 }, "\(key)")
                // The same draws, scaled by another norm: proportional to the plain direction.
                let ratio = Double(values[0]) / Double(plain.values[key]![0])
                #expect(zip(values, plain.values[key]!).allSatisfy { abs(Double($0) - ratio * Double($1)) <= 1e-5 * abs(Double($0)) + 1e-12 })
            }
        }
        let filter = try RandomDirections(seed: 3, normalization: .filter).direction(0, for: model.parameters)
        let weight = model.parameters.values["block.conv1.weight"]!, d = filter.values["block.conv1.weight"]!
        let size = 16 * 3 * 3
        for f in 0 ..< 16 {
            let w = weight[f * size ..< (f + 1) * size].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let n = d[f * size ..< (f + 1) * size].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(n - w) <= 1e-5 * w, "filter \(f)")
        }
        #expect(filter.values["head.0.bias"] == model.parameters.values["head.0.bias"])  // loss-landscape copies 1-D tensors
    }

    // MARK: - Line

    @Test("The line's endpoints reproduce A's and B's own metrics exactly, BN recomputed or kept")
    func lineEndpointsAreExact() throws {
        for bn in LandscapeBatchNorm.allCases {
            let report = try Self.job(.line(a: Self.checkpoint(10), b: Self.checkpoint(20), steps: SweepValues([0, 0.5, 1])), bn: bn).run()
            #expect(report.kind == "line")
            #expect(report.points.map(\.t) == [0, 0.5, 1])
            let a = try LoadedModel(path: Self.checkpoint(10), source: .metadata)
            let b = try LoadedModel(path: Self.checkpoint(20), source: .metadata)
            #expect(report.points[0].metrics == (try Self.ownMetrics(a.parameters, model: a, bn: bn)))
            #expect(report.points[2].metrics == (try Self.ownMetrics(b.parameters, model: a, bn: bn)))
            #expect(report.points[1].metrics != report.points[0].metrics)
        }
    }

    @Test("The line matches PyTorch (update_bn at every point, or kept statistics) at 1e-4 relative")
    func lineMatchesPyTorch() throws {
        let golden = try JSONValue.parse(String(contentsOfFile: TestSupport.golden + "/landscape/line.json", encoding: .utf8))
        let steps = try SweepValues.parse(try #require(golden["steps_argument"]?.stringValue))
        #expect(steps.values == golden["steps"]?.arrayValue?.map { $0.doubleValue! })
        try TestSupport.withTemporaryDirectory { folder in
            let swa = try TestSupport.averageFixtures(in: folder)
            for (name, a) in [("ckpt-010_ckpt-020", Self.checkpoint(10)), ("swa_ckpt-020", swa)] {
                for bn in LandscapeBatchNorm.allCases {
                    let report = try Self.job(.line(a: a, b: Self.checkpoint(20), steps: steps), bn: bn).run()
                    let expected = try #require(golden["lines"]?[name]?[bn.rawValue]?.arrayValue)
                    #expect(expected.count == report.points.count)
                    for (point, want) in zip(report.points, expected) {
                        #expect(point.t == want["t"]?.doubleValue)
                        for (key, value) in [("train_loss", point.trainLoss), ("train_error", point.trainError),
                                             ("test_error", point.testError), ("test_nll", point.testNLL)] {
                            let reference = try #require(want[key]?.doubleValue)
                            #expect(abs(value - reference) <= 1e-4 * abs(reference) + 1e-12, "\(name) \(bn) t=\(point.t!) \(key): \(value) vs \(reference)")
                        }
                    }
                }
            }
        }
    }

    @Test("Endpoints whose keys or shapes differ are refused naming the file and the tensor")
    func mismatchedEndpoints() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let source = try LoadedCheckpoint(path: Self.checkpoint(20))
            let specs = source.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), source.tensors[$0.name]!) }
            // A tensor renamed.
            let renamed = specs.map { $0.0.name == "head.4.bias" ? (TensorSpec(name: "head.4.offset", dtype: $0.0.dtype, shape: $0.0.shape), $0.1) : $0 }
            try CheckpointWriter.write(renamed, metadata: source.header.metadata, to: folder + "/renamed.bin", overwrite: false)
            // A tensor reshaped ([10, 64] stored as [20, 32]).
            let reshaped = specs.map { $0.0.name == "head.4.weight" ? (TensorSpec(name: $0.0.name, dtype: $0.0.dtype, shape: [20, 32]), $0.1) : $0 }
            try CheckpointWriter.write(reshaped, metadata: source.header.metadata, to: folder + "/reshaped.bin", overwrite: false)
            let steps = try SweepValues([0, 1])
            let missing = try #require(throws: SWAError.self) {
                try Self.job(.line(a: Self.checkpoint(10), b: folder + "/renamed.bin", steps: steps)).run()
            }
            #expect(missing.description == "\(folder)/renamed.bin: tensor 'head.4.bias' is missing (it is in \(Self.checkpoint(10)))")
            let shape = try #require(throws: SWAError.self) {
                try Self.job(.line(a: Self.checkpoint(10), b: folder + "/reshaped.bin", steps: steps)).run()
            }
            #expect(shape.description == "\(folder)/reshaped.bin: tensor 'head.4.weight' has shape [20, 32], expected [10, 64] (as in \(Self.checkpoint(10)))")
        }
    }

    // MARK: - Width

    @Test("Width: distance 0 is the model's own metrics exactly; the same points with 1 or 2 threads; widths from the curve")
    func width() throws {
        let kind = LandscapeJob.Kind.width(models: [Self.checkpoint(20)], directions: 2, distances: try SweepValues([0, 5, 20]), threshold: nil)
        let parallel = try Self.job(kind, directions: RandomDirections(seed: 1), workers: 2).run()
        let serial = try Self.job(kind, directions: RandomDirections(seed: 1), workers: 1).run()
        #expect(parallel.points == serial.points)
        #expect(parallel.points.count == 6)
        #expect(parallel.points.map(\.direction) == [1, 1, 1, 2, 2, 2])
        #expect(parallel.points.map(\.t) == [0, 5, 20, 0, 5, 20])
        let model = try LoadedModel(path: Self.checkpoint(20), source: .metadata)
        let own = try Self.ownMetrics(model.parameters, model: model)
        #expect(parallel.points[0].metrics == own)
        #expect(parallel.points[3].metrics == own)
        let summary = try #require(parallel.widths?.first)
        #expect(summary.trainLoss == own.trainLoss)
        #expect(summary.threshold == 2 * own.trainLoss)
        for direction in 0 ..< 2 {
            let curve = parallel.points.filter { $0.direction == direction + 1 }.map { (t: $0.t!, loss: $0.trainLoss) }
            #expect(summary.widths[direction] == LandscapeJob.crossing(of: curve, at: summary.threshold))
        }
        #expect(parallel.directions == DirectionSummary(count: 2, seed: 1, normalize: .global, ignore: .none))
    }

    @Test("The width is where the loss first reaches the threshold, interpolated; nil if never")
    func crossing() {
        let curve: [(t: Double, loss: Double)] = [(0, 1), (2, 1.5), (4, 3), (6, 2)]
        #expect(LandscapeJob.crossing(of: curve, at: 2) == 2 + 2 * (0.5 / 1.5))
        #expect(LandscapeJob.crossing(of: curve, at: 0.5) == 0)
        #expect(LandscapeJob.crossing(of: curve, at: 5) == nil)
        #expect(LandscapeJob.crossing(of: [(0, 1), (1, .nan)], at: 5) == 1)
    }

    @Test("--directions 0 is refused")
    func noDirections() throws {
        let error = try #require(throws: SWAError.self) {
            try Self.job(.width(models: [Self.checkpoint(20)], directions: 0, distances: try SweepValues([1]), threshold: nil)).run()
        }
        #expect(error.message == "--directions must be at least 1, got 0")
    }

    // MARK: - Plane

    @Test("The plane's basis is orthonormal, its three points reproduce their own metrics, and it maps back to them")
    func plane() throws {
        let paths = [Self.checkpoint(10), Self.checkpoint(14), Self.checkpoint(20)]
        let report = try Self.job(.plane(points: paths, grid: 2, margin: 0.1, marks: [Self.checkpoint(16)])).run()
        let plane = try #require(report.plane)
        #expect(report.points.count == 4)
        #expect(plane.placed.map(\.role) == ["point", "point", "point", "mark"])
        let models = try paths.map { try LoadedModel(path: $0, source: .metadata) }
        for (placed, model) in zip(plane.placed, models) {
            #expect(placed.metrics == (try Self.ownMetrics(model.parameters, model: models[0])), "\(placed.model)")
            #expect(placed.offPlane < 1e-3 * max(1, placed.a.magnitude + placed.b.magnitude), "\(placed.model)")
        }
        #expect(plane.placed[0].a == 0 && plane.placed[0].b == 0)
        #expect(plane.placed[3].offPlane > 0.01)
        let w = models.map(\.parameters)
        let basis = try PlaneBasis(through: w[0], w[1], w[2], ignore: .none)
        #expect(abs(basis.u.norm(over: .trainable) - 1) < 1e-6)
        #expect(abs(basis.v.norm(over: .trainable) - 1) < 1e-6)
        #expect(abs(try ModelParameters.dot(basis.u, basis.v, over: .trainable)) < 1e-6)
        let distance = try ModelParameters.linearCombination(1, w[1], -1, w[0], over: .trainable).norm(over: .trainable)
        #expect(abs(plane.placed[1].a - distance) < 1e-6 * distance)
        #expect(abs(plane.placed[1].b) < 1e-6 * distance)
        // The plane point at W3's coordinates is W3 up to Float rounding.
        let back = try basis.point(a: plane.placed[2].a, b: plane.placed[2].b)
        let error = try ModelParameters.linearCombination(1, back, -1, w[2], over: .trainable).norm(over: .trainable)
        #expect(error < 1e-5 * w[2].norm(over: .trainable))
        #expect(plane.aValues.count == 2 && plane.bValues.count == 2)
        // The lattice corners hold the points with 10 % to spare.
        let aSpan = plane.placed.map(\.a).max()! - plane.placed.map(\.a).min()!
        #expect(abs(plane.aValues[0] - (plane.placed.map(\.a).min()! - 0.1 * aSpan)) < 1e-9 * aSpan)

        // The plot: the axes frame the heat map and the a tick labels sit below it (the plane's
        // square plot has its own edges, not the line plot's).
        let svg = try ParsedSVG(report.plotSVG())
        let heatMap = try #require(svg.elements(named: "g").first { $0.attributeValue("id") == "heat-map" })
        let cells = (heatMap.children ?? []).compactMap { $0 as? XMLElement }
        #expect(cells.count == 4)
        let top = cells.map { $0.number("y") }.min()!, bottom = cells.map { $0.number("y") + $0.number("height") }.max()!
        let frame = try #require(svg.plotFrame)
        #expect(abs(frame.y.lowerBound - top) <= 1 && abs(frame.y.upperBound - bottom) <= 1, "axes \(frame.y), heat map \(top)...\(bottom)")
        let tickLabels = svg.elements(named: "text", class: "tick-label")
        #expect(tickLabels.filter { $0.number("y") > frame.y.upperBound }.count >= 2, "the a axis labels lie below the plot")
    }

    @Test("Three collinear points, or a repeated one, are refused in one line")
    func collinearPoints() throws {
        let w1 = try LoadedModel(path: Self.checkpoint(10), source: .metadata).parameters
        let w2 = try LoadedModel(path: Self.checkpoint(20), source: .metadata).parameters
        let w3 = try ModelParameters.linearCombination(-1, w1, 2, w2, over: .all)  // W1 + 2·(W2 − W1)
        let collinear = try #require(throws: SWAError.self) { try PlaneBasis(through: w1, w2, w3, ignore: .none) }
        #expect(collinear.message == "W1, W2 and W3 are collinear (W3 lies on the line through the other two); a plane needs three non-collinear points")
        let same = try #require(throws: SWAError.self) { try PlaneBasis(through: w1, w1, w2, ignore: .none) }
        #expect(same.message == "W1 and W2 are the same point: a plane needs three distinct, non-collinear points")
    }

    @Test("--pca: the trajectory's plane around its mean; every checkpoint projected")
    func trajectory() throws {
        let report = try Self.job(.trajectory(inputs: [TestSupport.checkpoints], selection: CheckpointSelection(start: 10, every: 2),
                                              grid: 2, margin: 0.1, marks: [])).run()
        let plane = try #require(report.plane)
        #expect(plane.basis == "pca")
        #expect(plane.placed.count == 6 && plane.placed.allSatisfy { $0.role == "checkpoint" && $0.metrics == nil })
        let explained = try #require(plane.explainedVariance)
        #expect(explained[0] >= explained[1] && explained[1] > 0 && explained[0] + explained[1] <= 1 + 1e-12)
        // Projections around the mean: the coordinates sum to zero along each axis.
        let a: [Double] = plane.placed.map(\.a), b: [Double] = plane.placed.map(\.b)
        let aSum: Double = a.reduce(0, +), aScale: Double = a.map(abs).reduce(0, +)
        let bSum: Double = b.reduce(0, +), bScale: Double = b.map(abs).reduce(0, +)
        #expect(abs(aSum) < 1e-6 * aScale)
        #expect(abs(bSum) < 1e-6 * bScale)
    }

    @Test("Jacobi eigen-decomposition of a symmetric matrix")
    func eigen() {
        // [[2, 1, 0], [1, 2, 0], [0, 0, 1]]: eigenvalues 3, 1, 1; the first eigenvector (1, 1, 0)/√2.
        let (values, vectors) = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 1], n: 3)
        #expect(zip(values, [3.0, 1, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(abs(abs(vectors[0]) - 0.5.squareRoot()) < 1e-12 && abs(vectors[0] - vectors[3]) < 1e-12 && abs(vectors[6]) < 1e-12)
    }

    // MARK: - Outputs

    static let none = NormalizationRecord(source: .none, layout: .nchw, mean: nil, std: nil, scale: 1)

    @Test("CSV and SVG of each kind")
    func outputs() throws {
        let line = LandscapeReport(kind: "line", models: ["a.bin", "b.bin"], train: .init(path: "train.npz", samples: 10, normalization: Self.none),
                                   test: .init(path: "test.npz", samples: 5, normalization: Self.none), bn: .update,
                                   points: [LandscapePoint(t: 0, metrics: PointMetrics(trainLoss: 0.5, trainError: 0.1, testError: 0.2, testNLL: 0.7)),
                                            LandscapePoint(t: 1, metrics: PointMetrics(trainLoss: 0.25, trainError: 0, testError: 0.1, testNLL: 0.5))],
                                   seconds: 1, threads: 1)
        #expect(line.csv == "t,train_loss,train_error,test_error,test_nll\n0.0,0.5,0.1,0.2,0.7\n1.0,0.25,0.0,0.1,0.5\n")
        let svg = line.plotSVG()
        #expect(svg.hasPrefix("<?xml") && svg.contains("train loss (nats)") && svg.contains("test error (%)"))
        #expect(svg.components(separatedBy: "class=\"endpoint-marker\"").count == 5)  // t = 0 and t = 1, in both panels
        #expect(svg.contains("A = a.bin,  B = b.bin"))
        #expect(line.plotSVG() == svg)
    }
}
