import SWAFormats

/// Why two checkpoints that should be one run's cannot be averaged together, when their
/// tensor names differ: the same model saved under a wrapper's prefix (`module.`) with the flag
/// that strips it, or "different models" when fewer than 80% of all their names are common
/// (naming both files and examples of keys only one holds). Nil when both hold the same
/// names or differ in a few (then the per-tensor checks name the first).
///
/// Used where such files meet: two files at one training position (discovery) and inputs
/// whose tensors differ (averaging), so that the message names the real problem.
func differentModelsMessage(_ entry: CheckpointEntry, comparedWith reference: CheckpointEntry) -> String? {
    let names = entry.header.tensors.map(\.name)
    let referenceNames = reference.header.tensors.map(\.name)
    let set = Set(names), referenceSet = Set(referenceNames)
    guard set != referenceSet else { return nil }
    for (keys, other, file) in [(names, referenceNames, entry.path), (referenceNames, names, reference.path)] {
        if let prefix = sharedPrefix(of: keys, over: other) {
            return "\(entry.path) and \(reference.path) hold the same tensors, but every key of \(file) starts with '\(prefix)' "
                + "(saved from inside nn.DataParallel, DDP or torch.compile?): pass --strip-prefix \(prefix)"
        }
    }
    // A few keys apart is one model with a damaged or edited file: the per-tensor messages say more.
    let common = set.intersection(referenceSet).count
    guard Double(common) < 0.8 * Double(set.union(referenceSet).count) else { return nil }
    let onlyHere = names.filter { !referenceSet.contains($0) }
    let onlyThere = referenceNames.filter { !set.contains($0) }
    var parts: [String] = []
    if let first = onlyHere.first { parts.append("\(counted(onlyHere.count, "tensor")) only in \(entry.path) (e.g. '\(first)')") }
    if let first = onlyThere.first { parts.append("\(counted(onlyThere.count, "tensor")) only in \(reference.path) (e.g. '\(first)')") }
    return "\(entry.path) and \(reference.path) look like different models: \(parts.joined(separator: ", ")); "
        + "keep each model's checkpoints in a folder of its own, or name the files to use"
}

/// The prefix every one of `keys` has and that, removed, gives exactly `other`; nil if none.
private func sharedPrefix(of keys: [String], over other: [String]) -> String? {
    guard keys.count == other.count, let first = keys.first, let target = other.first(where: { first.hasSuffix("." + $0) }) else { return nil }
    let prefix = String(first.dropLast(target.count))
    let stripped = Set(keys.compactMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil })
    return stripped == Set(other) ? prefix : nil
}

/// `1 tensor`, `3 tensors`: a count with its noun, plural when the count is not 1 (messages and summaries).
public func counted(_ count: Int, _ noun: String, _ plural: String? = nil) -> String {
    "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
}
