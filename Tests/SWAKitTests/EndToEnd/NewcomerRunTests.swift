import Foundation
import Testing
@testable import SWAFormats
import SWATestSupport

/// A newcomer's own PyTorch run (fixtures/newcomer, made by fixtures/make_newcomer_fixtures.py):
/// state dicts saved every epoch with no swa metadata, a graph written by hand, uint8 images
/// with a mean and std. The tools must apply the normalisation visibly, keep what flags said
/// in their outputs, create files as the umask says, and agree with PyTorch.
@Suite struct NewcomerRunTests {
    static let newcomer = "fixtures/newcomer"
    /// The run README.md's "Bring your own PyTorch run" walks through: its `RUN=` line, so that
    /// switching the walk-through from the `.safetensors` files to the `.pt` ones is one line there.
    static let run: String = {
        let readme = try! String(contentsOfFile: TestSupport.root + "/README.md", encoding: .utf8)
        let line = readme.split(separator: "\n").first { $0.hasPrefix("RUN=fixtures/newcomer/") }!
        return String(line.dropFirst(4))
    }()
    /// The run's last checkpoint, `epoch-12.pt` or `epoch-12.safetensors` as the run folder holds.
    static var lastEpoch: String { run + (run.hasSuffix("/pt") ? "/epoch-12.pt" : "/epoch-12.safetensors") }
    /// Parsed on every use, not held in a global: LeakSanitizer cannot see a global's
    /// `JSONValue` (an indirect enum, whose pointer carries the case in its spare bits), so
    /// `make test-asan` would report the parsed tree as leaked.
    static var golden: JSONValue {
        let text = try! String(contentsOfFile: TestSupport.root + "/" + newcomer + "/golden.json", encoding: .utf8)
        return try! JSONValue.parse(text)
    }

