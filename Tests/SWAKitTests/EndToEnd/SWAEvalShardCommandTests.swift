import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// `swa-eval --shard/--partial/--merge` as a user runs them: the merged `--json` report is the
/// single run's, and the merge's refusals are one line with exit 1; usage errors exit 2.
@Suite struct SWAEvalShardCommandTests {
    static let run = ["--ensemble", "fixtures/checkpoints", "--start", "16", "--every", "2", "--data", "fixtures/data/test.npz",
                      "--limit", "300", "--batch-size", "64"]

    private func withPartials(_ body: (_ folder: String, _ model: String, _ partials: [String]) throws -> Void) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            var partials: [String] = []
            for index in 0..<2 {
                let partial = folder + "/eval-\(index)"
                // Kubernetes Indexed Job: JOB_COMPLETION_INDEX with --shard-count.
                let result = try ToolRunner.run("swa-eval", [model] + Self.run + ["--shard", "auto", "--shard-count", "2", "--partial", partial, "--json"],
                                                environment: ["JOB_COMPLETION_INDEX": String(index), "SLURM_ARRAY_TASK_ID": nil])
                #expect(result.status == 0, "\(result.stderr)")
                let report = try JSONValue.parse(result.stdout)
                #expect(report["shard"]?.stringValue == "\(index)/2")
                partials.append(partial)
            }
            try body(folder, model, partials)
        }
    }

    @Test func mergedJSONIsTheSingleRunsUpToTimings() throws {
        try withPartials { folder, model, partials in
            let single = try ToolRunner.run("swa-eval", [model] + Self.run + ["--json"])
            #expect(single.status == 0, "\(single.stderr)")
            let merged = try ToolRunner.run("swa-eval", ["--merge"] + partials + ["--json", "--csv", folder + "/curve.csv"])
            #expect(merged.status == 0, "\(merged.stderr)")
            let a = try JSONValue.parse(single.stdout), b = try JSONValue.parse(merged.stdout)
            #expect(a["data"]?["samples"]?.unsignedIntegerValue == b["data"]?["samples"]?.unsignedIntegerValue)
            #expect(a["model"]?["accuracy"]?.doubleValue == b["model"]?["accuracy"]?.doubleValue)
            #expect(a["agreement"]?.doubleValue == b["agreement"]?.doubleValue)
            let curveA = try #require(a["ensemble"]?["curve"]?.arrayValue), curveB = try #require(b["ensemble"]?["curve"]?.arrayValue)
            #expect(curveA.count == curveB.count && curveA.count >= 2)
            for (x, y) in zip(curveA, curveB) {
                #expect(x["accuracy"]?.doubleValue == y["accuracy"]?.doubleValue)
                // Bit for bit: the Float64 sums are added per batch, in batch order, in both.
                for key in ["nll", "ece", "brier"] { #expect(x[key] == y[key], "curve \(key)") }
            }
            #expect(FileManager.default.fileExists(atPath: folder + "/curve.csv"))
        }
    }

    private func expectMergeFailure(_ message: String, prepare: (_ folder: String, _ model: String, _ partials: [String]) throws -> [String]) throws {
        try withPartials { folder, model, partials in
            let result = try ToolRunner.run("swa-eval", ["--merge"] + (try prepare(folder, model, partials)) + ["--csv", folder + "/c.csv"])
            #expect(result.status == 1, "stdout: \(result.stdout) stderr: \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("swa-eval: ") && result.stderr.contains(message), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/c.csv"))
        }
    }

    @Test func refusesAMissingShard() throws {
        try expectMergeFailure("missing shard 0/2") { _, _, partials in [partials[1]] }
    }

    @Test func refusesADuplicateShard() throws {
        try expectMergeFailure("duplicate shard 1/2") { folder, _, partials in
            try FileManager.default.copyItem(atPath: partials[1], toPath: folder + "/copy")
            return partials + [folder + "/copy"]
        }
    }

    @Test func refusesPartialsOfOtherInputs() throws {
        try expectMergeFailure("differs from") { folder, model, partials in
            let other = folder + "/other"
            let result = try ToolRunner.run("swa-eval", [model] + Self.run.map { $0 == "16" ? "15" : $0 } + ["--shard", "1/2", "--partial", other, "-q"])
            #expect(result.status == 0, "\(result.stderr)")
            return [partials[0], other]
        }
    }

    @Test func refusesADamagedPartialAndAFileThatIsNotOne() throws {
        try expectMergeFailure("eval-1: ") { _, _, partials in
            var bytes = try TestSupport.bytes(of: partials[1])
            bytes[bytes.count / 2] ^= 0x04
            try Data(bytes).write(to: URL(fileURLWithPath: partials[1]))
            return partials
        }
        try expectMergeFailure("not a partial result (no swa.partial metadata)") { _, model, partials in [partials[0], model] }
    }

    @Test func usageErrorsExitWith2() throws {
        for (flags, message) in [
            (["--merge", "p", "--data", "fixtures/data/test.npz"], "leave out --data"),
            (["m.bin", "--merge", "p"], "leave out the model"),
            (["m.bin", "--data", "fixtures/data/test.npz", "--shard", "0/2"], "--shard needs --partial"),
            (["m.bin", "--data", "fixtures/data/test.npz", "--shard", "auto", "--partial", "p"], "--shard-count"),
        ] {
            let result = try ToolRunner.run("swa-eval", flags, environment: ["JOB_COMPLETION_INDEX": "0", "SLURM_ARRAY_TASK_ID": nil])
            #expect(result.status == 2, "\(flags): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(flags): \(result.stderr)")
        }
    }
}
