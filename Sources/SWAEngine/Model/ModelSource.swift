import SWAFormats
/// Where a model's graph comes from, in the order of docs/GRAPH.md: `--graph FILE`, `--arch NAME`,
/// else the checkpoint's own `swa.graph` metadata.
public enum ModelSource: Sendable, Equatable {
    case graphFile(String)
    case preset(String)
    case metadata

    public init(graphFile: String?, arch: String?) {
        if let graphFile { self = .graphFile(graphFile) } else if let arch { self = .preset(arch) } else { self = .metadata }
    }

    /// Builds the graph for `checkpoint`; errors say which source failed and how to fix it
    /// (for a preset whose keys the checkpoint lacks, the preset whose keys match best).
    /// - Parameters:
    ///   - checkpoint: the model; nil builds a graph file or a preset without one (10 classes).
    ///   - inputShape: one sample's shape for presets (CIFAR's `[3, 32, 32]` when nil).
    public func graph(for checkpoint: LoadedCheckpoint?, inputShape: [Int]? = nil) throws -> ModelGraph {
        switch self {
        case let .graphFile(path):
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw SWAError(file: path, "cannot read the graph file: \(error.localizedDescription)")
            }
            return try ModelGraph(json: text, source: path)
        case let .preset(name):
            let preset = try ArchitecturePreset(name: name)
            guard let checkpoint else { return try preset.graph(classes: 10, inputShape: inputShape ?? [3, 32, 32]) }
            let metadata = checkpoint.header.checkpointMetadata
            if let mismatch = preset.mismatch(with: checkpoint.header, name: name, hasGraphMetadata: metadata.graphJSON != nil) {
                throw SWAError(file: checkpoint.path, mismatch)
            }
            guard let classifier = checkpoint.header.tensor(named: preset.classifierWeightKey), classifier.shape.count == 2 else {
                throw SWAError(file: checkpoint.path, "--arch \(name): no 2-D tensor '\(preset.classifierWeightKey)' to take the class count from; is this a \(name) checkpoint?")
            }
            return try preset.graph(classes: classifier.shape[0], inputShape: inputShape ?? [3, 32, 32])
        case .metadata:
            guard let checkpoint else { throw SWAError("no model given: name the network with --arch NAME or --graph FILE.json") }
            guard let text = checkpoint.header.checkpointMetadata.graphJSON else {
                throw SWAError(file: checkpoint.path, "has no swa.graph metadata; name the model with --arch NAME or --graph FILE.json")
            }
            return try ModelGraph(json: text, source: "\(checkpoint.path) (swa.graph)")
        }
    }

    /// How the source is described in messages and reports.
    public var description: String {
        switch self {
        case let .graphFile(path): "graph \(path)"
        case let .preset(name): "--arch \(name)"
        case .metadata: "swa.graph metadata"
        }
    }
}

import Foundation