    /// Runs `tool` under a shell with `umask` set, as a user's login shell would.
    static func runWithUmask(_ umask: String, _ tool: String, _ arguments: [String]) throws -> ToolRunner.Result {
        let quoted = ([ToolRunner.binaries + "/" + tool] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let result = try TestSupport.run("/bin/sh", ["-c", "umask \(umask) && exec \(quoted)"], directory: TestSupport.root)
        return ToolRunner.Result(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }

    static func mode(of path: String) -> mode_t {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o777 : 0
    }

    @Test func theRunWithFlagsOnceThenWithout() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let swa = folder + "/swa.bin", swaBN = folder + "/swa-bn.bin"
            let average = try Self.runWithUmask("022", "swa-avg", [Self.run, "--start", "7", "-o", swa])
            #expect(average.status == 0, "\(average.stderr)")
            #expect(Self.mode(of: swa) == 0o644)

            // 1. The BN update with the flags a newcomer gives once.
            let mean = try #require(Self.golden["mean"]?.doubleValue), std = try #require(Self.golden["std"]?.doubleValue)
            let update = try Self.runWithUmask("027", "swa-bn-update", [
                swa, "--graph", Self.newcomer + "/graph.json", "--mean", "\(mean)", "--std", "\(std)",
                "--data", Self.newcomer + "/data/train.npz", "-o", swaBN, "--json"])
            #expect(update.status == 0, "\(update.stderr)")
            #expect(Self.mode(of: swaBN) == 0o640, "umask 027 gives rw-r-----")
            let report = try JSONValue.parse(update.stdout)
            let normalization = try #require(report["normalization"])
            #expect(normalization["source"]?.stringValue == "flags")
            #expect(normalization["mean"]?.arrayValue?.map(\.doubleValue) == [mean])
            #expect(normalization["std"]?.arrayValue?.map(\.doubleValue) == [std])
            #expect(normalization["scale"]?.doubleValue == 1.0 / 255)
            #expect(normalization["layout"]?.stringValue == "nchw")

            // The output carries the graph, the normalisation, and swa.bn records it.
            let header = try LoadedCheckpoint(path: swaBN).header
            let metadata = header.checkpointMetadata
            #expect(metadata.graphJSON != nil)
            #expect(try metadata.preprocessing(file: swaBN) == Preprocessing(layout: .nchw, mean: [mean], std: [std]))
            guard case let .recomputed(record)? = metadata.batchNorm else { Issue.record("swa.bn: \(String(describing: metadata.batchNorm))"); return }
            #expect(record.normalization == NormalizationRecord(source: .flags, layout: .nchw, mean: [mean], std: [std], scale: 1.0 / 255))
            #expect(record.batchSize == Self.golden["bn_batch_size"]?.unsignedIntegerValue.map(Int.init))

            // update_bn's statistics, as PyTorch computed them.
            let tensors = try TestSupport.readAll(swaBN).tensors
            let statistics = try #require(Self.golden["bn_statistics"]?.objectMembers)
            #expect(statistics.count == 4)
            for (key, values) in statistics {
                let (info, bytes) = try #require(tensors[key])
                let expected = values.arrayValue!.map { $0.doubleValue! }
                #expect(TestSupport.allClose(TestSupport.doubles(bytes, dtype: info.dtype), expected, rtol: 1e-4, atol: 1e-6), "\(key)")
            }

            // 2. Evaluation: once with every flag, once with none; the same numbers, and PyTorch's.
            let common = ["--ensemble", Self.run, "--start", "7", "--data", Self.newcomer + "/data/test.npz", "--json"]
            let flagged = try ToolRunner.run("swa-eval", [swaBN, "--graph", Self.newcomer + "/graph.json",
                                                          "--mean", "\(mean)", "--std", "\(std)"] + common)
            let bare = try ToolRunner.run("swa-eval", [swaBN] + common)
            #expect(flagged.status == 0 && bare.status == 0, "\(flagged.stderr)\(bare.stderr)")
            #expect(!bare.stderr.contains("warning"), "\(bare.stderr)")
            let withFlags = try JSONValue.parse(flagged.stdout), without = try JSONValue.parse(bare.stdout)
            #expect(withFlags["data"]?["normalization"]?["source"]?.stringValue == "flags")
            #expect(without["data"]?["normalization"]?["source"]?.stringValue == "swa.preprocess")
            for part in ["model", "ensemble"] {
                for metric in ["accuracy", "nll", "ece", "brier"] {
                    #expect(withFlags[part]?[metric] != nil && withFlags[part]?[metric] == without[part]?[metric], "\(part).\(metric)")
                }
            }
            #expect(withFlags["agreement"] == without["agreement"])
            let swaGolden = try #require(Self.golden["swa_bn"]), fgeGolden = try #require(Self.golden["fge"])
            #expect(without["model"]?["accuracy"]?.doubleValue == swaGolden["accuracy"]?.doubleValue)
            #expect(abs(without["model"]!["nll"]!.doubleValue! - swaGolden["nll"]!.doubleValue!) < 2e-5)
            #expect(without["ensemble"]?["accuracy"]?.doubleValue == fgeGolden["accuracy"]?.doubleValue)
            #expect(abs(without["ensemble"]!["nll"]!.doubleValue! - fgeGolden["nll"]!.doubleValue!) < 2e-5)
            let members = try #require(without["ensemble"]?["members"]?.arrayValue)
            #expect(members.map { $0["accuracy"]?.doubleValue } == Self.golden["members"]!.arrayValue!.map { $0["accuracy"]?.doubleValue })
            #expect(TestSupport.contents(of: folder) == ["swa-bn.bin", "swa.bin"])
        }
    }

