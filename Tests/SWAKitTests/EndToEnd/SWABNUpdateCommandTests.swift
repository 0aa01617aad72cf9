import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// `swa-bn-update` run as a user runs it, after `swa-avg` on the fixtures.
@Suite struct SWABNUpdateCommandTests {
    @Test func readmePipelineMatchesPyTorchUpdateBN() throws {
        try withAveragedModel { folder, model in
            let output = folder + "/swa-bn.bin"
            let result = try ToolRunner.run("swa-bn-update", [model, "--data", "fixtures/data/train.npz", "-o", output, "--batch-size", "64"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("recomputed 4 BN layers"))
            let updated = try LoadedCheckpoint(path: output)
            let golden = try LoadedCheckpoint(path: TestSupport.golden + "/bn_update_batch.safetensors")
            for info in golden.header.tensors {
                if info.dtype == .i64 {
                    #expect(updated.tensors[info.name] == golden.tensors[info.name], "\(info.name)")
                } else {
                    #expect(TestSupport.allClose(updated.floats(info.name)!.map(Double.init), golden.floats(info.name)!.map(Double.init),
                                                 rtol: 1e-4, atol: 1e-5), "\(info.name)")
                }
            }
            // Weights are carried over untouched.
            let averaged = try LoadedCheckpoint(path: model)
            #expect(updated.tensors["head.0.weight"] == averaged.tensors["head.0.weight"])
            let record = try JSONValue.parse(try #require(updated.header.metadata["swa.bn"]))
            #expect(record["weighting"]?.stringValue == "batch")
            #expect(record["batches"]?.unsignedIntegerValue == 21)
            #expect(record["samples"]?.unsignedIntegerValue == 1300)
            #expect(record["data_sha256"]?.stringValue?.count == 64)
            #expect(updated.header.metadata["swa.graph"] == averaged.header.metadata["swa.graph"])
        }
    }

