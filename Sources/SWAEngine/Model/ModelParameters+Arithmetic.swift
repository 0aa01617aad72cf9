import SWAFormats
import RealModule

// Parameters built and combined in memory, for loss-surface analyses (Izmailov et al. 2018,
// §3.2 and Fig. 1; Garipov et al. 2018): points w(t) = (1 − t)·A + t·B on a line, w + t·d
// along a direction, points on the plane through three checkpoints. Elementwise results are
// computed in Double and rounded once to Float, so w(0) is A and w(1) is B bit for bit.
// Reductions run over tensors in graph order (never in dictionary order, which changes from
// one process to the next), so a dot product is the same number on every run.

/// Which float tensors of a model graph an arithmetic operation covers.
///
/// `num_batches_tracked` is an integer counter and is never covered (nor stored in
/// `ModelParameters.values`).
public enum TensorSelection: Sendable, Equatable, CaseIterable {
    /// Every float tensor the graph binds: weights, biases and the BN buffers
    /// `running_mean` / `running_var`.
    case all
    /// The trainable tensors only: every float tensor except the BN running statistics,
    /// which are buffers (PyTorch's `model.parameters()`, not `model.buffers()`).
    case trainable

    /// Whether a tensor with `role` (`"weight"`, `"running_var"`, ...) is covered.
    func covers(role: String) -> Bool {
        switch self {
        case .all: true
        case .trainable: role != "running_mean" && role != "running_var"
        }
    }
}

// MARK: - The float tensors of a graph

extension ModelGraph {
    /// One float tensor a graph binds: its checkpoint key, the node and role it is bound to,
    /// its shape and whether the node needs it.
    struct FloatTensor {
        var key: String
        var node: String
        var role: String
        var shape: [Int]
        var required: Bool
        var elementCount: Int { shape.reduce(1, *) }
    }

    /// The float tensors the graph binds, in node order, each key once (a key bound twice is
    /// one tensor); `num_batches_tracked` counters are left out.
    var floatTensors: [FloatTensor] {
        var seen = Set<String>()
        var tensors: [FloatTensor] = []
        for node in nodes {
            for role in node.operation.tensorRoles() where role.role != "num_batches_tracked" {
                guard let key = node.tensors[role.role], seen.insert(key).inserted else { continue }
                tensors.append(FloatTensor(key: key, node: node.name, role: role.role, shape: role.shape, required: role.required))
            }
        }
        return tensors
    }

    /// The checkpoint keys of the float tensors in `selection`, in node order, each once.
    /// These are the keys `ModelParameters` arithmetic reads and writes.
    public func floatTensorKeys(_ selection: TensorSelection) -> [String] {
        floatTensors.filter { selection.covers(role: $0.role) }.map(\.key)
    }
}

// MARK: - Construction

extension ModelParameters {
    /// Binds float tensors given in memory to `graph`, e.g. a random direction or a point
    /// computed elsewhere.
    ///
    /// - Parameter floatTensors: values by checkpoint key, each flat in the C order of its
    ///   shape (a conv weight `[out, in/groups, kh, kw]`, a BN `running_var` `[C]`); one entry
    ///   for every float tensor the graph binds (see `ModelGraph.floatTensorKeys(.all)`),
    ///   none for `num_batches_tracked`.
    /// - Throws: an error naming the key for a tensor the graph needs and `floatTensors`
    ///   lacks, a tensor with the wrong number of values, or a key the graph does not bind
    ///   as a float tensor.
    public init(graph: ModelGraph, floatTensors: [String: [Float]]) throws {
        let bound = graph.floatTensors
        for tensor in bound {
            guard let values = floatTensors[tensor.key] else {
                if !tensor.required { continue }
                throw SWAError("missing tensor '\(tensor.key)' (the \(tensor.role) of graph node '\(tensor.node)')")
            }
            guard values.count == tensor.elementCount else {
                throw SWAError("tensor '\(tensor.key)' has \(values.count) values, graph node '\(tensor.node)' expects shape "
                    + "\(TensorInfo.describe(tensor.shape)) (\(tensor.elementCount) values)")
            }
        }
        let keys = Set(bound.map(\.key))
        // Sorted so that the error names the same key on every run.
        if let extra = floatTensors.keys.sorted().first(where: { !keys.contains($0) }) {
            throw SWAError("tensor '\(extra)' is not a float tensor of the model graph")
        }
        self.init(graph: graph, values: floatTensors)
    }

