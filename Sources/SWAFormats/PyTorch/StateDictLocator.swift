/// Finds the state dict in an unpickled `torch.save` object (docs/FORMAT.md, "PyTorch files").
///
/// Order: the `--key` path if given; else the root if it is a dict of tensors; else the first
/// of `state_dict`, `model_state`, `model`, `module` that is one; else the only dict of
/// tensors found in the object (two or more are ambiguous: an error listing them). Then
/// AveragedModel's `n_averaged` is dropped and a `module.` or `_orig_mod.` prefix shared by
/// every name is stripped (or `--strip-prefix`'s prefix wherever present).
struct StateDictLocator {
    let heap: PickleHeap
    let root: PickleValue
    let path: String

    /// Keys searched in the root dict, in order (DESIGN §2).
    static let preferredKeys = ["state_dict", "model_state", "model", "module"]
    /// Prefixes stripped when every name has them: DistributedDataParallel, then torch.compile.
    static let automaticPrefixes = ["module.", "_orig_mod."]
    /// How deep the search for candidate dicts goes below the root.
    static let searchDepth = 4

    /// The chosen tensors, in the dict's order, after dropping and stripping.
    struct Result {
        /// Where the state dict was: "" for the root, else a dotted path.
        var location: String
        var tensors: [(name: String, tensor: TorchTensorReference)]
        /// Prefixes removed from every name, in order.
        var strippedPrefixes: [String]
        /// Entries left out (`n_averaged`).
        var dropped: [String]
    }

    func locate(_ options: ArchiveOptions) throws -> Result {
        let (location, dictionary) = try find(options.key)
        var tensors: [(name: String, tensor: TorchTensorReference)] = []
        var dropped: [String] = []
        for (key, value) in dictionary.entries {
            guard let name = heap.text(key), let tensor = tensor(value) else { continue }
            if name == "n_averaged" {
                dropped.append(name)
                continue
            }
            tensors.append((name, tensor))
        }
        var stripped: [String] = []
        if let prefix = options.stripPrefix {
            guard tensors.contains(where: { $0.name.hasPrefix(prefix) }) else {
                throw SWAError(file: path, "no tensor name starts with --strip-prefix '\(prefix)' (e.g. '\(tensors.first?.name ?? "")')")
            }
            tensors = tensors.map { ($0.name.hasPrefix(prefix) ? String($0.name.dropFirst(prefix.count)) : $0.name, $0.tensor) }
            stripped.append(prefix)
        } else {
            for prefix in Self.automaticPrefixes where tensors.allSatisfy({ $0.name.hasPrefix(prefix) && $0.name.count > prefix.count }) {
                tensors = tensors.map { (String($0.name.dropFirst(prefix.count)), $0.tensor) }
                stripped.append(prefix)
            }
        }
        var seen: Set<String> = []
        for entry in tensors where !seen.insert(entry.name).inserted {
            throw SWAError(file: path, "two tensors are named '\(entry.name)' after stripping \(stripped.map { "'\($0)'" }.joined(separator: ", "))")
        }
        return Result(location: location, tensors: tensors, strippedPrefixes: stripped, dropped: dropped)
    }

    // MARK: - Finding the dict

    private func find(_ key: String?) throws -> (String, PickleDictionary) {
        if let key { return try follow(key) }
        if let dictionary = tensorDictionary(root) { return ("", dictionary) }
        if let top = heap.dictionary(root) {
            for key in Self.preferredKeys {
                guard let value = top[key] else { continue }
                if let dictionary = tensorDictionary(value) { return (key, dictionary) }
                if let global = inertGlobal(value) {
                    throw SWAError(file: path, "'\(key)' is built by \(global), a Python global that is never imported or called here; the tensors cannot be reached without running it")
                }
            }
        }
        let candidates = self.candidates()
        if candidates.count == 1 { return candidates[0] }
        if candidates.count > 1 {
            let shown = candidates.prefix(10).map { "'\($0.0)'" }.joined(separator: ", ")
            throw SWAError(file: path, "ambiguous: \(candidates.count) dicts of tensors (\(shown)\(candidates.count > 10 ? ", ..." : "")); choose one with --key")
        }
        if let global = globalHidingTensors() {
            throw SWAError(file: path, "the tensors are only reachable through \(global), a Python global that is never imported or called here")
        }
        throw SWAError(file: path, "no tensors in this file\(describeRoot())")
    }

