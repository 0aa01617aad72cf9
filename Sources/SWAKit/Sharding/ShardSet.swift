import SWAFormats

/// Checks a set of partials belongs to one run and is complete, returned in shard order.
///
/// Refusals, one line each (`SWAError`), naming the file(s): another kind; other inputs
/// (names the differing input); other options (names the differing option and both values);
/// a different shard count; a duplicate shard (names both files); missing shards (lists
/// them, e.g. "missing shards 2/7, 5/7"). The first partial given is the reference the others
/// are compared with.
public func orderedCompleteShards(_ partials: [(path: String, header: PartialResultHeader)]) throws -> [(path: String, header: PartialResultHeader)] {
    guard let first = partials.first else { throw SWAError("--merge: no partial results given") }
    let reference = first.header
    for partial in partials.dropFirst() {
        try checkSameRun(partial, as: first)
    }
    let count = reference.shard.count
    var byIndex: [Int: (path: String, header: PartialResultHeader)] = [:]
    for partial in partials {
        if let earlier = byIndex[partial.header.shard.index] {
            throw SWAError("duplicate shard \(partial.header.shard): \(earlier.path) and \(partial.path)")
        }
        byIndex[partial.header.shard.index] = partial
    }
    let missing = (0..<count).filter { byIndex[$0] == nil }
    if !missing.isEmpty {
        let list = missing.map { "\($0)/\(count)" }.joined(separator: ", ")
        // No file is at fault; the ones given say which run is incomplete.
        let given = partials.prefix(3).map(\.path).joined(separator: ", ") + (partials.count > 3 ? ", ..." : "")
        throw SWAError("--merge: missing shard\(missing.count == 1 ? "" : "s") \(list) (\(partials.count) of \(count) partials given: \(given))")
    }
    return (0..<count).map { byIndex[$0]! }
}

/// `orderedCompleteShards`, also refusing partials of another kind than `kind` (`bn` for
/// swa-bn-update's merge, ...), with a message naming the tool that writes them.
public func orderedCompleteShards(_ partials: [(path: String, header: PartialResultHeader)], kind: String) throws -> [(path: String, header: PartialResultHeader)] {
    for partial in partials where partial.header.identity.kind != kind {
        let writer = partial.header.tool.map { " (written by \($0))" } ?? ""
        throw SWAError(file: partial.path, "is a '\(partial.header.identity.kind)' partial result\(writer), this merge needs '\(kind)' partials")
    }
    return try orderedCompleteShards(partials)
}

private func checkSameRun(_ partial: (path: String, header: PartialResultHeader), as first: (path: String, header: PartialResultHeader)) throws {
    let mine = partial.header.identity, theirs = first.header.identity
    guard mine.kind == theirs.kind else {
        throw SWAError(file: partial.path, "is a '\(mine.kind)' partial result but \(first.path) is a '\(theirs.kind)' one")
    }
    guard partial.header.shard.count == first.header.shard.count else {
        throw SWAError(file: partial.path, "is shard \(partial.header.shard) of a \(partial.header.shard.count)-shard run,"
            + " but \(first.path) is shard \(first.header.shard) of a \(first.header.shard.count)-shard run")
    }
    guard mine.inputs.count == theirs.inputs.count else {
        throw SWAError(file: partial.path, "comes from \(mine.inputs.count) inputs, but \(first.path) from \(theirs.inputs.count): not the same run")
    }
    for (index, (input, reference)) in zip(mine.inputs, theirs.inputs).enumerated() where input.sha256 != reference.sha256 {
        throw SWAError(file: partial.path, "input \(index + 1) '\(input.name)' (SHA-256 \(input.sha256.prefix(12))…) differs from"
            + " '\(reference.name)' (SHA-256 \(reference.sha256.prefix(12))…) in \(first.path): not the same run")
    }
    for key in Set(mine.options.keys).union(theirs.options.keys).sorted() where mine.options[key] != theirs.options[key] {
        throw SWAError(file: partial.path, "option \(key) is \(describe(mine.options[key])), but \(describe(theirs.options[key]))"
            + " in \(first.path): not the same run")
    }
}

private func describe(_ value: String?) -> String {
    value.map { "'\($0)'" } ?? "unset"
}
