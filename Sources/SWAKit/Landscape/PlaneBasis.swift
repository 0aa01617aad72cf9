import RealModule
import SWAEngine
import SWAFormats

/// An orthonormal basis of a plane in weight space and the map between plane coordinates and
/// weights: w(a, b) = origin + a·u + b·v over the tensors the basis covers.
///
/// Through three points (Izmailov et al. 2018, Figure 1, after Garipov et al. 2018):
/// u = (W2 − W1)/‖W2 − W1‖, v = the part of W3 − W1 orthogonal to u, normalised; W1 sits at
/// (0, 0), W2 at (‖W2 − W1‖, 0), W3 at ((W3 − W1)·u, ‖v before normalising‖). Coordinates are
/// Euclidean distances in weight space. The basis covers the trainable tensors (all but the
/// BN running statistics, which stay the origin's), minus biases and BN weights with
/// `--ignore biasbn`. Products and norms are accumulated in Double in graph order; u and v
/// are stored as Float.
public struct PlaneBasis: Sendable {
    /// The point at (0, 0).
    public let origin: ModelParameters
    /// Unit vectors, zero outside the covered tensors.
    public let u: ModelParameters
    public let v: ModelParameters
    /// The keys the basis covers, in graph order.
    public let keys: [String]

    /// The plane of Figure 1 through `w1`, `w2`, `w3` (bound to one graph).
    /// - Throws: if W2 = W1 or the three points are (nearly) collinear: the part of W3 − W1
    ///   orthogonal to W2 − W1 is at most 10⁻⁶ of ‖W3 − W1‖.
    public init(through w1: ModelParameters, _ w2: ModelParameters, _ w3: ModelParameters, ignore: DirectionIgnore,
                names: [String] = ["W1", "W2", "W3"]) throws {
        let keys = Self.coveredKeys(w1.graph, ignore: ignore)
        let du = try Self.difference(w2, w1, keys), dv = try Self.difference(w3, w1, keys)
        let uNorm = Self.dot(du, du).squareRoot()
        guard uNorm > 0 else {
            throw SWAError("\(names[0]) and \(names[1]) are the same point: a plane needs three distinct, non-collinear points")
        }
        let uHat = du.mapValues { $0.map { $0 / uNorm } }
        let along = Self.dot(dv, uHat)
        let vPerp = dv.merging(uHat) { v, u in zip(v, u).map { $0 - along * $1 } }
        let vNorm = Self.dot(vPerp, vPerp).squareRoot(), dvNorm = Self.dot(dv, dv).squareRoot()
        guard vNorm > 1e-6 * dvNorm, vNorm > 0 else {
            throw SWAError("\(names[0]), \(names[1]) and \(names[2]) are collinear (\(names[2]) lies on the line through the other two); "
                + "a plane needs three non-collinear points")
        }
        try self.init(origin: w1, u: uHat, v: vPerp.mapValues { $0.map { $0 / vNorm } }, keys: keys)
    }

    /// A basis from unit vectors given as Double values by key (the trajectory's principal
    /// directions).
    init(origin: ModelParameters, u: [String: [Double]], v: [String: [Double]], keys: [String]) throws {
        func parameters(_ values: [String: [Double]]) throws -> ModelParameters {
            var tensors = origin.values.mapValues { [Float](repeating: 0, count: $0.count) }
            for (key, doubles) in values { tensors[key] = doubles.map(Float.init) }
            return try ModelParameters(graph: origin.graph, floatTensors: tensors)
        }
        self.origin = origin
        self.u = try parameters(u)
        self.v = try parameters(v)
        self.keys = keys
    }

    /// The weights at (a, b): origin + a·u + b·v, each product added in Double and rounded to
    /// Float (twice: once per direction). Tensors the basis does not cover are the origin's.
    public func point(a: Double, b: Double) throws -> ModelParameters {
        try origin.adding(a, times: u, over: .trainable).adding(b, times: v, over: .trainable)
    }

    /// Where `weights` project onto the plane, and how far they lie off it (Euclidean, over
    /// the covered tensors).
    public func project(_ weights: ModelParameters) throws -> (a: Double, b: Double, offPlane: Double) {
        let d = try Self.difference(weights, origin, keys)
        let uValues = Self.doubles(u, keys), vValues = Self.doubles(v, keys)
        let a = Self.dot(d, uValues), b = Self.dot(d, vValues)
        let squared = Self.dot(d, d)
        return (a, b, max(0, squared - a * a - b * b).squareRoot())
    }

    // MARK: - Vectors as Double tensors by key

    /// The trainable keys of `graph`, minus biases and BN tensors with `.biasbn`.
    static func coveredKeys(_ graph: ModelGraph, ignore: DirectionIgnore) -> [String] {
        graph.floatTensorShapes(.trainable).filter { !(ignore == .biasbn && RandomDirections.isBiasOrBN(shape: $0.shape)) }.map(\.key)
    }

    /// x − y in Double over `keys` (both bound to one graph).
    static func difference(_ x: ModelParameters, _ y: ModelParameters, _ keys: [String]) throws -> [String: [Double]] {
        if x.graph != y.graph {
            _ = try ModelParameters.linearCombination(1, x, -1, y, over: .trainable)  // throws, naming the difference
        }
        var result: [String: [Double]] = [:]
        for key in keys {
            guard let xs = x.values[key], let ys = y.values[key] else { continue }
            result[key] = zip(xs, ys).map { Double($0) - Double($1) }
        }
        return result
    }

    static func doubles(_ x: ModelParameters, _ keys: [String]) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for key in keys { result[key] = x.values[key]?.map(Double.init) }
        return result
    }

    /// Σ xᵢ·yᵢ over the keys of `x`, in sorted key order (the same on every run).
    static func dot(_ x: [String: [Double]], _ y: [String: [Double]]) -> Double {
        var sum = 0.0
        for key in x.keys.sorted() {
            guard let xs = x[key], let ys = y[key] else { continue }
            for index in xs.indices { sum = Relaxed.multiplyAdd(xs[index], ys[index], sum) }
        }
        return sum
    }
}
