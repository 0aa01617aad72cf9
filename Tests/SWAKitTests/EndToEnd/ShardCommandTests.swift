import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// `swa-avg` and `swa-landscape` shards run as a scheduler runs them: `--shard I/N`, `--shard auto`
/// from Slurm's and Kubernetes' variables, `--partial`, `--merge`; usage errors exit 2.
@Suite struct ShardCommandTests {
    @Test func avgTensorShardsFromSlurmVariablesMergeIntoTheSingleAverage() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let single = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", folder + "/single.safetensors", "--quiet"])
            #expect(single.status == 0, "\(single.stderr)")
            // A Slurm array --array=4-6: task IDs 4, 5, 6 are shards 0, 1, 2.
            for task in 4...6 {
                let shard = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", folder + "/swa/", "--shard", "auto"],
                                               environment: ["SLURM_ARRAY_TASK_ID": "\(task)", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3"])
                #expect(shard.status == 0, "\(shard.stderr)")
                #expect(shard.stdout.contains("shard \(task - 4)/3"))
            }
            #expect(!FileManager.default.fileExists(atPath: folder + "/swa/" + ModelFolder.indexName))
            let merge = try ToolRunner.run("swa-avg", ["--merge", folder + "/swa/"])
            #expect(merge.status == 0, "\(merge.stderr)")
            #expect(merge.stdout.contains("completed"))
            #expect(TestSupport.contents(of: folder + "/swa") == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                                                   "model-00003-of-00003.safetensors", ModelFolder.indexName])
            try AveragingShardTests.expectSameCheckpoint(folder + "/swa", as: folder + "/single.safetensors")
        }
    }

    @Test func avgPartialSumsFromKubernetesIndicesMergeByteForByte() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let single = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", folder + "/single.bin", "--start", "5", "--quiet"])
            #expect(single.status == 0, "\(single.stderr)")
            var partials: [String] = []
            for index in 0..<4 {
                partials.append(folder + "/avg-\(index).swa")
                let shard = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "--start", "5", "--shard", "auto", "--shard-count", "4",
                                                           "--partial", partials.last!, "--quiet"],
                                               environment: ["JOB_COMPLETION_INDEX": "\(index)", "SLURM_ARRAY_TASK_ID": nil])
                #expect(shard.status == 0, "\(shard.stderr)")
            }
            let merge = try ToolRunner.run("swa-avg", ["--merge"] + partials + ["-o", folder + "/merged.bin", "--json"])
            #expect(merge.status == 0, "\(merge.stderr)")
            #expect(FileManager.default.contents(atPath: folder + "/merged.bin") == FileManager.default.contents(atPath: folder + "/single.bin"))
            let missing = try ToolRunner.run("swa-avg", ["--merge", partials[0], partials[1], partials[3], "-o", folder + "/other.bin"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("missing shard 2/4"))
            #expect(!FileManager.default.fileExists(atPath: folder + "/other.bin"))
        }
    }

    @Test func avgUsageErrorsExitTwo() throws {
        let cases: [([String], String)] = [
            (["fixtures/checkpoints", "--ema", "0.9", "--shard", "0/2", "--partial", "/tmp/never.swa"], "--ema cannot be split over checkpoints"),
            (["fixtures/checkpoints", "--shard", "0/2", "--partial", "/tmp/never.swa", "-o", "/tmp/never.bin"], "drop -o"),
            (["fixtures/checkpoints", "--partial", "/tmp/never.swa"], "--partial needs --shard"),
            (["fixtures/checkpoints", "--merge", "/tmp/never.swa", "-o", "/tmp/never.bin"], "--merge takes the shards' outputs"),
            (["fixtures/checkpoints", "-o", "/tmp/never/", "--shard", "2/2"], "shard index 2 is outside 0..<2"),
        ]
        for (arguments, message) in cases {
            let result = try ToolRunner.run("swa-avg", arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let auto = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", "/tmp/never/", "--shard", "auto"],
                                      environment: ["SLURM_ARRAY_TASK_ID": nil, "JOB_COMPLETION_INDEX": nil])
        #expect(auto.status == 2)
        #expect(auto.stderr.contains("neither SLURM_ARRAY_TASK_ID"))
    }

    @Test func landscapeShardsMergeIntoTheSingleProcessJSON() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let common = ["line", "fixtures/checkpoints/ckpt-020.safetensors.zst", "fixtures/checkpoints/ckpt-010.safetensors.zst",
                          "--train", "fixtures/data/train.npz", "--test", "fixtures/data/test.npz", "--steps", "0:1:3"]
            let single = try ToolRunner.run("swa-landscape", common + ["--json", "--csv", folder + "/single.csv"])
            #expect(single.status == 0, "\(single.stderr)")
            var partials: [String] = []
            for index in 0..<2 {
                partials.append(folder + "/line-\(index).swa")
                let shard = try ToolRunner.run("swa-landscape", common + ["--shard", "\(index)/2", "--partial", partials.last!])
                #expect(shard.status == 0, "\(shard.stderr)")
            }
            let merged = try ToolRunner.run("swa-landscape", common + ["--merge"] + partials + ["--json", "--csv", folder + "/merged.csv"])
            #expect(merged.status == 0, "\(merged.stderr)")
            let a = try JSONValue.parse(single.stdout), b = try JSONValue.parse(merged.stdout)
            #expect(a["points"] == b["points"])
            #expect(FileManager.default.contents(atPath: folder + "/single.csv") == FileManager.default.contents(atPath: folder + "/merged.csv"))
            let usage = try ToolRunner.run("swa-landscape", common + ["--shard", "0/2"])
            #expect(usage.status == 2)
            #expect(usage.stderr.contains("--shard needs --partial FILE"))
        }
    }
}
