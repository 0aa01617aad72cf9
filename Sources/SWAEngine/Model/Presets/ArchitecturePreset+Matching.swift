import SWAFormats

// MARK: - Which preset a checkpoint holds

extension ArchitecturePreset {
    /// The preset names whose state_dict keys equal `keys` best, for the message of a wrong
    /// `--arch`: VGG16/19 (BN), PreResNet of depths 8 to 38 (6n+2) and 47 to 362 (9n+2),
    /// WideResNet of depths 10 to 64 with the widen factor read from `layer1.0.conv1.weight`.
    ///
    /// Keys are compared as sets, BN counters (`num_batches_tracked`) left out; the score is
    /// |common| / |union| (1 for the same keys). Builds each candidate graph: call it on error
    /// paths only (a few milliseconds).
    /// - Returns: the best candidate and its score, nil when no candidate shares a key.
    public static func bestMatch(for header: SafetensorsHeader) -> (name: String, score: Double)? {
        let keys = Set(header.tensors.map(\.name).filter { !$0.hasSuffix("num_batches_tracked") })
        let widen = header.tensor(named: "layer1.0.conv1.weight").map { max(1, $0.shape.first.map { $0 / 16 } ?? 1) } ?? 1
        var names = ["vgg16", "vgg16bn", "vgg19", "vgg19bn"]
        names += stride(from: 8, through: 38, by: 6).map { "preresnet\($0)" }
        names += stride(from: 47, through: 362, by: 9).map { "preresnet\($0)" }
        names += stride(from: 10, through: 64, by: 6).map { "wrn\($0)x\(widen)" }
        var best: (name: String, score: Double)?
        for name in names {
            guard let preset = try? ArchitecturePreset(name: name), let graph = try? preset.graph(classes: 10) else { continue }
            let presetKeys = Set(graph.tensorKeys.filter { !$0.hasSuffix("num_batches_tracked") })
            let common = presetKeys.intersection(keys).count
            guard common > 0 else { continue }
            let score = Double(common) / Double(presetKeys.union(keys).count)
            if score > (best?.score ?? 0) { best = (name, score) }
        }
        return best
    }

    /// Nil when the checkpoint's keys are this preset's; otherwise why not and what to pass instead.
    /// - Parameters:
    ///   - name: the preset as the user spelled it.
    ///   - hasGraphMetadata: whether the checkpoint carries its own `swa.graph` (then `--arch` is not needed).
    public func mismatch(with header: SafetensorsHeader, name: String, hasGraphMetadata: Bool) -> String? {
        guard let graph = try? graph(classes: 10) else { return nil }
        let wanted = graph.tensorKeys.filter { !$0.hasSuffix("num_batches_tracked") }
        let keys = Set(header.tensors.map(\.name))
        let missing = wanted.filter { !keys.contains($0) }
        guard !missing.isEmpty else { return nil }
        var message = "--arch \(name) does not fit: \(missing.count) of its \(wanted.count) tensors are missing, e.g. '\(missing[0])'"
        if hasGraphMetadata {
            message += "; the checkpoint carries its own graph (swa.graph): leave out --arch"
        } else if let best = Self.bestMatch(for: header), best.score >= 0.5, best.name != name.lowercased() {
            message += best.score == 1 ? "; its keys are those of --arch \(best.name)"
                : "; its keys are closest to --arch \(best.name) (\(Int((best.score * 100).rounded()))% shared)"
        } else {
            message += "; it matches no preset: describe it with --graph FILE.json (docs/GRAPH.md)"
        }
        return message
    }
}

// MARK: - Keys saved under a wrapper's prefix

/// `; every key of the checkpoint starts with 'module.' (...): pass --strip-prefix module.`
/// when `missing` is found under a prefix that all of `keys` share (a model saved from inside
/// `nn.DataParallel`, DDP or `torch.compile`); nil otherwise.
public func sharedPrefixHint(missing: String, keys: [String]) -> String? {
    guard let match = keys.first(where: { $0.hasSuffix("." + missing) }) else { return nil }
    let prefix = String(match.dropLast(missing.count))
    guard keys.allSatisfy({ $0.hasPrefix(prefix) }) else { return nil }
    return "every key of the checkpoint starts with '\(prefix)' ('\(match)' is there), as when a model is saved "
        + "from inside nn.DataParallel, DDP or torch.compile: pass --strip-prefix \(prefix)"
}
