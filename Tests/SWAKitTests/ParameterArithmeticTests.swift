import Foundation
import Testing
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// Parameters built and combined in memory (the seams of loss-surface analyses): construction
/// checks, `a·x + b·y`, `x + t·d`, dot products and norms over a tensor selection, each against
/// a naive loop over the fixture checkpoints, and one test per error path.
@Suite("Parameter arithmetic")
struct ParameterArithmeticTests {
    // MARK: - Selections and construction

    @Test("The fixture model's trainable tensors hold its 22,074 parameters; .all adds the 8 BN running statistics")
    func selections() throws {
        let (x, _) = try twoFixtureCheckpoints()
        let graph = x.graph
        let trainable = graph.floatTensorKeys(.trainable)
        let all = graph.floatTensorKeys(.all)
        // 22,074 = sum(p.numel() for p in model.parameters()) (fixtures/README.md).
        #expect(trainable.reduce(0) { $0 + x.values[$1]!.count } == 22_074)
        #expect(Set(all).subtracting(trainable).sorted() == [
            "block.bn1.running_mean", "block.bn1.running_var", "block.bn2.running_mean", "block.bn2.running_var",
            "head.1.running_mean", "head.1.running_var", "stem.1.running_mean", "stem.1.running_var",
        ].sorted())
        // .all is every float tensor the checkpoint binds, in node order; no integer counter.
        #expect(Set(all) == Set(x.values.keys))
        #expect(all == graph.tensorKeys.filter { !$0.hasSuffix("num_batches_tracked") })
    }

    @Test("Float tensors given in memory bind to the graph with the checkpoint's values")
    func constructionFromValues() throws {
        let (x, _) = try twoFixtureCheckpoints()
        let built = try ModelParameters(graph: x.graph, floatTensors: x.values)
        #expect(built.values == x.values)
        let input = (0 ..< 2 * 64).map { Float($0 % 17) / 17 }
        #expect(ForwardPass(parameters: built).run(input, batch: 2, mode: .inference)
            == ForwardPass(parameters: x).run(input, batch: 2, mode: .inference))
    }

    @Test("Construction names the missing, mis-sized or unknown key")
    func constructionErrors() throws {
        let (x, _) = try twoFixtureCheckpoints()
        var missing = x.values
        missing["block.conv2.weight"] = nil
        let missingError = try #require(throws: SWAError.self) { try ModelParameters(graph: x.graph, floatTensors: missing) }
        #expect(missingError.message == "missing tensor 'block.conv2.weight' (the weight of graph node 'block.conv2')")

        var short = x.values
        short["head.4.bias"] = [1, 2, 3]
        let shortError = try #require(throws: SWAError.self) { try ModelParameters(graph: x.graph, floatTensors: short) }
        #expect(shortError.message == "tensor 'head.4.bias' has 3 values, graph node 'head.4' expects shape [10] (10 values)")

        var counter = x.values
        counter["stem.1.num_batches_tracked"] = [21]
        let counterError = try #require(throws: SWAError.self) { try ModelParameters(graph: x.graph, floatTensors: counter) }
        #expect(counterError.message == "tensor 'stem.1.num_batches_tracked' is not a float tensor of the model graph")
    }

    @Test("replacing swaps the named tensors only, and names a key the graph lacks or a size that changes")
    func replacing() throws {
        let (x, y) = try twoFixtureCheckpoints()
        let replaced = try x.replacing(["stem.1.running_var": y.values["stem.1.running_var"]!])
        for key in x.values.keys {
            #expect(replaced.values[key] == (key == "stem.1.running_var" ? y : x).values[key], "\(key)")
        }
        let unknown = try #require(throws: SWAError.self) { try x.replacing(["stem.9.weight": [1]]) }
        #expect(unknown.message == "tensor 'stem.9.weight' is not a float tensor of the model graph")
        let resized = try #require(throws: SWAError.self) { try x.replacing(["head.4.bias": [1]]) }
        #expect(resized.message == "tensor 'head.4.bias' has 10 values, the replacement has 1")
    }

    // MARK: - Elementwise arithmetic

    @Test("a·x + b·y is the naive Double loop rounded once, bit for bit; tensors outside the selection are x's",
          arguments: [TensorSelection.all, .trainable])
    func linearCombination(_ selection: TensorSelection) throws {
        let (x, y) = try twoFixtureCheckpoints()
        for (a, b) in [(0.75, 0.25), (1.0, -1.0), (-0.3, 2.5)] {
            let combined = try ModelParameters.linearCombination(a, x, b, y, over: selection)
            let selected = Set(x.graph.floatTensorKeys(selection))
            for (key, xs) in x.values {
                let ys = y.values[key]!
                var expected = xs
                if selected.contains(key) {
                    for index in xs.indices { expected[index] = Float(a * Double(xs[index]) + b * Double(ys[index])) }
                }
                #expect(combined.values[key]!.map(\.bitPattern) == expected.map(\.bitPattern), "\(key), a \(a), b \(b)")
            }
        }
    }

    @Test("The line w(t) = (1 − t)·A + t·B ends exactly at A and B; x + t·d is the naive axpy bit for bit")
    func lineAndAxpy() throws {
        let (x, y) = try twoFixtureCheckpoints()
        #expect(try ModelParameters.linearCombination(1, x, 0, y, over: .all).values == x.values)
        #expect(try ModelParameters.linearCombination(0, x, 1, y, over: .all).values == y.values)

        let direction = try ModelParameters.linearCombination(1, y, -1, x, over: .trainable)
        for t in [0.5, -0.25, 3.0] {
            let moved = try x.adding(t, times: direction, over: .trainable)
            let selected = Set(x.graph.floatTensorKeys(.trainable))
            for (key, xs) in x.values {
                let ds = direction.values[key]!
                let expected = selected.contains(key) ? zip(xs, ds).map { Float(Double($0) + t * Double($1)) } : xs
                #expect(moved.values[key]!.map(\.bitPattern) == expected.map(\.bitPattern), "\(key), t \(t)")
            }
        }
        // The running statistics are x's, not the difference's.
        let moved = try x.adding(1, times: direction, over: .trainable)
        #expect(moved.values["head.1.running_var"] == x.values["head.1.running_var"])
    }

    // MARK: - Dot products and norms

    @Test("dot, tensorDots, norm and tensorNorms against naive Double sums in graph order",
          arguments: [TensorSelection.all, .trainable])
    func dotsAndNorms(_ selection: TensorSelection) throws {
        let (x, y) = try twoFixtureCheckpoints()
        let keys = x.graph.floatTensorKeys(selection)
        func naiveDot(_ a: [Float], _ b: [Float]) -> Double {
            var sum = 0.0
            for index in a.indices { sum += Double(a[index]) * Double(b[index]) }
            return sum
        }
        let tensorDots = try ModelParameters.tensorDots(x, y, over: selection)
        #expect(tensorDots.map(\.key) == keys)
        var total = 0.0, squares = 0.0
        for (key, dot) in tensorDots {
            let expected = naiveDot(x.values[key]!, y.values[key]!)
            #expect(abs(dot - expected) <= 1e-12 * max(1, abs(expected)), "\(key)")
            total += expected
            squares += naiveDot(x.values[key]!, x.values[key]!)
        }
        #expect(abs(try ModelParameters.dot(x, y, over: selection) - total) <= 1e-12 * abs(total))
        #expect(abs(x.norm(over: selection) - squares.squareRoot()) <= 1e-12 * squares.squareRoot())
        let norms = x.tensorNorms(over: selection)
        #expect(norms.map(\.key) == keys)
        for (key, norm) in norms {
            let expected = naiveDot(x.values[key]!, x.values[key]!).squareRoot()
            #expect(abs(norm - expected) <= 1e-12 * max(1, expected), "\(key)")
        }
        // The trainable norm leaves out the running variances, which are positive.
        if selection == .trainable { #expect(x.norm(over: .trainable) < x.norm(over: .all)) }
    }

    @Test("Dot products and norms of small hand-made tensors")
    func smallValues() throws {
        let graph = try linearGraph(outFeatures: 2)
        let x = try ModelParameters(graph: graph, floatTensors: ["fc.weight": [1, 2, 3, 4, 5, 6, 7, 8], "fc.bias": [0.5, -1]])
        let y = try ModelParameters(graph: graph, floatTensors: ["fc.weight": [1, 0, -1, 0, 2, 0, 0, 1], "fc.bias": [2, 2]])
        // 1·1 + 3·(−1) + 5·2 + 8·1 and 0.5·2 − 1·2.
        let expectedDots: [Double] = [16, -1]
        #expect(try ModelParameters.tensorDots(x, y, over: .all).map(\.dot) == expectedDots)
        #expect(try ModelParameters.dot(x, y, over: .all) == 15)
        let expectedNorms: [Double] = [Double(204).squareRoot(), Double(1.25).squareRoot()]
        #expect(x.tensorNorms(over: .all).map(\.norm) == expectedNorms)
        #expect(x.norm(over: .all) == Double(205.25).squareRoot())
        #expect(try ModelParameters.linearCombination(2, x, -1, y, over: .all).values["fc.bias"] == [-1, -4])
    }

    // MARK: - Errors

    @Test("Combining parameters of different graphs names the first tensor or node that differs")
    func differentGraphs() throws {
        let x = try ModelParameters(graph: linearGraph(outFeatures: 2), floatTensors: ["fc.weight": .init(repeating: 1, count: 8), "fc.bias": [0, 0]])
        let wider = try ModelParameters(graph: linearGraph(outFeatures: 3), floatTensors: ["fc.weight": .init(repeating: 1, count: 12), "fc.bias": [0, 0, 0]])
        let shapeError = try #require(throws: SWAError.self) { try ModelParameters.linearCombination(1, x, 1, wider, over: .all) }
        #expect(shapeError.message == "the two parameter sets are bound to different graphs: tensor 'fc.weight' has shape [2, 4] in the first graph, [3, 4] in the second")

        let renamed = try ModelParameters(graph: linearGraph(outFeatures: 2, prefix: "head"), floatTensors: ["head.weight": .init(repeating: 1, count: 8), "head.bias": [0, 0]])
        let keyError = try #require(throws: SWAError.self) { try x.adding(1, times: renamed, over: .trainable) }
        #expect(keyError.message == "the two parameter sets are bound to different graphs: tensor 'fc.weight' is only in the first graph")

        let unbiased = try ModelParameters(graph: linearGraph(outFeatures: 2, bias: false), floatTensors: ["fc.weight": .init(repeating: 1, count: 8)])
        let extraError = try #require(throws: SWAError.self) { try ModelParameters.dot(unbiased, x, over: .all) }
        #expect(extraError.message == "the two parameter sets are bound to different graphs: tensor 'fc.bias' is only in the second graph")

        let relu = try ModelParameters(graph: linearGraph(outFeatures: 2, relu: true), floatTensors: x.values)
        let nodeError = try #require(throws: SWAError.self) { try ModelParameters.tensorDots(x, relu, over: .all) }
        #expect(nodeError.message == "the two parameter sets are bound to different graphs: the first graph has 1 nodes, the second 2")
    }

    @Test("Tensors of different sizes under one graph are named (parameters built without checks)")
    func differentSizes() throws {
        let graph = try linearGraph(outFeatures: 2)
        let x = ModelParameters(graph: graph, values: ["fc.weight": .init(repeating: 1, count: 8), "fc.bias": [0, 0]])
        let short = ModelParameters(graph: graph, values: ["fc.weight": .init(repeating: 1, count: 7), "fc.bias": [0, 0]])
        let sizeError = try #require(throws: SWAError.self) { try ModelParameters.linearCombination(1, x, 1, short, over: .all) }
        #expect(sizeError.message == "tensor 'fc.weight' has 8 values in the first parameter set and 7 in the second")
        let partial = ModelParameters(graph: graph, values: ["fc.weight": .init(repeating: 1, count: 8)])
        let missingError = try #require(throws: SWAError.self) { try ModelParameters.dot(x, partial, over: .all) }
        #expect(missingError.message == "tensor 'fc.bias' is missing from the second parameter set")
    }

    // MARK: - Helpers

    /// Epochs 10 and 20 of the fixture run, bound to the graph in their metadata.
    private func twoFixtureCheckpoints() throws -> (ModelParameters, ModelParameters) {
        let first = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-010.safetensors.zst")
        let second = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-020.safetensors.zst")
        let graph = try ModelSource.metadata.graph(for: second)
        return (try ModelParameters(graph: graph, checkpoint: first), try ModelParameters(graph: graph, checkpoint: second))
    }

    /// `x [4] → linear → [outFeatures]` (then a ReLU with `relu`), tensors named `prefix.weight`/`prefix.bias`.
    private func linearGraph(outFeatures: Int, prefix: String = "fc", bias: Bool = true, relu: Bool = false) throws -> ModelGraph {
        var tensors = ["weight": prefix + ".weight"]
        if bias { tensors["bias"] = prefix + ".bias" }
        var nodes = [ModelGraph.Node(name: prefix, operation: .linear(inFeatures: 4, outFeatures: outFeatures, bias: bias),
                                     inputs: ["x"], tensors: tensors)]
        if relu { nodes.append(ModelGraph.Node(name: "act", operation: .relu, inputs: [prefix])) }
        return try ModelGraph(inputShape: [4], nodes: nodes, outputName: relu ? "act" : prefix)
    }
}
