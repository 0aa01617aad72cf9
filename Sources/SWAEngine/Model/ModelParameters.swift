import SWAFormats
/// A graph bound to a checkpoint's tensors: every key the graph names, checked and converted
/// to `Float` (F32, F16, BF16 and F64 weights are all computed in Float32).
///
/// Parameters can also be built from values in memory and combined (`a·x + b·y`, `x + t·d`,
/// dot products and norms): ModelParameters+Arithmetic.swift.
public struct ModelParameters: Sendable {
    /// The graph the tensors are bound to.
    public let graph: ModelGraph
    /// Float tensors by checkpoint key, each flat in the C order of its shape in the graph
    /// (a conv weight `[out, in/groups, kh, kw]`); no `num_batches_tracked` counters.
    public private(set) var values: [String: [Float]]

    /// Binds `checkpoint` to `graph`. Errors name the file and the key: a key the graph needs
    /// and the checkpoint lacks, a tensor the graph does not use, a wrong shape or dtype.
    public init(graph: ModelGraph, checkpoint: LoadedCheckpoint) throws {
        self.graph = graph
        let file = checkpoint.path
        var values: [String: [Float]] = [:]
        var used = Set<String>()
        for node in graph.nodes {
            for role in node.operation.tensorRoles() {
                guard let key = node.tensors[role.role] else { continue }
                used.insert(key)
                guard let info = checkpoint.header.tensor(named: key) else {
                    if !role.required { continue }
                    let hint = sharedPrefixHint(missing: key, keys: checkpoint.header.tensors.map(\.name)).map { "; " + $0 } ?? ""
                    throw SWAError(file: file, "missing tensor '\(key)' (the \(role.role) of graph node '\(node.name)')" + hint)
                }
                guard info.shape == role.shape else {
                    throw SWAError(file: file, "tensor '\(key)' has shape \(info.shapeDescription), graph node '\(node.name)' expects \(TensorInfo.describe(role.shape))")
                }
                if role.role == "num_batches_tracked" {
                    guard !info.dtype.isFloatingPoint, info.dtype != .bool else {
                        throw SWAError(file: file, "tensor '\(key)' has dtype \(info.dtype.name), expected an integer type")
                    }
                    continue
                }
                guard let floats = checkpoint.floats(key) else {
                    throw SWAError(file: file, "tensor '\(key)' has dtype \(info.dtype.name), expected a float type (F32, F16, BF16, F64)")
                }
                try Self.checkFinite(floats, key: key, info: info, checkpoint: checkpoint)
                values[key] = floats
            }
        }
        for info in checkpoint.header.tensors where !used.contains(info.name) {
            throw SWAError(file: file, "tensor '\(info.name)' is not used by the model graph (wrong --arch or --graph?)")
        }
        self.values = values
    }

    /// Refuses weights holding NaN or ±inf, which would turn every output into NaN silently
    /// (docs/RELIABILITY.md, "Integrity checks"); names the tensor, how many and the first.
    static func checkFinite(_ floats: [Float], key: String, info: TensorInfo, checkpoint: LoadedCheckpoint) throws {
        guard floats.contains(where: { !$0.isFinite }) else { return }
        var stored = NonFiniteValues()
        if let bytes = checkpoint.tensors[key] {
            bytes.withUnsafeBytes { stored.scan($0.baseAddress!, dtype: info.dtype, count: info.elementCount, firstElement: 0) }
        }
        if stored.count > 0 {
            throw SWAError(file: checkpoint.path, "tensor '\(key)' holds \(stored.summary); see swa-inspect")
        }
        let first = floats.firstIndex { !$0.isFinite }!
        throw SWAError(file: checkpoint.path, "tensor '\(key)' holds values too large for Float32 (first at element \(first))")
    }

    /// A graph with weights given directly (tests, random initialisation); no checks beyond the
    /// graph's. The public, checked way is `init(graph:floatTensors:)`.
    init(graph: ModelGraph, values: [String: [Float]]) {
        self.graph = graph
        self.values = values
    }

    /// Bytes of the Float32 values: 4 × the graph's float elements (what holding this model
    /// in memory costs, besides the dictionary).
    public var byteCount: Int { values.values.reduce(0) { $0 + $1.count * MemoryLayout<Float>.size } }

    /// Replaces a float tensor (e.g. recomputed BN statistics); the shape must not change.
    mutating func set(_ key: String, _ newValues: [Float]) {
        precondition(values[key]?.count == newValues.count, "tensor '\(key)' changes size")
        values[key] = newValues
    }
}

