import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// The tools on PyTorch `torch.save` inputs, run as a user runs them.
@Suite struct PyTorchCommandTests {
    @Test("swa-avg over a folder of .pt files equals, bit for bit, the average of the same checkpoints in our format")
    func averageOfPyTorchFilesEqualsOurs() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let fromTorch = folder + "/torch.bin"
            let fromOurs = folder + "/ours.bin"
            let torch = try ToolRunner.run("swa-avg", ["fixtures/pytorch/run", "-o", fromTorch, "--json"])
            #expect(torch.status == 0, "\(torch.stderr)")
            let ours = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "--start", "17", "-o", fromOurs])
            #expect(ours.status == 0, "\(ours.stderr)")
            let a = try TestSupport.readAll(fromTorch)
            let b = try TestSupport.readAll(fromOurs)
            #expect(a.tensors.count == 27 && Set(a.tensors.keys) == Set(b.tensors.keys))
            for (name, (info, bytes)) in a.tensors {
                let (otherInfo, otherBytes) = try #require(b.tensors[name])
                #expect(info.dtype == otherInfo.dtype && info.shape == otherInfo.shape && bytes == otherBytes, "\(name)")
            }
            // Positions come from the files' epochs; each input's SHA-256 is its file's.
            let report = try JSONValue.parse(torch.stdout)
            let inputs = try #require(report["inputs"]?.arrayValue)
            #expect(inputs.compactMap { $0["position"]?.doubleValue } == [17, 18, 19, 20])
            let sha = try TestSupport.run("/usr/bin/sha256sum", ["fixtures/pytorch/run/epoch-017.pt"], directory: TestSupport.root)
            #expect(inputs[0]["sha256"]?.stringValue == String(decoding: sha.stdout.prefix(64), as: UTF8.self))
        }
    }

    @Test("--key and --strip-prefix reach the tensors through swa-inspect and swa-avg")
    func keyAndStripPrefix() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inspect = try ToolRunner.run("swa-inspect", ["fixtures/pytorch/paper-swa.pt", "--key", "swa_state_dict", "--json"])
            #expect(inspect.status == 0, "\(inspect.stderr)")
            let json = try JSONValue.parse(inspect.stdout)
            #expect(json["pytorch"]?["state_dict_key"]?.stringValue == "swa_state_dict")
            #expect(json["container"]?.stringValue == "pytorchZip")

            let output = folder + "/ema.bin"
            let result = try ToolRunner.run("swa-avg", ["fixtures/pytorch/lightning.ckpt", "--key", "callbacks.EMA.ema_state_dict", "-o", output])
            #expect(result.status == 0, "\(result.stderr)")
            let averaged = try TestSupport.readAll(output)
            let golden = try TestSupport.readAll(PyTorchReaderTests.folder + "/golden/small-ema.safetensors")
            #expect(Set(averaged.tensors.keys) == Set(golden.tensors.keys))
            for (name, (_, bytes)) in averaged.tensors { #expect(bytes == golden.tensors[name]!.1, "\(name)") }

            let stripped = folder + "/stripped.bin"
            let strip = try ToolRunner.run("swa-avg", ["fixtures/pytorch/lightning.ckpt", "--strip-prefix", "model.", "-o", stripped])
            #expect(strip.status == 0, "\(strip.stderr)")
            #expect(Set(try TestSupport.readAll(stripped).tensors.keys) == Set(golden.tensors.keys))

            let wrong = try ToolRunner.run("swa-avg", ["fixtures/pytorch/paper.pt", "--key", "nothing", "-o", folder + "/no.bin"])
            #expect(wrong.status == 1)
            #expect(wrong.stderr == "swa-avg: fixtures/pytorch/paper.pt: --key 'nothing': no 'nothing' at the top level (keys there: 'epoch', 'state_dict', 'optimizer')\n")
            #expect(!FileManager.default.fileExists(atPath: folder + "/no.bin"))
            let usage = try ToolRunner.run("swa-inspect", ["fixtures/pytorch/paper.pt", "--key", "a."])
            #expect(usage.status == 2)
        }
    }

    @Test("swa-eval takes FGE members straight from .pt files: the same curve as from our checkpoints")
    func ensembleFromPyTorchFiles() throws {
        let model = "fixtures/checkpoints/ckpt-020.safetensors.zst"
        let torch = try ToolRunner.run("swa-eval", [model, "--ensemble", "fixtures/pytorch/run", "--data", "fixtures/data/test.npz", "--json"])
        #expect(torch.status == 0, "\(torch.stderr)")
        let ours = try ToolRunner.run("swa-eval", [model, "--ensemble", "fixtures/checkpoints", "--start", "17", "--data", "fixtures/data/test.npz", "--json"])
        #expect(ours.status == 0, "\(ours.stderr)")
        let a = try JSONValue.parse(torch.stdout)
        let b = try JSONValue.parse(ours.stdout)
        #expect(a["ensemble"]?["curve"] != nil)
        #expect(a["ensemble"]?["curve"]?.serialized == b["ensemble"]?["curve"]?.serialized)
    }
}

extension PyTorchCommandTests {
    @Test("swa-bn-update reads a .pt model chosen with --key: the same result as from our checkpoint")
    func batchNormUpdateFromPyTorch() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let ours = "fixtures/checkpoints/ckpt-020.safetensors.zst"
            let graph = try ToolRunner.run("swa-bn-update", [ours, "--print-graph"])
            #expect(graph.status == 0, "\(graph.stderr)")
            let graphPath = try TestSupport.write(Array(graph.stdout.utf8), to: folder, name: "graph.json")
            // The run's last checkpoint as the paper's code saves it (no swa.preprocess: the
            // normalisation the zstd checkpoint records is given by flags).
            let fromTorch = folder + "/torch-bn.bin"
            let torch = try ToolRunner.run("swa-bn-update", ["fixtures/pytorch/run/epoch-020.pt", "--key", "state_dict", "--graph", graphPath,
                                                             "--mean", "0.30536583533653844", "--std", "0.3759227772412325",
                                                             "--data", "fixtures/data/train.npz", "-o", fromTorch, "-q"])
            #expect(torch.status == 0, "\(torch.stderr)")
            let fromOurs = folder + "/ours-bn.bin"
            let reference = try ToolRunner.run("swa-bn-update", [ours, "--graph", graphPath, "--data", "fixtures/data/train.npz", "-o", fromOurs, "-q"])
            #expect(reference.status == 0, "\(reference.stderr)")
            let a = try TestSupport.readAll(fromTorch)
            let b = try TestSupport.readAll(fromOurs)
            #expect(Set(a.tensors.keys) == Set(b.tensors.keys))
            for (name, (_, bytes)) in a.tensors { #expect(bytes == b.tensors[name]?.1, "\(name)") }
        }
    }
}
