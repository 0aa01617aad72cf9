/// What a `torch.save` file holds, for `swa-inspect`: where the tensors were found, what else
/// the pickled object contains, and the globals that were recorded but never run.
public struct PyTorchStructure: Codable, Sendable {
    /// One entry of the top-level object: its key and a short description, e.g.
    /// `("optimizer", "dict of 2 entries")`, `("args", "argparse.Namespace object (not run)")`.
    public struct Entry: Codable, Sendable, Equatable {
        public var key: String
        public var summary: String
    }

    /// `zip` (PyTorch 1.6 and later) or `legacy` (before 1.6).
    public var layout: String
    /// Dotted path of the state dict the tensors come from; "" when it is the top-level object.
    public var stateDictKey: String
    /// Prefixes stripped from every tensor name (`module.`, `_orig_mod.`, `--strip-prefix`).
    public var strippedPrefixes: [String]
    /// Entries of the state dict left out (`n_averaged`).
    public var dropped: [String]
    /// The top-level object's entries when it is a dict (else one entry with key "").
    public var entries: [Entry]
    /// Globals called by the pickle that were recorded and never imported or called.
    public var inertGlobals: [String]

    init(file: PyTorchFile, found: StateDictLocator.Result) {
        layout = file.format == .pytorchZip ? "zip" : "legacy"
        stateDictKey = found.location
        strippedPrefixes = found.strippedPrefixes
        dropped = found.dropped
        inertGlobals = file.heap.inertGlobals.map(\.description)
        let heap = file.heap
        if let top = heap.dictionary(file.root) {
            entries = top.entries.map { Entry(key: heap.text($0.key) ?? heap.describeScalar($0.key), summary: Self.summary($0.value, heap)) }
        } else {
            entries = [Entry(key: "", summary: Self.summary(file.root, heap))]
        }
    }

    /// A one-phrase description of a value.
    static func summary(_ value: PickleValue, _ heap: PickleHeap) -> String {
        guard case .ref = value, let node = heap.node(value) else { return heap.describeScalar(value) }
        switch node {
        case .dict(let dictionary):
            let tensors = dictionary.entries.filter { entry in
                if case .native(let native)? = heap.node(entry.value) { return native is TorchTensorReference }
                return false
            }.count
            let entries = dictionary.count == 1 ? "dict of 1 entry" : "dict of \(dictionary.count) entries"
            return tensors > 0 ? "\(entries), \(tensors) tensor\(tensors == 1 ? "" : "s")" : entries
        case .list(let elements): return "list of \(elements.count)"
        case .tuple(let elements): return "tuple of \(elements.count)"
        case .set(let elements): return "set of \(elements.count)"
        case .global(let global): return "\(global) (a name, not loaded)"
        case .object(let object): return "\(object.callee) object (not run)"
        case .native(let native):
            if let tensor = native as? TorchTensorReference { return "tensor \(tensor.storage.dtype.name) \(TensorInfo.describe(tensor.shape))" }
            return "storage"
        }
    }
}