    @Test func imagesWithNoNormalisationAreReportedAndWarnedAbout() throws {
        let result = try ToolRunner.run("swa-eval", [Self.lastEpoch, "--graph", Self.newcomer + "/graph.json",
                                                     "--data", Self.newcomer + "/data/test.npz"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: \(Self.newcomer)/data/test.npz: no normalisation"), "\(result.stderr)")
        #expect(result.stderr.contains("pass the training mean and std: --mean M[,M,M] --std S[,S,S]"))
        #expect(result.stdout.contains("normalisation: none (inputs only scaled: scaling by 1/255)"), "\(result.stdout)")
        let json = try ToolRunner.run("swa-eval", [Self.lastEpoch, "--graph", Self.newcomer + "/graph.json",
                                                   "--data", Self.newcomer + "/data/test.npz", "--json", "--quiet"])
        let normalization = try JSONValue.parse(json.stdout)["data"]?["normalization"]
        #expect(normalization?["source"]?.stringValue == "none")
        #expect(normalization?["mean"] == nil)
        #expect(json.stderr.isEmpty, "--quiet silences the warning: \(json.stderr)")
    }

    @Test func summaryLinesNameTheNormalisationAndItsSource() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let update = try ToolRunner.run("swa-bn-update", [Self.lastEpoch, "--graph", Self.newcomer + "/graph.json",
                                                              "--mean", "0.3054", "--std", "0.3758", "--data", Self.newcomer + "/data/train.npz",
                                                              "-o", folder + "/bn.bin"])
            #expect(update.status == 0, "\(update.stderr)")
            #expect(update.stdout.contains("recomputed 2 BN layers of \(Self.lastEpoch) over 1300 samples in 11 batches"), "\(update.stdout)")
            #expect(update.stdout.contains("  normalisation: mean [0.3054] std [0.3758] after scaling by 1/255 (from --mean/--std)"))
            let eval = try ToolRunner.run("swa-eval", [folder + "/bn.bin", "--data", Self.newcomer + "/data/test.npz"])
            #expect(eval.status == 0, "\(eval.stderr)")
            #expect(eval.stdout.contains("normalisation: mean [0.3054] std [0.3758] after scaling by 1/255 (from swa.preprocess)"), "\(eval.stdout)")
        }
    }

    @Test func plotAndCSVAreRefusedUnlessForced() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let plot = folder + "/curve.svg", csv = folder + "/curve.csv"
            try Data("mine".utf8).write(to: URL(fileURLWithPath: plot))
            let arguments = [Self.lastEpoch, "--graph", Self.newcomer + "/graph.json", "--mean", "0.3054", "--std", "0.3758",
                             "--ensemble", Self.run, "--last", "2", "--data", Self.newcomer + "/data/test.npz", "--csv", csv, "--plot", plot]
            let refused = try ToolRunner.run("swa-eval", arguments)
            #expect(refused.status == 1)
            #expect(refused.stderr == "swa-eval: \(plot): already exists; pass --force to replace it\n", "\(refused.stderr)")
            #expect(try String(contentsOfFile: plot, encoding: .utf8) == "mine")
            #expect(TestSupport.contents(of: folder) == ["curve.svg"], "nothing written, not even the CSV")
            let forced = try ToolRunner.run("swa-eval", arguments + ["--force"])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(try String(contentsOfFile: plot, encoding: .utf8).contains("<svg"))
            #expect(TestSupport.contents(of: folder) == ["curve.csv", "curve.svg"])
        }
    }

    @Test func aMissingOutputFolderFailsBeforeThePass() throws {
        let result = try ToolRunner.run("swa-bn-update", [Self.lastEpoch, "--graph", Self.newcomer + "/graph.json",
                                                          "--data", Self.newcomer + "/data/train.npz", "-o", "out/nope/bn.bin"])
        #expect(result.status == 1)
        #expect(result.stderr.hasSuffix("out/nope/bn.bin: the output folder 'out/nope' does not exist; create it first (mkdir -p out/nope)\n"), "\(result.stderr)")
    }

    @Test func printGraphWorksWithArchAlone() throws {
        let result = try ToolRunner.run("swa-bn-update", ["--print-graph", "--arch", "preresnet20"])
        #expect(result.status == 0, "\(result.stderr)")
        let graph = try JSONValue.parse(result.stdout)
        #expect(graph["format"]?.stringValue == "swa.graph")
        #expect(graph["output"]?.stringValue == "fc")
        let missing = try ToolRunner.run("swa-bn-update", ["--print-graph"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("missing the model checkpoint"), "\(missing.stderr)")
    }
}