    /// Follows `--key a.b.c` (a component may itself contain dots: the longest matching key wins).
    private func follow(_ key: String) throws -> (String, PickleDictionary) {
        let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var value = root
        var walked: [String] = []
        var index = 0
        while index < components.count {
            if let dictionary = heap.dictionary(value) {
                var matched = false
                for end in stride(from: components.count, to: index, by: -1) {
                    let candidate = components[index..<end].joined(separator: ".")
                    if let next = dictionary[candidate] {
                        value = next
                        walked.append(candidate)
                        index = end
                        matched = true
                        break
                    }
                }
                if !matched {
                    let keys = dictionary.entries.compactMap { heap.text($0.key) }.prefix(12).map { "'\($0)'" }.joined(separator: ", ")
                    let place = walked.isEmpty ? "the top level" : "'\(walked.joined(separator: "."))'"
                    throw SWAError(file: path, "--key '\(key)': no '\(components[index])' at \(place) (keys there: \(keys))")
                }
            } else if let elements = heap.sequence(value), let position = Int(components[index]), elements.indices.contains(position) {
                value = elements[position]
                walked.append(components[index])
                index += 1
            } else if let global = inertGlobal(value) {
                throw SWAError(file: path, "--key '\(key)': '\(walked.joined(separator: "."))' is built by \(global), a Python global that is never imported or called here")
            } else {
                throw SWAError(file: path, "--key '\(key)': '\(walked.joined(separator: "."))' is not a dict")
            }
        }
        guard let dictionary = tensorDictionary(value) else {
            if let global = inertGlobal(value) {
                throw SWAError(file: path, "--key '\(key)' is built by \(global), a Python global that is never imported or called here")
            }
            throw SWAError(file: path, "--key '\(key)' is not a dict of tensors")
        }
        return (walked.joined(separator: "."), dictionary)
    }

    /// A dict whose values are all tensors (at least one), keyed by strings.
    private func tensorDictionary(_ value: PickleValue) -> PickleDictionary? {
        guard let dictionary = heap.dictionary(value), dictionary.count > 0 else { return nil }
        for (key, entry) in dictionary.entries {
            guard heap.text(key) != nil, tensor(entry) != nil else { return nil }
        }
        return dictionary
    }

    private func tensor(_ value: PickleValue) -> TorchTensorReference? {
        if case .native(let native)? = heap.node(value) { return native as? TorchTensorReference }
        return nil
    }

    private func inertGlobal(_ value: PickleValue) -> PickleGlobal? {
        if case .object(let object)? = heap.node(value) { return object.callee }
        return nil
    }

    /// Dicts of tensors below the root (not inside inert objects), breadth first, with paths.
    private func candidates() -> [(String, PickleDictionary)] {
        var found: [(String, PickleDictionary)] = []
        var visited: Set<Int> = []
        var level: [(String, PickleValue)] = [("", root)]
        for _ in 0..<Self.searchDepth {
            var next: [(String, PickleValue)] = []
            for (prefix, value) in level {
                guard case .ref(let index) = value, visited.insert(index).inserted else { continue }
                if !prefix.isEmpty, let dictionary = tensorDictionary(value) {
                    found.append((prefix, dictionary))
                    continue
                }
                let join = { (part: String) in prefix.isEmpty ? part : prefix + "." + part }
                if let dictionary = heap.dictionary(value) {
                    for (key, child) in dictionary.entries {
                        next.append((join(heap.text(key) ?? heap.describeScalar(key)), child))
                    }
                } else if let elements = heap.sequence(value) {
                    for (position, child) in elements.enumerated() { next.append((join(String(position)), child)) }
                }
            }
            level = next
        }
        return found
    }

    /// The first inert global under which a tensor lies (walks the whole graph once).
    private func globalHidingTensors() -> PickleGlobal? {
        var visited: Set<Int> = []
        var pending: [(PickleValue, PickleGlobal?)] = [(root, nil)]
        while let (value, owner) = pending.popLast() {
            guard case .ref(let index) = value, visited.insert(index).inserted else { continue }
            switch heap.nodes[index] {
            case .native(let native) where native is TorchTensorReference:
                if let owner { return owner }
            case .tuple(let elements), .list(let elements), .set(let elements):
                pending.append(contentsOf: elements.map { ($0, owner) })
            case .dict(let dictionary):
                pending.append(contentsOf: dictionary.entries.map { ($0.value, owner) })
            case .object(let object):
                let mine = owner ?? object.callee
                pending.append(contentsOf: (object.arguments + object.items + (object.state.map { [$0] } ?? [])).map { ($0, mine) })
            default:
                break
            }
        }
        return nil
    }

    private func describeRoot() -> String {
        if let top = heap.dictionary(root) {
            guard top.count > 0 else { return " (it holds an empty dict)" }
            let keys = top.entries.prefix(12).map { heap.text($0.key) ?? heap.describeScalar($0.key) }
            return " (it holds \(keys.joined(separator: ", "))\(top.count > 12 ? ", ..." : ""))"
        }
        if let global = inertGlobal(root) { return " (it holds an object built by \(global))" }
        return ""
    }
}
