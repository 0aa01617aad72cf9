import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// `swa-bn-update --shard/--partial/--merge` as a user runs them: the merge equals the single
/// run, `--shard auto` reads Slurm's variables, and each refusal is one line with exit 1 (bad
/// input) or 2 (bad usage), leaving no output behind.
@Suite struct SWABNUpdateShardCommandTests {
    static let data = ["--data", "fixtures/data/train.npz", "--limit", "400", "--batch-size", "64"]

    /// An average of the fixtures and three partials of its BN pass (the last from `--shard auto`).
    private func withPartials(_ body: (_ folder: String, _ model: String, _ partials: [String]) throws -> Void) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            var partials: [String] = []
            for index in 0..<3 {
                let partial = folder + "/bn-\(index)"
                let shard = index == 2 ? ["--shard", "auto"] : ["--shard", "\(index)/3"]
                // --array=1-3: task 3 is shard 2.
                let environment: [String: String?] = index == 2
                    ? ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"] : [:]
                let result = try ToolRunner.run("swa-bn-update", [model] + Self.data + shard + ["--partial", partial, "--json"], environment: environment)
                #expect(result.status == 0, "\(result.stderr)")
                let report = try JSONValue.parse(result.stdout)
                #expect(report["shard"]?.stringValue == "\(index)/3")
                #expect(report["partial"]?.stringValue == partial)
                partials.append(partial)
            }
            try body(folder, model, partials)
        }
    }

    @Test func mergeWritesTheSingleRunsCheckpoint() throws {
        try withPartials { folder, model, partials in
            let single = try ToolRunner.run("swa-bn-update", [model] + Self.data + ["-o", folder + "/single.bin", "-q"])
            #expect(single.status == 0, "\(single.stderr)")
            let merged = try ToolRunner.run("swa-bn-update", [model, "--merge"] + partials + ["-o", folder + "/merged.bin", "--json"])
            #expect(merged.status == 0, "\(merged.stderr)")
            let report = try JSONValue.parse(merged.stdout)
            #expect(report["layers"]?.unsignedIntegerValue == 4)
            let a = try LoadedCheckpoint(path: folder + "/single.bin"), b = try LoadedCheckpoint(path: folder + "/merged.bin")
            BatchNormShardTests.expectWithinOneULP(a, b)
        }
    }

    /// Merges `partials` (after `prepare` may damage them) expecting exit 1 and one line containing `message`.
    private func expectMergeFailure(_ message: String, prepare: (_ folder: String, _ model: String, _ partials: [String]) throws -> [String]) throws {
        try withPartials { folder, model, partials in
            let given = try prepare(folder, model, partials)
            let output = folder + "/merged.bin"
            let result = try ToolRunner.run("swa-bn-update", [model, "--merge"] + given + ["-o", output])
            #expect(result.status == 1, "stdout: \(result.stdout) stderr: \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("swa-bn-update: ") && result.stderr.contains(message), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    @Test func refusesAMissingShard() throws {
        try expectMergeFailure("missing shard 1/3") { _, _, partials in [partials[0], partials[2]] }
    }

    @Test func refusesADuplicateShard() throws {
        try expectMergeFailure("duplicate shard 1/3") { folder, _, partials in
            try FileManager.default.copyItem(atPath: partials[1], toPath: folder + "/copy")
            return partials + [folder + "/copy"]
        }
    }

    @Test func refusesPartialsOfOtherOptions() throws {
        try expectMergeFailure("option batch_size is '32', but '64'") { folder, model, partials in
            let other = folder + "/other"
            let result = try ToolRunner.run("swa-bn-update", [model, "--data", "fixtures/data/train.npz", "--limit", "400", "--batch-size", "32",
                                                              "--shard", "1/3", "--partial", other, "-q"])
            #expect(result.status == 0, "\(result.stderr)")
            return [partials[0], other, partials[2]]
        }
    }

    @Test func refusesPartialsOfOtherInputs() throws {
        try expectMergeFailure("differs from") { folder, model, partials in
            let other = folder + "/other"
            let result = try ToolRunner.run("swa-bn-update", [model, "--data", "fixtures/data/test.npz", "--limit", "400", "--batch-size", "64",
                                                              "--shard", "1/3", "--partial", other, "-q"])
            #expect(result.status == 0, "\(result.stderr)")
            return [partials[0], other, partials[2]]
        }
    }

    @Test func refusesADamagedPartialNamingIt() throws {
        try expectMergeFailure("bn-1: ") { _, _, partials in
            var bytes = try TestSupport.bytes(of: partials[1])
            bytes[bytes.count / 2] ^= 0x04
            try Data(bytes).write(to: URL(fileURLWithPath: partials[1]))
            return partials
        }
    }

    @Test func refusesAFileThatIsNotAPartial() throws {
        try expectMergeFailure("not a partial result (no swa.partial metadata)") { _, model, partials in
            [partials[0], model, partials[2]]
        }
    }

    @Test func shardUsageErrorsExitWith2() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = TestSupport.checkpoints + "/ckpt-020.safetensors.zst"
            for (flags, message) in [
                (["--data", "fixtures/data/train.npz", "--shard", "0/2"], "--shard needs --partial"),
                (["--data", "fixtures/data/train.npz", "--partial", folder + "/p"], "--partial needs --shard"),
                (["--data", "fixtures/data/train.npz", "--shard", "2/2", "--partial", folder + "/p"], "outside 0..<2"),
                (["--merge", folder + "/p", "--shard", "0/2", "-o", folder + "/o"], "excludes --shard"),
                (["--data", "fixtures/data/train.npz", "--shard", "auto", "--partial", folder + "/p"], "SLURM_ARRAY_TASK_ID"),
            ] {
                let result = try ToolRunner.run("swa-bn-update", [model] + flags,
                                                environment: ["SLURM_ARRAY_TASK_ID": nil, "JOB_COMPLETION_INDEX": nil])
                #expect(result.status == 2, "\(flags): \(result.stderr)")
                #expect(result.stderr.contains(message), "\(flags): \(result.stderr)")
            }
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }
}
