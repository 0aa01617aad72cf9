import RealModule
import SWAData
import SWAEngine
import SWAFormats

/// How a random direction is scaled (docs/ANALYSES.md).
public enum DirectionNormalization: String, Sendable, CaseIterable, Codable {
    /// One unit vector over all covered tensors together: Izmailov et al. 2018, §3.4
    /// ("random directions … normalised", one Euclidean norm for the whole weight vector).
    case global
    /// Filter-wise (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"): every
    /// filter (row along the first axis) of every tensor with two or more axes gets the norm of
    /// the same filter of the model; tensors with at most one axis (biases, BN weights) take the
    /// model's values, as tomgoldstein/loss-landscape's `normalize_directions_for_weights` does
    /// (or zero with `--ignore biasbn`). Not a unit vector: a distance of 1 moves each filter by
    /// its own norm.
    case filter
}

/// Which tensors a direction moves (tomgoldstein/loss-landscape's `--xignore biasbn`).
public enum DirectionIgnore: String, Sendable, CaseIterable, Codable {
    /// Every trainable tensor.
    case none
    /// Tensors with at most one axis (biases, BN weights and biases) stay at zero in the direction.
    case biasbn
}

extension SplitMix64 {
    /// A uniform Double in (0, 1]: the top 53 bits of one output, plus one, times 2⁻⁵³.
    mutating func nextOpenUnit() -> Double { Double((next() >> 11) + 1) * 0x1p-53 }
}

/// Seeded random directions in weight space for `swa-landscape width` and their normalisation.
///
/// Direction k (0-based) of seed S draws from its own SplitMix64 stream (Steele, Lea & Flood
/// 2014; the generator of SWAData's augmentation), seeded with
/// `S + (k + 1)·0xD1B54A32D192ED03` (wrapping): the directions are independent of how many are
/// asked for and of the order or thread they are made on. The stream fills every trainable
/// tensor of the graph in graph order (`ModelGraph.floatTensorKeys(.trainable)`), element by
/// element, with standard normal values by the Box–Muller transform: two uniforms u₁ ∈ (0, 1],
/// u₂ ∈ (0, 1] give √(−2 ln u₁)·cos(2πu₂) and then √(−2 ln u₁)·sin(2πu₂). Values are Double
/// until normalised, then rounded once to Float. Ignored tensors are drawn too and then zeroed,
/// so `--ignore` does not change the other tensors' values.
public struct RandomDirections: Sendable {
    public let seed: UInt64
    public let normalization: DirectionNormalization
    public let ignore: DirectionIgnore

    public init(seed: UInt64, normalization: DirectionNormalization = .global, ignore: DirectionIgnore = .none) {
        self.seed = seed
        self.normalization = normalization
        self.ignore = ignore
    }

    /// Direction `index` (0-based) for the model `weights`, as parameters of its graph: the
    /// BN running statistics are zero (a direction never moves buffers).
    ///
    /// `.global`: a unit vector over the trainable tensors (‖d‖ = 1 up to Float rounding).
    /// `.filter`: scaled filter by filter to `weights` (see `DirectionNormalization.filter`).
    /// - Throws: if every covered value is zero (a model with no trainable tensor left).
    public func direction(_ index: Int, for weights: ModelParameters) throws -> ModelParameters {
        let graph = weights.graph
        var generator = SplitMix64(seed: seed &+ UInt64(index + 1) &* 0xD1B5_4A32_D192_ED03)
        var pendingNormal: Double?
        func normal() -> Double {
            if let value = pendingNormal {
                pendingNormal = nil
                return value
            }
            let radius = (-2 * Double.log(generator.nextOpenUnit())).squareRoot()
            let angle = 2 * Double.pi * generator.nextOpenUnit()
            pendingNormal = radius * Double.sin(angle)
            return radius * Double.cos(angle)
        }
        // Tensors the model holds (an optional tensor, such as an absent bias, is left out).
        let trainable = graph.floatTensorShapes(.trainable).filter { weights.values[$0.key] != nil }
        let trainableKeys = Set(trainable.map(\.key))
        var drawn: [(key: String, shape: [Int], values: [Double])] = []
        for tensor in trainable {
            let count = tensor.shape.reduce(1, *)
            var values = (0 ..< count).map { _ in normal() }
            if ignore == .biasbn && Self.isBiasOrBN(shape: tensor.shape) { values = [Double](repeating: 0, count: count) }
            drawn.append((tensor.key, tensor.shape, values))
        }
        var result: [String: [Float]] = [:]
        for (key, values) in weights.values where !trainableKeys.contains(key) {
            result[key] = [Float](repeating: 0, count: values.count)  // BN running statistics: never moved
        }
        switch normalization {
        case .global:
            var sum = 0.0
            for tensor in drawn { for value in tensor.values { sum = Relaxed.multiplyAdd(value, value, sum) } }
            let norm = sum.squareRoot()
            guard norm > 0 else { throw SWAError("the random direction is zero: every trainable tensor is ignored") }
            for tensor in drawn { result[tensor.key] = tensor.values.map { Float($0 / norm) } }
        case .filter:
            for tensor in drawn {
                let values = tensor.values
                guard let model = weights.values[tensor.key] else { continue }
                if tensor.shape.count <= 1 {
                    result[tensor.key] = ignore == .biasbn ? [Float](repeating: 0, count: values.count) : model
                    continue
                }
                let filters = tensor.shape[0], size = values.count / max(filters, 1)
                var scaled = [Float](repeating: 0, count: values.count)
                for filter in 0 ..< filters {
                    let range = filter * size ..< (filter + 1) * size
                    var dd = 0.0, ww = 0.0
                    for i in range {
                        dd = Relaxed.multiplyAdd(values[i], values[i], dd)
                        ww = Relaxed.multiplyAdd(Double(model[i]), Double(model[i]), ww)
                    }
                    let factor = dd > 0 ? ww.squareRoot() / (dd.squareRoot() + 1e-10) : 0
                    for i in range { scaled[i] = Float(values[i] * factor) }
                }
                result[tensor.key] = scaled
            }
        }
        return try ModelParameters(graph: graph, floatTensors: result)
    }

    /// Whether `--ignore biasbn` leaves `tensor` out: a bias, or any tensor of a BN layer, i.e.
    /// every tensor with at most one axis (loss-landscape's test, `d.dim() <= 1`).
    static func isBiasOrBN(shape: [Int]) -> Bool { shape.count <= 1 }
}