    @Test func jsonReportsTheRun() throws {
        try withAveragedModel { folder, model in
            let result = try ToolRunner.run("swa-bn-update", [model, "--data", "fixtures/data/train.npz", "-o", folder + "/out.bin",
                                                              "--weighting", "sample", "--limit", "300", "--batch-size", "100", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            #expect(report["samples"]?.unsignedIntegerValue == 300)
            #expect(report["batches"]?.unsignedIntegerValue == 3)
            #expect(report["weighting"]?.stringValue == "sample")
            #expect(report["layers"]?.unsignedIntegerValue == 4)
        }
    }

    @Test func augmentationIsSeeded() throws {
        try withAveragedModel { folder, model in
            var outputs: [LoadedCheckpoint] = []
            for (name, seed) in [("a", "1"), ("b", "1"), ("c", "2")] {
                let result = try ToolRunner.run("swa-bn-update", [model, "--data", "fixtures/data/train.npz", "-o", folder + "/\(name).bin",
                                                                  "--augment", "crop:2,flip", "--seed", seed])
                #expect(result.status == 0, "\(result.stderr)")
                outputs.append(try LoadedCheckpoint(path: folder + "/\(name).bin"))
            }
            #expect(outputs[0].tensors["stem.1.running_var"] == outputs[1].tensors["stem.1.running_var"])
            #expect(outputs[0].tensors["stem.1.running_var"] != outputs[2].tensors["stem.1.running_var"])
        }
    }

    @Test(arguments: [(["--weighting", "bogus"], "'batch' and 'sample'"), (["--layout", "hwc"], "'nchw', 'nhwc' or 'nf'")])
    func fixedChoicesListTheirValues(_ flags: [String], _ choices: String) throws {
        let result = try ToolRunner.run("swa-bn-update", ["fixtures/checkpoints/ckpt-020.safetensors.zst", "--data", "fixtures/data/train.npz",
                                                          "-o", "/tmp/never-written.bin"] + flags)
        #expect(result.status == 2)
        #expect(result.stderr.contains("Please provide one of \(choices)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.bin"))
    }

    @Test func printGraphShowsAPreset() throws {
        let result = try ToolRunner.run("swa-bn-update", ["fixtures/checkpoints/ckpt-001.safetensors.zst", "--print-graph"])
        #expect(result.status == 0, "\(result.stderr)")
        let graph = try ModelGraph(json: result.stdout, source: "stdout")
        #expect(graph.inputShape == [1, 8, 8])
    }

    // MARK: - Bad input: exit 1, one line naming the culprit, nothing written

    @Test func unknownOpInAGraphFileIsNamed() throws {
        try expectFailure(message: "node 'stem.1' has unknown op 'groupnorm'") { folder, model in
            let graph = try LoadedCheckpoint(path: model).header.metadata["swa.graph"]!
                .replacingOccurrences(of: #""op": "batchnorm2d", "inputs": ["stem.0"]"#, with: #""op": "groupnorm", "inputs": ["stem.0"]"#)
            try graph.write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8)
            return ["--graph", folder + "/graph.json"]
        }
    }

    @Test func danglingInputInAGraphFileIsNamed() throws {
        try expectFailure(message: "node 'pool' has input 'block.relu9', which is not defined") { folder, model in
            let graph = try LoadedCheckpoint(path: model).header.metadata["swa.graph"]!
                .replacingOccurrences(of: #""inputs": ["block.relu2"]"#, with: #""inputs": ["block.relu9"]"#)
            try graph.write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8)
            return ["--graph", folder + "/graph.json"]
        }
    }

    @Test func wrongArchitectureNamesTheMissingKey() throws {
        try expectFailure(message: "--arch preresnet20 does not fit: 99 of its 99 tensors are missing, e.g. 'conv1.weight'; "
            + "the checkpoint carries its own graph (swa.graph): leave out --arch") { _, _ in ["--arch", "preresnet20"] }
    }

    @Test func missingKeyIsNamed() throws {
        try expectFailure(message: "missing tensor 'head.4.bias' (the bias of graph node 'head.4')") { folder, model in
            let checkpoint = try LoadedCheckpoint(path: model)
            let kept = checkpoint.header.tensors.filter { $0.name != "head.4.bias" }
            try FileManager.default.removeItem(atPath: model)
            try CheckpointWriter.write(kept.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), checkpoint.tensors[$0.name]!) },
                                       metadata: checkpoint.header.metadata, to: model, overwrite: false)
            return []
        }
    }

    @Test func wrongShapeIsNamed() throws {
        try expectFailure(message: "tensor 'head.4.weight' has shape [10, 32], graph node 'head.4' expects [10, 64]") { folder, model in
            let checkpoint = try LoadedCheckpoint(path: model)
            try FileManager.default.removeItem(atPath: model)
            try CheckpointWriter.write(checkpoint.header.tensors.map { info in
                info.name == "head.4.weight"
                    ? (TensorSpec(name: info.name, dtype: .f32, shape: [10, 32]), Array(checkpoint.tensors[info.name]!.prefix(10 * 32 * 4)))
                    : (TensorSpec(name: info.name, dtype: info.dtype, shape: info.shape), checkpoint.tensors[info.name]!)
            }, metadata: checkpoint.header.metadata, to: model, overwrite: false)
            return []
        }
    }

    @Test func dataWithTheWrongChannelCountIsNamed() throws {
        try expectFailure(message: "fixtures-rgb.npz", data: "fixtures-rgb.npz") { folder, _ in
            let x = [Float](repeating: 0.5, count: 4 * 3 * 8 * 8)
            try NpzWriter.write([("x", .init(float32: x, shape: [4, 3, 8, 8])), ("y", .init(int64: [1, 2, 3, 4], shape: [4]))],
                                to: folder + "/fixtures-rgb.npz", compressed: false)
            return []
        }
    }

    @Test func dataWithTheWrongImageSizeIsNamed() throws {
        try expectFailure(message: "samples have shape [1, 16, 16], the model expects [1, 8, 8]", data: "big.npz") { folder, _ in
            try NpzWriter.write([("x", .init(float32: [Float](repeating: 0.5, count: 4 * 256), shape: [4, 1, 16, 16])),
                                 ("y", .init(int64: [1, 2, 3, 4], shape: [4]))], to: folder + "/big.npz", compressed: true)
            return []
        }
    }

    @Test func labelsThatAreNotIntegersAreNamed() throws {
        try expectFailure(message: "labels are not integers", data: "float-labels.npz") { folder, _ in
            try NpzWriter.write([("x", .init(float32: [Float](repeating: 0.5, count: 4 * 64), shape: [4, 1, 8, 8])),
                                 ("y", .init(float32: [1, 2, 3, 4], shape: [4]))], to: folder + "/float-labels.npz", compressed: false)
            return []
        }
    }

    @Test func truncatedNpzIsNamed() throws {
        try expectFailure(message: "train-cut.npz", data: "train-cut.npz") { folder, _ in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixtures + "/data/train.npz"))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: folder + "/train-cut.npz"))
            return []
        }
    }

    @Test func corruptNpzIsNamed() throws {
        try expectFailure(message: "test-corrupt.npz", data: "test-corrupt.npz") { folder, _ in
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixtures + "/data/test.npz")))
            for index in stride(from: 200, to: 2000, by: 7) { bytes[index] ^= 0x5A }
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/test-corrupt.npz"))
            return []
        }
    }

    @Test func aModelWithoutBatchNormIsWrittenUnchanged() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let tensors: [(spec: TensorSpec, bytes: [UInt8])] = [
                (TensorSpec(name: "fc.weight", dtype: .f32, shape: [2, 4]), [Float](repeating: 0.25, count: 8).withUnsafeBytes { Array($0) }),
                (TensorSpec(name: "fc.bias", dtype: .f32, shape: [2]), [Float](repeating: 0, count: 2).withUnsafeBytes { Array($0) }),
            ]
            let graph = try ModelGraph(inputShape: [4], nodes: [.init(name: "fc", operation: .linear(inFeatures: 4, outFeatures: 2, bias: true),
                                                                     inputs: ["x"], tensors: ["weight": "fc.weight", "bias": "fc.bias"])],
                                       outputName: "fc")
            try CheckpointWriter.write(tensors, metadata: ["swa.graph": graph.json], to: folder + "/linear.bin", overwrite: false)
            let result = try ToolRunner.run("swa-bn-update", [folder + "/linear.bin", "--data", "fixtures/data/train.npz", "-o", folder + "/out.bin"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("has no batch-norm layers"))
            let copy = try LoadedCheckpoint(path: folder + "/out.bin")
            #expect(copy.tensors == (try LoadedCheckpoint(path: folder + "/linear.bin")).tensors)
        }
    }

    // MARK: - Helpers

    /// `swa-avg --start 10 --every 2` of the fixtures into a fresh folder.
    private func withAveragedModel(_ body: (String, String) throws -> Void) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = folder + "/swa.bin"
            let average = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", model, "--start", "10", "--every", "2", "-q"])
            #expect(average.status == 0, "\(average.stderr)")
            try body(folder, model)
        }
    }

    /// Runs swa-bn-update with the extra flags `prepare` returns (and data `data`, in the folder
    /// if it is a bare name), expecting exit 1, one line containing `message`, and no output.
    private func expectFailure(message: String, data: String? = nil, prepare: (String, String) throws -> [String]) throws {
        try withAveragedModel { folder, model in
            let flags = try prepare(folder, model)
            let dataPath = data.map { folder + "/" + $0 } ?? "fixtures/data/train.npz"
            let output = folder + "/out.bin"
            let result = try ToolRunner.run("swa-bn-update", [model, "--data", dataPath, "-o", output] + flags)
            #expect(result.status == 1, "stdout: \(result.stdout) stderr: \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("swa-bn-update: "))
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
            #expect(!TestSupport.contents(of: folder).contains { $0.hasPrefix(".") })
        }
    }
}
