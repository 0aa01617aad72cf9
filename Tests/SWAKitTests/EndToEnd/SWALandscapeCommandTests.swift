import Foundation
import Testing
@testable import SWAFormats

/// `swa-landscape` run as a user runs it, on the fixture run.
@Suite struct SWALandscapeCommandTests {
    static let data = ["--train", "fixtures/data/train.npz", "--test", "fixtures/data/test.npz"]
    static let ckpt10 = "fixtures/checkpoints/ckpt-010.safetensors.zst", ckpt14 = "fixtures/checkpoints/ckpt-014.safetensors.zst"
    static let ckpt20 = "fixtures/checkpoints/ckpt-020.safetensors.zst"

    @Test func lineJSONFollowsTheContractAndWritesCSVAndPlot() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let result = try ToolRunner.run("swa-landscape", ["line", Self.ckpt10, Self.ckpt20, "--steps=-0.5:1.5:5", "--json",
                                                              "--csv", folder + "/line.csv", "--plot", folder + "/line.svg"] + Self.data)
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            #expect(report["kind"]?.stringValue == "line")
            let points = try #require(report["points"]?.arrayValue)
            #expect(points.map { $0["t"]?.doubleValue } == [-0.5, 0, 0.5, 1, 1.5])
            for point in points {
                for key in ["train_loss", "train_error", "test_error", "test_nll"] { #expect(point[key]?.doubleValue != nil, "\(key)") }
                #expect(point["direction"] == nil && point["a"] == nil)
            }
            // PyTorch's values (fixtures/golden/landscape/line.json).
            let golden = try JSONValue.parse(String(contentsOfFile: TestSupport.golden + "/landscape/line.json", encoding: .utf8))
            let expected = try #require(golden["lines"]?["ckpt-010_ckpt-020"]?["update"]?.arrayValue)
            for (point, want) in zip(points, expected) {
                let nll = try #require(point["test_nll"]?.doubleValue), reference = try #require(want["test_nll"]?.doubleValue)
                #expect(abs(nll - reference) <= 1e-4 * reference)
            }
            let csv = try String(contentsOfFile: folder + "/line.csv", encoding: .utf8).split(separator: "\n")
            #expect(csv.first == "t,train_loss,train_error,test_error,test_nll" && csv.count == 6)
            #expect(try String(contentsOfFile: folder + "/line.svg", encoding: .utf8).contains("<svg"))
            // Existing outputs are kept without --force.
            let again = try ToolRunner.run("swa-landscape", ["line", Self.ckpt10, Self.ckpt20, "--steps", "0,1",
                                                             "--plot", folder + "/line.svg"] + Self.data)
            #expect(again.status == 1)
            #expect(again.stderr == "swa-landscape: \(folder)/line.svg: already exists; pass --force to replace it\n")
            // ... and replaced with it.
            let forced = try ToolRunner.run("swa-landscape", ["line", Self.ckpt10, Self.ckpt20, "--steps", "0,1", "--force",
                                                              "--csv", folder + "/line.csv", "--plot", folder + "/line.svg"] + Self.data)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(try String(contentsOfFile: folder + "/line.csv", encoding: .utf8).split(separator: "\n").count == 3)
        }
    }

    /// PyTorch files are read where checkpoints are: the line between two torch.save files of the
    /// run equals the line between the same epochs in our format (graph and normalisation given
    /// by flags, since a bare state dict carries neither).
    @Test func theLineBetweenPyTorchFilesEqualsTheLineInOurFormat() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let reference = try LoadedCheckpoint(path: "fixtures/checkpoints/ckpt-020.safetensors.zst")
            try #require(reference.header.metadata["swa.graph"]).write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8)
            let preprocessing = try #require(try reference.header.checkpointMetadata.preprocessing(file: nil))
            let flags = ["--graph", folder + "/graph.json", "--mean", preprocessing.mean.map { "\($0)" }.joined(separator: ","),
                         "--std", preprocessing.std.map { "\($0)" }.joined(separator: ","), "--steps", "0,0.5,1", "--json"] + Self.data
            let ours = try ToolRunner.run("swa-landscape", ["line", "fixtures/checkpoints/ckpt-017.safetensors.zst", "fixtures/checkpoints/ckpt-020.safetensors.zst"] + flags)
            let pytorch = try ToolRunner.run("swa-landscape", ["line", "fixtures/pytorch/run/epoch-017.pt", "fixtures/pytorch/run/epoch-020.pt",
                                                               "--key", "state_dict"] + flags)
            #expect(ours.status == 0 && pytorch.status == 0, "\(ours.stderr) \(pytorch.stderr)")
            #expect(try JSONValue.parse(ours.stdout)["points"] == JSONValue.parse(pytorch.stdout)["points"])
        }
    }

    @Test func widthAndPlaneTables() throws {
        let width = try ToolRunner.run("swa-landscape", ["width", Self.ckpt20, "--directions", "1", "--distances", "0,10", "--seed", "1"] + Self.data)
        #expect(width.status == 0, "\(width.stderr)")
        #expect(width.stdout.contains("\(Self.ckpt20): train loss "))
        #expect(width.stdout.contains("width at loss"))
        let plane = try ToolRunner.run("swa-landscape", ["plane", Self.ckpt10, Self.ckpt14, Self.ckpt20, "--grid", "2", "--json"] + Self.data)
        #expect(plane.status == 0, "\(plane.stderr)")
        let report = try JSONValue.parse(plane.stdout)
        #expect(report["kind"]?.stringValue == "plane")
        let points = try #require(report["points"]?.arrayValue)
        #expect(points.count == 4 && points.allSatisfy { $0["a"]?.doubleValue != nil && $0["b"]?.doubleValue != nil && $0["t"] == nil })
        #expect(report["plane"]?["placed"]?.arrayValue?.count == 3)
    }

    // MARK: - Bad input: one line each

    @Test func badRangesAndCountsAreUsageErrors() throws {
        for (arguments, message) in [
            (["line", Self.ckpt10, Self.ckpt20, "--steps", "0:1"], "The value '0:1' is invalid for '--steps <range>': '0:1' is not a range A:B:N"),
            (["line", Self.ckpt10, Self.ckpt20, "--steps="], "Missing value for '--steps <range>'"),
            (["width", Self.ckpt20, "--distances", "1,x"], "The value '1,x' is invalid for '--distances <range>': '1,x': 'x' is not a number"),
            (["line", Self.ckpt10, Self.ckpt20, "--steps", "0:1:0"], "The value '0:1:0' is invalid for '--steps <range>': '0:1:0' asks for 0 points; N must be at least 1"),
            (["width", Self.ckpt20, "--directions", "0"], "--directions must be at least 1, got 0\n"),
        ] {
            let result = try ToolRunner.run("swa-landscape", arguments + Self.data)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.hasPrefix("swa-landscape: Error: " + message), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func collinearPointsAndMismatchedEndpointsAreOneLine() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let plane = try ToolRunner.run("swa-landscape", ["plane", Self.ckpt10, Self.ckpt20, Self.ckpt10, "--grid", "2"] + Self.data)
            #expect(plane.status == 1)
            #expect(plane.stderr == "swa-landscape: ckpt-010.safetensors.zst, ckpt-020.safetensors.zst and ckpt-010.safetensors.zst are collinear "
                + "(ckpt-010.safetensors.zst lies on the line through the other two); a plane needs three non-collinear points\n")
            let source = try LoadedCheckpoint(path: TestSupport.root + "/" + Self.ckpt20)
            let specs = source.header.tensors.filter { $0.name != "head.4.bias" }
                .map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), source.tensors[$0.name]!) }
            try CheckpointWriter.write(specs, metadata: source.header.metadata, to: folder + "/partial.bin", overwrite: false)
            let line = try ToolRunner.run("swa-landscape", ["line", Self.ckpt10, folder + "/partial.bin"] + Self.data)
            #expect(line.status == 1)
            #expect(line.stderr == "swa-landscape: \(folder)/partial.bin: tensor 'head.4.bias' is missing (it is in \(Self.ckpt10))\n")
        }
    }
}