    /// These parameters with some float tensors replaced (e.g. recomputed BN statistics).
    ///
    /// - Parameter replacements: new values by checkpoint key, each with as many values as
    ///   the tensor it replaces.
    /// - Throws: an error naming the key for a key the graph does not bind as a float
    ///   tensor or a tensor whose number of values would change.
    public func replacing(_ replacements: [String: [Float]]) throws -> ModelParameters {
        var result = self
        for key in replacements.keys.sorted() {
            let newValues = replacements[key]!
            guard let old = values[key] else {
                throw SWAError("tensor '\(key)' is not a float tensor of the model graph")
            }
            guard old.count == newValues.count else {
                throw SWAError("tensor '\(key)' has \(old.count) values, the replacement has \(newValues.count)")
            }
            result.set(key, newValues)
        }
        return result
    }
}

// MARK: - Elementwise arithmetic

extension ModelParameters {
    /// `a·x + b·y` over the tensors in `selection`, elementwise in Double, rounded once to Float.
    ///
    /// Tensors outside `selection` are `x`'s, unchanged. With `a = 1 − t`, `b = t` this is
    /// the point w(t) on the line from `x` (t = 0) to `y` (t = 1), both ends exact; with
    /// `a = 1`, `b = −1` it is the direction `x − y`.
    /// - Throws: if `x` and `y` are bound to different graphs or hold tensors of different
    ///   sizes; the error names the first key (or node) that differs.
    public static func linearCombination(_ a: Double, _ x: ModelParameters, _ b: Double, _ y: ModelParameters,
                                         over selection: TensorSelection) throws -> ModelParameters {
        var values = x.values
        for key in try matchingKeys(x, y, selection) {
            let xs = x.values[key]!, ys = y.values[key]!
            values[key] = [Float](unsafeUninitializedCapacity: xs.count) { out, initialized in
                xs.withUnsafeBufferPointer { xs in
                    ys.withUnsafeBufferPointer { ys in
                        for index in 0 ..< xs.count { out[index] = Float(a * Double(xs[index]) + b * Double(ys[index])) }
                    }
                }
                initialized = xs.count
            }
        }
        return ModelParameters(graph: x.graph, values: values)
    }

    /// `self + t·direction` (BLAS's axpy) over the tensors in `selection`, in Double, rounded
    /// once to Float; tensors outside `selection` are `self`'s. Bit for bit
    /// `linearCombination(1, self, t, direction, over: selection)`.
    /// - Throws: as `linearCombination`, naming the first key that differs.
    public func adding(_ t: Double, times direction: ModelParameters, over selection: TensorSelection) throws -> ModelParameters {
        try Self.linearCombination(1, self, t, direction, over: selection)
    }
}

// MARK: - Dot products and norms

extension ModelParameters {
    /// Σᵢ xᵢ·yᵢ over every value of every tensor in `selection`, in Double.
    /// - Throws: as `linearCombination`, naming the first key that differs.
    public static func dot(_ x: ModelParameters, _ y: ModelParameters, over selection: TensorSelection) throws -> Double {
        try tensorDots(x, y, over: selection).reduce(0) { $0 + $1.dot }
    }

    /// Σᵢ xᵢ·yᵢ per tensor in `selection`, in Double, in graph order (`floatTensorKeys`).
    /// - Throws: as `linearCombination`, naming the first key that differs.
    public static func tensorDots(_ x: ModelParameters, _ y: ModelParameters,
                                  over selection: TensorSelection) throws -> [(key: String, dot: Double)] {
        try matchingKeys(x, y, selection).map { key in (key, dotProduct(x.values[key]!, y.values[key]!)) }
    }

