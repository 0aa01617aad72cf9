import SWAFormats

/// The backend of every convolution node of one graph, chosen when the forward pass is built,
/// and the oneDNN primitives of those that use oneDNN, created on first use per batch size and
/// kept for the life of the forward pass (a batch of another size, such as the last one, gets
/// its own primitive).
///
/// Like `ActivationPool`, a reference type that a `ForwardPass` owns; one pass at a time.
final class ConvolutionLayers {
    /// Per node index: the backend, for conv2d nodes only.
    let backends: [Int: ConvolutionBackend]
    private var primitives: [Key: OneDNNConvolution] = [:]
    /// The staged activations of every primitive: layers run one at a time.
    private let staging = OneDNNStagingArea()
    /// Shapes oneDNN declined (no implementation): they run on `conv2d`.
    private var declined: Set<Key> = []

    private struct Key: Hashable {
        var node: Int
        var batch: Int
    }

    init(graph: ModelGraph, policy: ConvolutionBackendPolicy) {
        var backends: [Int: ConvolutionBackend] = [:]
        for (index, node) in graph.nodes.enumerated() {
            guard case let .conv2d(geometry, _) = node.operation else { continue }
            let input = graph.shapes[node.inputs[0]]!
            backends[index] = policy.backend(for: geometry, height: input[1], width: input[2])
        }
        self.backends = backends
    }

    /// Whether any layer runs on oneDNN.
    var usesOneDNN: Bool { backends.values.contains { $0 != .blas } }

    /// The oneDNN primitive for node `index` at `batch`, or nil when the node runs on `conv2d`.
    func primitive(node index: Int, geometry: Conv2dGeometry, batch: Int, height: Int, width: Int,
                   hasBias: Bool) -> OneDNNConvolution? {
        guard case let .oneDNN(layout) = backends[index] else { return nil }
        let key = Key(node: index, batch: batch)
        if let primitive = primitives[key] { return primitive }
        guard !declined.contains(key) else { return nil }
        guard let primitive = OneDNNConvolution(geometry: geometry, batch: batch, height: height, width: width,
                                                hasBias: hasBias, layout: layout, staging: staging) else {
            declined.insert(key)
            return nil
        }
        primitives[key] = primitive
        return primitive
    }
}
