import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// `swa-eval` run as a user runs it, on the fixture pipeline.
@Suite struct SWAEvalCommandTests {
    @Test func jsonFollowsTheContractAndMatchesPyTorch() throws {
        try withPipeline { folder, swa, _ in
            let result = try ToolRunner.run("swa-eval", [swa, "--ensemble", "fixtures/checkpoints", "--start", "10", "--every", "2",
                                                         "--data", "fixtures/data/test.npz", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            let golden = try JSONValue.parse(String(contentsOfFile: TestSupport.golden + "/golden.json", encoding: .utf8))["eval"]!
            // docs/CLI.md: these fields are the contract.
            #expect(report["data"]?["path"]?.stringValue == "fixtures/data/test.npz")
            #expect(report["data"]?["samples"]?.unsignedIntegerValue == 497)
            for key in ["path", "accuracy", "nll", "ece", "brier", "bn"] { #expect(report["model"]?[key] != nil, "model.\(key)") }
            #expect(report["model"]?["bn"]?.stringValue == "updated")
            #expect(report["model"]?["accuracy"]?.doubleValue == golden["swa"]?["accuracy"]?.doubleValue)
            let ensemble = try #require(report["ensemble"])
            for key in ["members", "accuracy", "nll", "ece", "brier", "curve"] { #expect(ensemble[key] != nil, "ensemble.\(key)") }
            let members = try #require(ensemble["members"]?.arrayValue)
            #expect(members.count == 6)
            #expect(members.allSatisfy { $0["path"]?.stringValue != nil && $0["accuracy"] != nil && $0["nll"] != nil })
            #expect(members.map { $0["accuracy"]?.doubleValue } == golden["members"]!.arrayValue!.map { $0["accuracy"]?.doubleValue })
            let curve = try #require(ensemble["curve"]?.arrayValue)
            #expect(curve.map { $0["k"]?.unsignedIntegerValue } == [1, 2, 3, 4, 5, 6])
            #expect(curve.allSatisfy { $0["accuracy"] != nil && $0["nll"] != nil })
            #expect(ensemble["accuracy"]?.doubleValue == golden["ensemble"]?["accuracy"]?.doubleValue)
            let nll = try #require(ensemble["nll"]?.doubleValue), goldenNLL = try #require(golden["ensemble"]?["nll"]?.doubleValue)
            #expect(abs(nll - goldenNLL) <= 1e-5 * goldenNLL)
            #expect(report["agreement"]?.doubleValue == golden["agreement"]?.doubleValue)
            // §3.5: averaging weights approximates averaging predictions (x ≪ y on this run).
            let x = try #require(report["linearization"]?["model_vs_ensemble"]?.doubleValue)
            let y = try #require(report["linearization"]?["member_pairs"]?.doubleValue)
            #expect(x > 0 && y > 0)
            #expect(report["forward_passes"]?["model"]?.unsignedIntegerValue == 1)
            #expect(report["forward_passes"]?["ensemble"]?.unsignedIntegerValue == 6)
            #expect(TestSupport.contents(of: folder).sorted() == ["swa-bn.bin", "swa.bin"])
        }
    }

    @Test func tableShowsEveryModelAndWarnsAboutStaleStatistics() throws {
        try withPipeline { folder, swa, stale in
            let result = try ToolRunner.run("swa-eval", [stale, "--ensemble", "fixtures/checkpoints", "--last", "3",
                                                         "--data", "fixtures/data/test.npz", "--csv", folder + "/curve.csv",
                                                         "--plot", folder + "/curve.svg"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("warning: \(stale) has averaged BN statistics"))
            #expect(result.stderr.contains("swa-bn-update"))
            for row in ["ckpt-018.safetensors.zst", "ckpt-020.safetensors.zst", "FGE ensemble of 3", "SWA swa.bin, BN stale", "agree on the top class",
                        "Linearization (paper §3.5): the model's predictions differ from the ensemble's by a mean total variation of "] {
                #expect(result.stdout.contains(row), "\(row)")
            }
            let csv = try String(contentsOfFile: folder + "/curve.csv", encoding: .utf8).split(separator: "\n")
            #expect(csv.first == "k,accuracy,nll,ece,brier")
            #expect(csv.count == 4)
            #expect(csv.dropFirst().map { $0.split(separator: ",").first } == ["1", "2", "3"])
            let svg = try String(contentsOfFile: folder + "/curve.svg", encoding: .utf8)
            #expect(svg.contains("<svg"))
            #expect(svg.contains("FGE ensemble of first k"))
            #expect(svg.contains("SWA model"))
            _ = swa
        }
    }

    /// Over `--max-resident`, one pass per model: a warning that says why, and the same report.
    @Test func overTheResidentBudgetEachModelGetsItsOwnPassWithTheSameReport() throws {
        try withPipeline { _, swa, stale in
            let arguments = [swa, "--ensemble", "fixtures/checkpoints", "--last", "4", "--before-bn", stale,
                             "--data", "fixtures/data/test.npz", "--json"]
            let onePass = try ToolRunner.run("swa-eval", arguments)
            #expect(onePass.status == 0, "\(onePass.stderr)")
            #expect(!onePass.stderr.contains("--max-resident"), "\(onePass.stderr)")
            let perModel = try ToolRunner.run("swa-eval", arguments + ["--max-resident", "10KB"])
            #expect(perModel.status == 0, "\(perModel.stderr)")
            #expect(perModel.stderr.contains("swa-eval: warning: the weights of the model, --before-bn and the 4 ensemble members take "), "\(perModel.stderr)")
            #expect(perModel.stderr.contains("more than --max-resident 9.8 KiB; evaluating one model per pass instead"), "\(perModel.stderr)")
            // Everything but the timings ("seconds"), number for number.
            let a = try JSONValue.parse(onePass.stdout), b = try JSONValue.parse(perModel.stdout)
            #expect(a["ensemble"]?["curve"]?.arrayValue?.count == 4)
            #expect(a["ensemble"]?["curve"] == b["ensemble"]?["curve"])
            #expect(a["ensemble"]?["members"] == b["ensemble"]?["members"])
            #expect(a["ensemble"]?["nll"] == b["ensemble"]?["nll"] && a["ensemble"]?["ece"] == b["ensemble"]?["ece"])
            #expect(a["linearization"] != nil && a["linearization"] == b["linearization"])
            #expect(a["agreement"]?.doubleValue == b["agreement"]?.doubleValue)
            #expect(a["model_before_bn"]?["nll"]?.doubleValue == b["model_before_bn"]?["nll"]?.doubleValue)
            #expect(a["model"]?["nll"]?.doubleValue == b["model"]?["nll"]?.doubleValue)
        }
    }

    @Test func aMisspeltResidentBudgetIsAUsageError() throws {
        let result = try ToolRunner.run("swa-eval", ["model.bin", "--data", "test.npz", "--max-resident", "lots"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("expected a positive size such as 5GB, 500MB, 2GiB or a number of bytes, got 'lots'"), "\(result.stderr)")
    }

    // MARK: - Bad input

    @Test func membersOfAnotherNetworkAreNamed() throws {
        try withPipeline { folder, swa, _ in
            // A member whose swa.graph says its head is wider.
            let source = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-020.safetensors.zst")
            let graph = source.header.metadata["swa.graph"]!.replacingOccurrences(of: #""p": 0.1"#, with: #""p": 0.2"#)
            var metadata = source.header.metadata
            metadata["swa.graph"] = graph
            try FileManager.default.createDirectory(atPath: folder + "/other", withIntermediateDirectories: false)
            try CheckpointWriter.write(source.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), source.tensors[$0.name]!) },
                                       metadata: metadata, to: folder + "/other/ckpt-021.safetensors.zst", overwrite: false)
            let result = try ToolRunner.run("swa-eval", [swa, "--ensemble", folder + "/other", "--data", "fixtures/data/test.npz"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("ckpt-021.safetensors.zst: ensemble member's graph (swa.graph) differs from the evaluated model's"), "\(result.stderr)")
        }
    }

    @Test func labelsBeyondTheClassesAreNamed() throws {
        try withPipeline { folder, swa, _ in
            try NpzWriter.write([("x", .init(float32: [Float](repeating: 0.5, count: 3 * 64), shape: [3, 1, 8, 8])),
                                 ("y", .init(int64: [1, 12, 3], shape: [3]))], to: folder + "/bad-labels.npz", compressed: false)
            let result = try ToolRunner.run("swa-eval", [swa, "--data", folder + "/bad-labels.npz"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("bad-labels.npz: label 12 of sample 1 is out of range for a model with 10 classes"), "\(result.stderr)")
        }
    }

    @Test func anEmptySelectionIsAnError() throws {
        try withPipeline { _, swa, _ in
            let result = try ToolRunner.run("swa-eval", [swa, "--ensemble", "fixtures/checkpoints", "--start", "50", "--data", "fixtures/data/test.npz"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("keeps none of the 20 checkpoints"), "\(result.stderr)")
        }
    }

    // MARK: - Helpers

    /// Average (--start 10 --every 2) and BN update of the fixtures: paths of the updated and stale models.
    private func withPipeline(_ body: (String, String, String) throws -> Void) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let stale = folder + "/swa.bin", swa = folder + "/swa-bn.bin"
            #expect(try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", stale, "--start", "10", "--every", "2", "-q"]).status == 0)
            #expect(try ToolRunner.run("swa-bn-update", [stale, "--data", "fixtures/data/train.npz", "-o", swa, "--batch-size", "64", "-q"]).status == 0)
            try body(folder, swa, stale)
        }
    }
}
