import SWAEngine
import SWAFormats

/// A checkpoint in memory with its graph resolved and its weights bound: what the BN update
/// and the evaluation run forward.
public struct LoadedModel: Sendable {
    /// The checkpoint as read (every tensor, every metadata key).
    public var checkpoint: LoadedCheckpoint
    /// The network, from `--graph`, `--arch` or the checkpoint's `swa.graph` (docs/GRAPH.md).
    public var graph: ModelGraph
    /// The graph's tensors as Float32, checked key by key against the graph.
    public var parameters: ModelParameters

    /// Reads `path` (a PyTorch file as `options` say), resolves its graph from `source` and binds the weights.
    /// - Throws: one line naming the file and the tensor or graph node at fault.
    public init(path: String, source: ModelSource, options: ArchiveOptions = .none) throws {
        let checkpoint = try LoadedCheckpoint(path: path, options: options)
        try self.init(checkpoint: checkpoint, graph: source.graph(for: checkpoint))
    }

    /// Binds `checkpoint` to an already resolved `graph` (ensemble members share the model's).
    public init(checkpoint: LoadedCheckpoint, graph: ModelGraph) throws {
        self.checkpoint = checkpoint
        self.graph = graph
        self.parameters = try ModelParameters(graph: graph, checkpoint: checkpoint)
    }

    /// The checkpoint's path, as the user gave it.
    public var path: String { checkpoint.path }

    /// Its `swa.*` metadata.
    public var metadata: CheckpointMetadata { checkpoint.header.checkpointMetadata }

    /// Number of classes: the size of one sample's output.
    public var classCount: Int { graph.outputShape.reduce(1, *) }
}
