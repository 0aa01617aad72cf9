import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Buffer planning of the forward pass: which nodes write in place, which share a buffer, when
/// buffers are freed, and that none of it changes a result.
@Suite struct ExecutionPlanTests {
    /// Both convolutions of the residual graph: 2 → 2 channels, 3×3, padding 1.
    private let conv = Conv2dGeometry(inChannels: 2, outChannels: 2, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1)

    /// x → relu r0 → conv c1 → bn b1 → relu r1 → conv c2 → add(c2, c1) s → relu r2 → flatten f
    /// → linear out. c1 feeds both b1 and the residual add, like the first BN of a
    /// pre-activation block.
    private func residualGraph(output: String = "out") throws -> ModelGraph {
        return try ModelGraph(inputShape: [2, 5, 4], nodes: [
            .init(name: "r0", operation: .relu, inputs: ["x"]),
            .init(name: "c1", operation: .conv2d(conv, bias: true), inputs: ["r0"], tensors: ["weight": "c1.w", "bias": "c1.b"]),
            .init(name: "b1", operation: .batchNorm(BatchNormAttributes(features: 2)), inputs: ["c1"],
                  tensors: ["weight": "b1.w", "bias": "b1.b", "running_mean": "b1.m", "running_var": "b1.v"]),
            .init(name: "r1", operation: .relu, inputs: ["b1"]),
            .init(name: "c2", operation: .conv2d(conv, bias: false), inputs: ["r1"], tensors: ["weight": "c2.w"]),
            .init(name: "s", operation: .add, inputs: ["c2", "c1"]),
            .init(name: "r2", operation: .relu, inputs: ["s"]),
            .init(name: "f", operation: .flatten, inputs: ["r2"]),
            .init(name: "out", operation: .linear(inFeatures: 40, outFeatures: 3, bias: true), inputs: ["f"],
                  tensors: ["weight": "out.w", "bias": "out.b"]),
        ], outputName: output)
    }

    @Test func elementwiseNodesReuseDeadInputsOnly() throws {
        let plan = ExecutionPlan(graph: try residualGraph())
        #expect(plan.steps.map(\.output) == [
            .fresh,                  // r0: x is the caller's array
            .fresh,                  // c1
            .fresh,                  // b1: c1 is read again by the add
            .alias,                  // r1: computed by b1, its only reader
            .fresh,                  // c2
            .inPlace(input: 0),      // s over c2
            .inPlace(input: 0),      // r2 over s
            .alias,                  // f shares r2
            .fresh,                  // out
        ])
        #expect(plan.steps.map(\.appliesReLU) == [false, false, true, false, false, false, false, false, false])
        #expect(plan.steps.map(\.outputSlot) == [1, 2, 3, 3, 4, 4, 4, 4, 5])
        // Slots are logical (the pool reuses their buffers): r0's is free after c1, c1's after the add.
        #expect(plan.steps.map(\.releasedSlots) == [[], [1], [], [], [3], [2], [], [], [4]])
        #expect(plan.outputSlot == 5)
    }

    @Test func theGraphOutputIsNeverOverwritten() throws {
        let plan = ExecutionPlan(graph: try residualGraph(output: "b1"))
        #expect(plan.steps[2].appliesReLU == false)        // b1 is the output: r1 is not fused
        #expect(plan.steps[3].output == .fresh)            // nor written over b1
        #expect(!plan.steps.contains { $0.releasedSlots.contains(plan.outputSlot) })
    }

    @Test func reusedBuffersGiveTheSameNumbersAsSeparateOnes() throws {
        let graph = try residualGraph()
        var generator = SeededGenerator(seed: 11)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1, using: &generator) } }
        let values: [String: [Float]] = [
            "c1.w": random(36), "c1.b": random(2), "b1.w": random(2), "b1.b": random(2),
            "b1.m": random(2), "b1.v": random(2).map { $0 + 2 }, "c2.w": random(36),
            "out.w": random(120), "out.b": random(3),
        ]
        // On im2col + sgemm, as the kernel-by-kernel pass below (auto puts 3×3 layers on oneDNN on
        // AVX-512, whose sums round differently; its own tests compare it within tolerance).
        let forward = ForwardPass(parameters: ModelParameters(graph: graph, values: values), convolutionPolicy: .blas)
        // One instance over batches of changing size, so buffers from one batch serve the next.
        for batch in [5, 3, 6, 5] {
            let input = random(batch * 40)
            for mode in [ForwardPass.Mode.training, .inference] {
                #expect(forward.run(input, batch: batch, mode: mode) == unplannedPass(input, batch: batch, mode: mode, values: values))
            }
        }
    }

    /// The residual graph computed kernel by kernel, every activation in its own array.
    private func unplannedPass(_ x: [Float], batch: Int, mode: ForwardPass.Mode, values: [String: [Float]]) -> [Float] {
        let count = batch * 40
        var r0 = [Float](repeating: 0, count: count), c1 = r0, b1 = r0, r1 = r0, c2 = r0, s = r0, r2 = r0
        var out = [Float](repeating: 0, count: batch * 3)
        relu(x, count: count, output: &r0)
        conv2d(r0, batch: batch, height: 5, width: 4, geometry: conv, weight: values["c1.w"]!, bias: values["c1.b"]!, output: &c1)
        switch mode {
        case .training:
            _ = batchNormTraining(c1, batch: batch, channels: 2, spatial: 20, eps: 1e-5,
                                  weight: values["b1.w"]!, bias: values["b1.b"]!, output: &b1)
        case .inference:
            batchNormInference(c1, batch: batch, channels: 2, spatial: 20, eps: 1e-5, runningMean: values["b1.m"]!,
                               runningVariance: values["b1.v"]!, weight: values["b1.w"]!, bias: values["b1.b"]!, output: &b1)
        }
        relu(b1, count: count, output: &r1)
        conv2d(r1, batch: batch, height: 5, width: 4, geometry: conv, weight: values["c2.w"]!, bias: nil, output: &c2)
        add(c2, c1, count: count, output: &s)
        relu(s, count: count, output: &r2)
        linear(r2, batch: batch, inFeatures: 40, outFeatures: 3, weight: values["out.w"]!, bias: values["out.b"]!, output: &out)
        return out
    }
}
