import SWAFormats
// Where each node's activations live during a forward pass, decided once per graph.
//
// A "slot" is one activation buffer. Nodes that only relabel their input (flatten, dropout,
// stochastic depth, identity) share its slot; elementwise nodes (batch norm, activations, add,
// mul) write over an input slot of the output's shape that no later node reads; every other node gets a fresh slot. A ReLU that is the only reader
// of a batch norm runs inside it (one pass over memory instead of two) and shares its slot. A slot is released right
// after its last reader, so its buffer can serve a later node. Without this, every ReLU and
// residual add copied a whole activation, and PreResNet-164 at batch 128 spent a third of its
// time in the kernel, mapping and faulting in fresh 33 MB buffers (docs/PERFORMANCE.md).

/// The slot of every node and the order in which slots are freed, for one graph.
struct ExecutionPlan: Sendable {
    /// What to do at one node.
    struct Step: Sendable {
        /// The slots of the node's inputs, in the node's input order.
        var inputSlots: [Int]
        /// The slot the node writes (or, for a relabelling node, shares).
        var outputSlot: Int
        /// How the output slot comes about.
        var output: OutputKind
        /// Slots whose last reader is this node: their buffers go back to the pool after it.
        var releasedSlots: [Int]
        /// Floats per sample of the node's output.
        var outputElementsPerSample: Int
        /// For a batch norm: clamp its output at 0, as the ReLU that alone reads it would.
        var appliesReLU = false
    }

    enum OutputKind: Sendable, Equatable {
        /// A new buffer, taken from the pool before the node runs.
        case fresh
        /// The buffer of input `index`, written in place (elementwise nodes only).
        case inPlace(input: Int)
        /// The input's buffer, unchanged (flatten, dropout, identity, and a ReLU fused into the
        /// batch norm before it).
        case alias
    }

    /// Slot 0: the caller's input batch, read only and never released.
    static let inputSlot = 0

    let steps: [Step]
    /// Number of slots, the input's included.
    let slotCount: Int
    /// The slot holding the graph's output after the last step.
    let outputSlot: Int

    init(graph: ModelGraph) {
        let nodes = graph.nodes
        // The nodes that read each name, in order.
        var readers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in Set(node.inputs) { readers[input, default: []].append(index) }
        }
        // ReLUs computed by the batch norm they read: the norm's only reader, and the norm's
        // output, which the ReLU overwrites, is not the graph's.
        var fusedReLUs: Set<Int> = [], fusingBatchNorms: Set<Int> = []
        for (index, node) in nodes.enumerated() {
            guard case .batchNorm = node.operation, node.name != graph.outputName,
                  let only = readers[node.name], only.count == 1, nodes[only[0]].operation == .relu else { continue }
            fusedReLUs.insert(only[0])
            fusingBatchNorms.insert(index)
        }
        var slotOf: [String: Int] = [graph.inputName: Self.inputSlot]
        var namesIn: [[String]] = [[graph.inputName]]
        // A slot is dead after node `index` once no later node reads any name it holds; the
        // caller's input and the slot of the graph's output are never reused.
        func isDead(_ slot: Int, after index: Int) -> Bool {
            slot != Self.inputSlot
                && namesIn[slot].allSatisfy { $0 != graph.outputName && (readers[$0]?.last ?? -1) <= index }
        }

        var steps: [Step] = []
        for (index, node) in nodes.enumerated() {
            let inputSlots = node.inputs.map { slotOf[$0]! }
            let output: OutputKind
            let outputSlot: Int
            if node.operation.relabelsInput || fusedReLUs.contains(index) {
                output = .alias
                outputSlot = inputSlots[0]
            } else if node.operation.isElementwise,
                      let reused = inputSlots.indices.first(where: {
                          // Only an input of the output's size can hold it (broadcasting).
                          isDead(inputSlots[$0], after: index) && graph.shapes[node.inputs[$0]] == graph.shapes[node.name]
                      }) {
                output = .inPlace(input: reused)
                outputSlot = inputSlots[reused]
            } else {
                output = .fresh
                outputSlot = namesIn.count
                namesIn.append([])
            }
            slotOf[node.name] = outputSlot
            namesIn[outputSlot].append(node.name)
            let released = Set(inputSlots).filter { $0 != outputSlot && isDead($0, after: index) }.sorted()
            steps.append(Step(inputSlots: inputSlots, outputSlot: outputSlot, output: output, releasedSlots: released,
                              outputElementsPerSample: graph.shapes[node.name]!.reduce(1, *),
                              appliesReLU: fusingBatchNorms.contains(index)))
        }
        self.steps = steps
        self.slotCount = namesIn.count
        self.outputSlot = slotOf[graph.outputName]!
    }
}

extension GraphOperation {
    /// Whether the output is the input itself, relabelled (same floats, same order).
    var relabelsInput: Bool {
        switch self {
        case .flatten, .dropout, .stochasticDepth, .identity: true
        default: false
        }
    }

    /// Whether each output element depends only on the same element of the inputs (and
    /// per-channel numbers), so the kernel may write over an input of the same size.
    var isElementwise: Bool {
        switch self {
        case .batchNorm, .relu, .activation, .add, .mul: true
        default: false
        }
    }
}
