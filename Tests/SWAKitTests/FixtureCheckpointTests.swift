import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The committed PyTorch run (fixtures/README.md): 20 checkpoints that every later test
/// builds on must read through cleanly and carry the metadata the tools rely on.
@Suite("Fixture checkpoints")
struct FixtureCheckpointTests {
    @Test("The fixture folder holds exactly ckpt-001 ... ckpt-020")
    func fileList() {
        let expected = (1...20).map { "ckpt-\(threeDigits($0)).safetensors.zst" }
        #expect(TestSupport.contents(of: TestSupport.checkpoints) == expected)
    }

    @Test("Each checkpoint reads through with 27 tensors, its epoch, a seek table and a graph", arguments: 1...20)
    func checkpoint(epoch: Int) throws {
        let path = TestSupport.checkpoints + "/ckpt-\(threeDigits(epoch)).safetensors.zst"
        let inspection = try CheckpointInspection.inspect(path: path)
        #expect(inspection.container == "zstd")
        #expect(inspection.tensors.count == 27)
        #expect(inspection.metadata["swa.epoch"] == String(epoch))
        #expect(inspection.seekTable)
        // The payload (~90 KB) fits one 4 MiB frame; the seek table is one more, skippable.
        #expect(inspection.seekTableFrames == 1)
        #expect(inspection.frames == 2)
        #expect(inspection.payloadBytes == inspection.headerBytes + inspection.tensors.reduce(0) { $0 + $1.bytes })
        #expect(inspection.elements == 22_074 + batchNormBufferElements(inspection), "22,074 parameters (fixtures/README.md) plus BN buffers")

        let graph = try JSONValue.parse(#require(inspection.metadata["swa.graph"]))
        #expect(graph["format"]?.stringValue == "swa.graph")
        #expect(graph["version"]?.unsignedIntegerValue == 1)
        let preprocess = try JSONValue.parse(#require(inspection.metadata["swa.preprocess"]))
        #expect(preprocess["layout"]?.stringValue == "nchw")
    }

    @Test("Every fixture has the same tensor names, dtypes and shapes")
    func sameLayout() throws {
        let first = try CheckpointInspection.inspect(path: TestSupport.checkpoints + "/ckpt-001.safetensors.zst")
        for epoch in 2...20 {
            let other = try CheckpointInspection.inspect(path: TestSupport.checkpoints + "/ckpt-\(threeDigits(epoch)).safetensors.zst")
            #expect(other.tensors.map { [$0.name, $0.dtype, "\($0.shape)"] } == first.tensors.map { [$0.name, $0.dtype, "\($0.shape)"] },
                    "epoch \(epoch)")
            #expect(other.metadata["swa.graph"] == first.metadata["swa.graph"], "epoch \(epoch)")
        }
    }
}

// MARK: - Helpers

private func threeDigits(_ number: Int) -> String {
    String(repeating: "0", count: max(0, 3 - String(number).count)) + String(number)
}

/// Elements of the BN buffers (running mean and variance, batch counters), which are not parameters.
private func batchNormBufferElements(_ inspection: CheckpointInspection) -> Int {
    inspection.tensors
        .filter { $0.name.hasSuffix(".running_mean") || $0.name.hasSuffix(".running_var") || $0.name.hasSuffix(".num_batches_tracked") }
        .reduce(0) { $0 + $1.shape.reduce(1, *) }
}
