import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// A BN update applied in memory against the same update written to a checkpoint and read back.
@Suite("BN update in memory")
struct BatchNormInMemoryTests {
    @Test("Applied in memory, the BN update gives the parameters and logits of the written checkpoint, bit for bit")
    func inMemoryMatchesTheWrittenCheckpoint() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let (parameters, data) = try TestSupport.averagedFixtureModel(in: folder)
            let result = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: 64)
            let inMemory = try result.applied(to: parameters)

            let averaged = try LoadedCheckpoint(path: folder + "/swa.bin")
            // Float32 in the file, so writing and reading back loses nothing.
            #expect(averaged.header.tensor(named: "stem.1.running_var")?.dtype == .f32)
            try result.write(over: averaged, metadata: averaged.header.metadata, to: folder + "/swa-bn.bin", overwrite: false)
            let fromFile = try ModelParameters(graph: parameters.graph, checkpoint: LoadedCheckpoint(path: folder + "/swa-bn.bin"))

            #expect(inMemory.values.keys.sorted() == fromFile.values.keys.sorted())
            for (key, values) in fromFile.values {
                #expect(inMemory.values[key]!.map(\.bitPattern) == values.map(\.bitPattern), "\(key)")
                // Running statistics are the result's, everything else the averaged model's.
                #expect(inMemory.values[key] == (result.statistics[key] ?? parameters.values[key]), "\(key)")
            }
            #expect(inMemory.values["stem.1.running_var"] != parameters.values["stem.1.running_var"])

            let test = try DataSet(path: TestSupport.fixtures + "/data/test.npz",
                                   preprocessing: try Preprocessing.parse(metadataJSON: averaged.header.metadata["swa.preprocess"]!), limit: 16)
            var inMemoryLogits: [Float] = [], fileLogits: [Float] = []
            try test.forEachBatch(size: 16) { batch in
                inMemoryLogits = ForwardPass(parameters: inMemory).run(batch.x, batch: batch.count, mode: .inference)
                fileLogits = ForwardPass(parameters: fromFile).run(batch.x, batch: batch.count, mode: .inference)
            }
            #expect(inMemoryLogits.count == 160)
            #expect(inMemoryLogits.map(\.bitPattern) == fileLogits.map(\.bitPattern))
            // And both are PyTorch's logits after update_bn (fixtures/golden/logits.safetensors).
            let expected = try #require(try LoadedCheckpoint(path: TestSupport.golden + "/logits.safetensors").floats("logits"))
            #expect(TestSupport.allClose(inMemoryLogits.map(Double.init), expected.map(Double.init), rtol: 1e-4, atol: 1e-4))
        }
    }

    @Test("A result that lacks a running statistic of the graph, or holds another tensor, is refused naming the key")
    func mismatchedResults() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let (parameters, data) = try TestSupport.averagedFixtureModel(in: folder)
            let result = try BatchNormUpdate(parameters: parameters, weighting: .sample).run(data: data, batchSize: 100)

            var partial = result
            partial.statistics["block.bn2.running_mean"] = nil
            let missing = try #require(throws: SWAError.self) { try partial.applied(to: parameters) }
            #expect(missing.message == "the BN update result has no running_mean for graph node 'block.bn2' (tensor 'block.bn2.running_mean'); was it computed for another graph?")

            var stranger = result
            stranger.statistics["head.4.bias"] = [Float](repeating: 0, count: 10)
            let extra = try #require(throws: SWAError.self) { try stranger.applied(to: parameters) }
            #expect(extra.message == "tensor 'head.4.bias' of the BN update result is not a BN running statistic of the model graph")

            var resized = result
            resized.statistics["head.1.running_var"]!.removeLast()
            let size = try #require(throws: SWAError.self) { try resized.applied(to: parameters) }
            #expect(size.message.hasPrefix("tensor 'head.1.running_var' has "))
            #expect(size.message.hasSuffix(" values, the replacement has \(result.statistics["head.1.running_var"]!.count - 1)"))
        }
    }
}