    /// The Euclidean norm √(Σᵢ wᵢ²) over every value of every tensor in `selection`, in Double.
    public func norm(over selection: TensorSelection) -> Double {
        tensorSumsOfSquares(selection).reduce(0) { $0 + $1.sum }.squareRoot()
    }

    /// The Euclidean norm of each tensor in `selection`, in Double, in graph order
    /// (`floatTensorKeys`); e.g. to scale a random direction tensor by tensor.
    public func tensorNorms(over selection: TensorSelection) -> [(key: String, norm: Double)] {
        tensorSumsOfSquares(selection).map { ($0.key, $0.sum.squareRoot()) }
    }

    /// Σᵢ wᵢ² per tensor in `selection`, in graph order.
    private func tensorSumsOfSquares(_ selection: TensorSelection) -> [(key: String, sum: Double)] {
        graph.floatTensorKeys(selection).compactMap { key in values[key].map { (key, dotProduct($0, $0)) } }
    }
}

// MARK: - Checking two parameter sets against each other

extension ModelParameters {
    /// The keys in `selection` after checking that `x` and `y` have one graph and tensors
    /// of equal sizes.
    private static func matchingKeys(_ x: ModelParameters, _ y: ModelParameters, _ selection: TensorSelection) throws -> [String] {
        guard x.graph == y.graph else {
            throw SWAError("the two parameter sets are bound to different graphs: \(x.graph.firstDifference(from: y.graph))")
        }
        let keys = x.graph.floatTensorKeys(selection)
        for key in keys {
            switch (x.values[key]?.count, y.values[key]?.count) {
            case let (first?, second?) where first == second:
                continue
            case let (first?, second?):
                throw SWAError("tensor '\(key)' has \(first) values in the first parameter set and \(second) in the second")
            case (nil, _):
                throw SWAError("tensor '\(key)' is missing from the first parameter set")
            case (_, nil):
                throw SWAError("tensor '\(key)' is missing from the second parameter set")
            }
        }
        return keys
    }
}

extension ModelGraph {
    /// Where `self` and `other` first differ, for an error message: a float tensor only one
    /// binds or binds with another shape, else the first node that differs.
    func firstDifference(from other: ModelGraph) -> String {
        let mine = floatTensors, theirs = other.floatTensors
        let theirShapes = Dictionary(theirs.map { ($0.key, $0.shape) }, uniquingKeysWith: { first, _ in first })
        let myKeys = Set(mine.map(\.key))
        for tensor in mine {
            guard let shape = theirShapes[tensor.key] else {
                return "tensor '\(tensor.key)' is only in the first graph"
            }
            if shape != tensor.shape {
                return "tensor '\(tensor.key)' has shape \(TensorInfo.describe(tensor.shape)) in the first graph, "
                    + "\(TensorInfo.describe(shape)) in the second"
            }
        }
        if let tensor = theirs.first(where: { !myKeys.contains($0.key) }) {
            return "tensor '\(tensor.key)' is only in the second graph"
        }
        for (mine, theirs) in zip(nodes, other.nodes) where mine != theirs {
            return "node '\(mine.name)' differs (\(mine.operation.name) in the first graph, "
                + "'\(theirs.name)' \(theirs.operation.name) in the second)"
        }
        if nodes.count != other.nodes.count { return "the first graph has \(nodes.count) nodes, the second \(other.nodes.count)" }
        return "input \(inputName) \(inputShape) → output \(outputName) in the first graph, "
            + "input \(other.inputName) \(other.inputShape) → output \(other.outputName) in the second"
    }
}

/// Σᵢ xᵢ·yᵢ in Double over two tensors of one size (`Relaxed` so the loop vectorises; the
/// order is fixed by the compiled code, so the result is the same on every run).
private func dotProduct(_ x: [Float], _ y: [Float]) -> Double {
    precondition(x.count == y.count)
    return x.withUnsafeBufferPointer { x in
        y.withUnsafeBufferPointer { y in
            var sum = 0.0
            for index in 0 ..< x.count { sum = Relaxed.multiplyAdd(Double(x[index]), Double(y[index]), sum) }
            return sum
        }
    }
}
