import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The per-tensor rules of averaging (`TensorCombiner`) through both paths: lockstep, where
/// chunks of all inputs arrive side by side, and the accumulator, where whole tensors arrive
/// one input after another. Same bits out, same message for every fault, whatever the thread
/// count and chunk size.
@Suite("Averaging rules")
struct AveragingRulesTests {
    /// Elements of `w`: ten 4096-element chunks at the smallest budget; split in two parts
    /// across threads when the whole tensor is one chunk.
    static let weightCount = 40_000

    // MARK: - Results

    @Test("Both paths write the same bits: weighted and EMA, --buffers last, float tensors converted to F16",
          arguments: [AveragingMethod.weighted([1, 2, 0.5, 3]), .ema(decay: 0.75)])
    func bothPathsAgree(method: AveragingMethod) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let paths = try Self.writeInputs(to: folder)
            var outputs: [LoadedCheckpoint] = []
            for (layout, threads, budget) in [(Layout.same, 1, 64 << 20), (.same, 3, 1), (.reordered, 1, 64 << 20), (.reordered, 2, 1)] {
                let output = folder + "/out-\(outputs.count).bin"
                let report = try Self.average(paths, layout: layout, method: method, buffers: .last, outputDType: .convert(.f16),
                                              destination: output, threads: threads, budget: budget)
                #expect(report.strategy == (layout == .same ? "lockstep" : "accumulator"))
                outputs.append(try LoadedCheckpoint(path: output))
            }
            // The tensors, bit for bit; the metadata differs only in swa.sources (the reordered copy's name and hash).
            let result = outputs[0]
            for other in outputs.dropFirst() {
                #expect(other.header.tensors == result.header.tensors)
                #expect(other.tensors == result.tensors)
            }
            let last = try LoadedCheckpoint(path: paths[3])
            #expect(result.header.tensor(named: "w")?.dtype == .f16)
            #expect(result.tensors["steps"] == last.tensors["steps"], "integer tensors that agree are copied")
            #expect(result.tensors["bn.num_batches_tracked"] == last.tensors["bn.num_batches_tracked"])
            // --buffers last: the last input's statistics, converted to F16 like the weights.
            #expect(result.floats("bn.running_var") == last.floats("bn.running_var")!.map { Float(Float16($0)) })
        }
    }

    // MARK: - Faults: one message, whichever path

    @Test("NaN in a combined tensor names the input, the tensor and the element")
    func nanInCombinedTensor() throws {
        try expectSameFailure(poison: { name, index in name == "w" && index == 2 ? [37_777: .nan] : [:] },
                              culprit: 2, message: "tensor 'w' holds NaN or Inf (element 37777)")
    }

    @Test("Inf in a copied BN statistic names the input, though only the last input's is kept")
    func infInCopiedStatistic() throws {
        try expectSameFailure(poison: { name, index in name == "bn.running_var" && index == 1 ? [3: .infinity] : [:] },
                              culprit: 1, message: "tensor 'bn.running_var' holds NaN or Inf (element 3)")
    }

    @Test("An integer tensor that differs names the input and the first input")
    func integerTensorsMustAgree() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let paths = try Self.writeInputs(to: folder, steps: [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 9, 3]])
            try expectSameFailure(paths, in: folder, culprit: paths[3],
                                  message: "tensor 'steps' (I64) differs from \(paths[0]); "
                                      + "integer and bool tensors are not averaged, so every input must hold the same values")
        }
    }

    @Test("An average beyond the output dtype's range names the output")
    func overflow() throws {
        try TestSupport.withTemporaryDirectory { folder in
            // Finite F64 inputs up to 5.9e307, some of whose Float64 sums pass 1.8e308.
            let paths = try Self.writeInputs(to: folder, weightDType: .f64, scale: 1e307)
            try expectSameFailure(paths, in: folder, culprit: folder + "/out.bin", message: "tensor 'w': the average overflows F64")
        }
    }

    // MARK: - Helpers

    enum Layout { case same, reordered }

    /// Writes four inputs (`ckpt-1.bin` ... `ckpt-4.bin`, epochs 1...4): `w` [40000] stored as
    /// `weightDType` and scaled by `scale`, `bn.running_var` F32 [5], `bn.num_batches_tracked`
    /// I64 [], `steps` I64 [3]; `poison` sets chosen elements of an input's float tensor.
    static func writeInputs(to folder: String, weightDType: DType = .f32, scale: Double = 1, steps: [[Int64]]? = nil,
                            poison: (String, Int) -> [Int: Float] = { _, _ in [:] }) throws -> [String] {
        try (0..<4).map { index in
            func floats(_ name: String, _ count: Int, as dtype: DType = .f32, _ value: (Int) -> Double) -> (spec: TensorSpec, bytes: [UInt8]) {
                var values = (0..<count).map(value)
                for (element, bad) in poison(name, index) { values[element] = Double(bad) }
                let bytes = dtype == .f64 ? NpyBytes.bytes(values) : NpyBytes.bytes(values.map(Float.init))
                return (TensorSpec(name: name, dtype: dtype, shape: [count]), bytes)
            }
            let tensors = [
                floats("w", weightCount, as: weightDType) { scale * (Double(($0 * 7 + index * 13) % 101) / 17) },
                floats("bn.running_var", 5) { 1 + Double($0 + index) / 3 },
                (TensorSpec(name: "bn.num_batches_tracked", dtype: .i64, shape: []), NpyBytes.bytes([Int64(100 * (index + 1))])),
                (TensorSpec(name: "steps", dtype: .i64, shape: [3]), NpyBytes.bytes(steps?[index] ?? [4, 5, 6])),
            ]
            let path = folder + "/ckpt-\(index + 1).bin"
            try CheckpointWriter.write(tensors, metadata: ["swa.epoch": String(index + 1)], to: path, overwrite: false)
            return path
        }
    }

    /// Averages `paths`; with `.reordered`, the second input is first rewritten with its tensors
    /// in reverse order, which sends the average through the accumulator.
    @discardableResult
    static func average(_ paths: [String], layout: Layout, method: AveragingMethod = .weighted([1, 1, 1, 1]),
                        buffers: BufferPolicy = .average, outputDType: OutputDType = .keep,
                        destination: String, threads: Int = 1, budget: Int = 64 << 20) throws -> AveragingReport {
        var inputs = paths
        if layout == .reordered {
            let source = try LoadedCheckpoint(path: paths[1])
            let reordered = paths[1] + ".reordered"
            if !FileManager.default.fileExists(atPath: reordered) {
                try CheckpointWriter.write(source.header.tensors.reversed().map { info in
                    (TensorSpec(name: info.name, dtype: info.dtype, shape: info.shape), source.tensors[info.name]!)
                }, metadata: source.header.metadata, to: reordered, overwrite: false)
            }
            inputs[1] = reordered
        }
        let entries = try discoverCheckpoints(inputs).entries
        return try StreamingAverager(request: AveragingRequest(inputs: entries, method: method, buffers: buffers, outputDType: outputDType,
                                                               destination: destination, overwrite: true, threads: threads,
                                                               chunkBudget: budget)).run()
    }

    /// Writes inputs poisoned by `poison` and expects the same failure from both paths.
    private func expectSameFailure(poison: @escaping (String, Int) -> [Int: Float], culprit: Int, message: String) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let paths = try Self.writeInputs(to: folder, poison: poison)
            try expectSameFailure(paths, in: folder, culprit: paths[culprit], message: message)
        }
    }

    /// Averages `paths` in lockstep (one thread and three, one chunk and several) and through
    /// the accumulator, and expects each to fail with `culprit: message`, writing nothing.
    private func expectSameFailure(_ paths: [String], in folder: String, culprit: String, message: String) throws {
        let output = folder + "/out.bin"
        for (layout, threads, budget) in [(Layout.same, 1, 64 << 20), (.same, 3, 1), (.reordered, 1, 64 << 20), (.reordered, 3, 1)] {
            let failure = TestSupport.errorDescription {
                try Self.average(paths, layout: layout, buffers: .last, destination: output, threads: threads, budget: budget)
            }
            // The reordered copy of the second input is named after it.
            let expectedCulprit = layout == .reordered && culprit == paths[1] ? paths[1] + ".reordered" : culprit
            #expect(failure == "\(expectedCulprit): \(message)", "\(layout), \(threads) threads, budget \(budget)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }
}
