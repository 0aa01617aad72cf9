import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// `swa-convert`, and `swa-avg` over Hugging Face folders, run as a user runs them.
@Suite struct SWAConvertCommandTests {
    @Test func convertsATrainerCheckpointToPlainSafetensors() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/ckpt.safetensors"
            let result = try ToolRunner.run("swa-convert", [HFFixtures.checkpoint(20), "-o", output, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            #expect(report["output_layout"]?.stringValue == "safetensors")
            #expect(report["input_format"]?.stringValue == "sharded safetensors index")
            #expect(report["tensors"]?.unsignedIntegerValue == 21)
            #expect(TestSupport.contents(of: folder) == ["ckpt.safetensors"])
        }
    }

    /// The paper's checkpoint format: `--key swa_state_dict` picks the SWA weights out of a
    /// torch.save file, and the plain safetensors written equal PyTorch's own tensors.
    @Test func convertsAPyTorchFileChosenByKeyToPlainSafetensors() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/swa.safetensors"
            let result = try ToolRunner.run("swa-convert", ["fixtures/pytorch/paper-swa.pt", "--key", "swa_state_dict", "-o", output])
            #expect(result.status == 0, "\(result.stderr)")
            let converted = try LoadedCheckpoint(path: output)
            let golden = try LoadedCheckpoint(path: "fixtures/pytorch/golden/small-swa.safetensors")
            #expect(converted.header.tensors.map(\.name) == golden.header.tensors.map(\.name))
            for tensor in golden.header.tensors {
                #expect(converted.tensors[tensor.name] == golden.tensors[tensor.name], "\(tensor.name)")
            }
            // Without --key, `state_dict` comes first in the search order: the SGD weights.
            let plain = try ToolRunner.run("swa-convert", ["fixtures/pytorch/paper-swa.pt", "-o", folder + "/sgd.safetensors"])
            #expect(plain.status == 0, "\(plain.stderr)")
            let sgd = try LoadedCheckpoint(path: folder + "/sgd.safetensors")
            let sgdGolden = try LoadedCheckpoint(path: "fixtures/pytorch/golden/small.safetensors")
            #expect(sgd.tensors == sgdGolden.tensors)
            try FileManager.default.removeItem(atPath: folder + "/sgd.safetensors")
            #expect(TestSupport.contents(of: folder) == ["swa.safetensors"])
        }
    }

    @Test func missingShardIsOneLineAndNoOutput() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try HFFixtures.copy(HFFixtures.checkpoint(10), into: folder, as: "checkpoint-10")
            try FileManager.default.removeItem(atPath: model + "/model-00001-of-00002.safetensors")
            for (tool, arguments) in [("swa-convert", [model, "-o", folder + "/out/"]), ("swa-avg", [model, "-o", folder + "/out.bin"])] {
                let result = try ToolRunner.run(tool, arguments)
                #expect(result.status == 1)
                #expect(result.stderr.hasPrefix("\(tool): \(model)/model.safetensors.index.json: names shard 'model-00001-of-00002.safetensors' for tensor '"))
                #expect(result.stderr.filter { $0 == "\n" }.count == 1)
            }
            #expect(TestSupport.contents(of: folder) == ["checkpoint-10"])
        }
    }

    @Test func averagesTheLastCheckpointsOfARunIntoAFolder() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let result = try ToolRunner.run("swa-avg", [HFFixtures.run, "-o", folder + "/averaged/", "--last", "2", "--max-shard-size", "10KB", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            #expect(report["inputs"]?.arrayValue?.compactMap { $0["position"]?.doubleValue } == [30, 40])
            let ours = try HFFixtures.tensors(folder + "/averaged"), golden = try HFFixtures.tensors(HFFixtures.golden("average-last2.safetensors"))
            for (name, (_, bytes)) in golden { #expect(ours[name]?.1 == bytes, "\(name)") }
            #expect(TestSupport.contents(of: folder + "/averaged").contains("model.safetensors.index.json"))
        }
    }

    @Test func badShardSizeIsAUsageError() throws {
        let result = try ToolRunner.run("swa-avg", [HFFixtures.run, "-o", "/tmp/never/", "--max-shard-size", "lots"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("expected a positive size such as 5GB"))
    }
}
