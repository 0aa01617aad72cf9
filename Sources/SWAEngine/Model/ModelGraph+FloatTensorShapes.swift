import SWAFormats

extension ModelGraph {
    /// The float tensors in `selection` with their shapes, in node order, each key once: the
    /// keys of `floatTensorKeys(selection)`, for code outside the engine that builds tensors
    /// of its own (random directions in weight space, a plane's basis).
    /// - Returns: `(key, shape)` pairs; `shape` as the graph binds it (a conv weight
    ///   `[out, in/groups, kh, kw]`, a bias `[out]`).
    public func floatTensorShapes(_ selection: TensorSelection) -> [(key: String, shape: [Int])] {
        floatTensors.filter { selection.covers(role: $0.role) }.map { ($0.key, $0.shape) }
    }
}
