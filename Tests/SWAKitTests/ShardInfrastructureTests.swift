import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// `ShardSpec` (ranges, `--shard` and the schedulers' variables), partial-result files and the
/// refusals of `orderedCompleteShards`.
@Suite struct ShardInfrastructureTests {
    // MARK: - Ranges

    @Test func rangesTileTheWorkInOrderAndAsEvenlyAsPossible() throws {
        for total in [0, 1, 2, 5, 7, 10, 64, 101] {
            for count in [1, 2, 3, 7, 8] {
                let ranges = try (0..<count).map { try ShardSpec(index: $0, count: count).range(of: total) }
                #expect(ranges.first!.lowerBound == 0)
                #expect(ranges.last!.upperBound == total)
                for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                let sizes = ranges.map(\.count)
                // The first total % count shards take one more.
                #expect(sizes == (0..<count).map { total / count + ($0 < total % count ? 1 : 0) })
            }
        }
        #expect(try ShardSpec(index: 1, count: 3).range(of: 10) == 4..<7)
        #expect(try ShardSpec(index: 6, count: 7).range(of: 3) == 3..<3)
    }

    @Test func invalidShardsAreRefused() {
        #expect(throws: SWAError.self) { try ShardSpec(index: 3, count: 3) }
        #expect(throws: SWAError.self) { try ShardSpec(index: -1, count: 3) }
        #expect(throws: SWAError.self) { try ShardSpec(index: 0, count: 0) }
    }

    // MARK: - Parsing

    @Test func parsesIOverN() throws {
        #expect(try ShardSpec.parse("3/8", shardCount: nil, environment: [:]) == ShardSpec(index: 3, count: 8))
        #expect(try ShardSpec.parse("0/1", shardCount: 1, environment: [:]).description == "0/1")
        for bad in ["3", "8/3", "a/b", "3/8/1", "/8", "-1/8", ""] {
            #expect(throws: SWAError.self, "\(bad)") { try ShardSpec.parse(bad, shardCount: nil, environment: [:]) }
        }
        let error = try #require(throws: SWAError.self) { try ShardSpec.parse("1/4", shardCount: 8, environment: [:]) }
        #expect(error.message.contains("--shard-count"))
    }

    @Test func autoReadsSlurmArraysFromTheirFirstIndex() throws {
        let env = ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "8"]
        #expect(try ShardSpec.parse("auto", shardCount: nil, environment: env) == ShardSpec(index: 5, count: 8))
        // --array=1-8: task IDs 1...8 are shards 0...7.
        let shifted = ["SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"]
        #expect(try ShardSpec.parse("auto", shardCount: nil, environment: shifted) == ShardSpec(index: 7, count: 8))
        let outside = try #require(throws: SWAError.self) {
            try ShardSpec.parse("auto", shardCount: nil, environment: ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "8"])
        }
        #expect(outside.message.contains("SLURM_ARRAY_TASK_ID=9"))
        let noCount = try #require(throws: SWAError.self) { try ShardSpec.parse("auto", shardCount: nil, environment: ["SLURM_ARRAY_TASK_ID": "1"]) }
        #expect(noCount.message.contains("SLURM_ARRAY_TASK_COUNT"))
        let garbage = try #require(throws: SWAError.self) {
            try ShardSpec.parse("auto", shardCount: nil, environment: ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"])
        }
        #expect(garbage.message.contains("SLURM_ARRAY_TASK_ID='x'"))
    }

    @Test func autoReadsKubernetesIndexedJobsWithShardCount() throws {
        #expect(try ShardSpec.parse("auto", shardCount: 4, environment: ["JOB_COMPLETION_INDEX": "3"]) == ShardSpec(index: 3, count: 4))
        let noCount = try #require(throws: SWAError.self) { try ShardSpec.parse("auto", shardCount: nil, environment: ["JOB_COMPLETION_INDEX": "3"]) }
        #expect(noCount.message.contains("--shard-count"))
        let outside = try #require(throws: SWAError.self) { try ShardSpec.parse("auto", shardCount: 3, environment: ["JOB_COMPLETION_INDEX": "3"]) }
        #expect(outside.message.contains("JOB_COMPLETION_INDEX=3"))
        let nothing = try #require(throws: SWAError.self) { try ShardSpec.parse("auto", shardCount: 3, environment: [:]) }
        #expect(nothing.message.contains("SLURM_ARRAY_TASK_ID") && nothing.message.contains("JOB_COMPLETION_INDEX"))
    }

    // MARK: - Partial-result files

    static func header(shard: Int, of count: Int, kind: String = "bn", inputs: [InputDigest]? = nil,
                       options: [String: String] = ["batch_size": "32"]) throws -> PartialResultHeader {
        PartialResultHeader(identity: PartialRunIdentity(kind: kind, inputs: inputs ?? [InputDigest(name: "swa.bin", sha256: "aa"),
                                                                                          InputDigest(name: "train.npz", sha256: "bb")],
                                                         options: options),
                            shard: try ShardSpec(index: shard, count: count), tool: "swa-test 0")
    }

    @Test func partialFilesRoundTripExactly() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/part-1"
            let sums: [Double] = [0.1, -2.5e-300, .pi, 1e300, -0.0]
            let counts: [Int64] = [0, 1, Int64.max, -7]
            let header = try Self.header(shard: 1, of: 3)
            try PartialResultFile.write([("sums", PartialTensor(sums, shape: [5, 1])), ("counts", PartialTensor(counts))],
                                        header: header, to: path, force: false)
            let read = try PartialResultFile.read(path)
            #expect(read.header == header)
            #expect(read.header.tool == "swa-test 0")
            #expect(read.tensors["sums"] == PartialTensor(sums, shape: [5, 1]))
            #expect(try read.tensors.doubles("sums", count: 5, file: path).map(\.bitPattern) == sums.map(\.bitPattern))
            #expect(try read.tensors.integers("counts", file: path) == counts)
            #expect(try PartialResultFile.readHeader(path) == header)
            // The record is the documented JSON.
            let metadata = try LoadedCheckpoint(path: path).header.metadata
            let record = try #require(metadata["swa.partial"])
            #expect(record.contains(#""version":1"#) && record.contains(#""kind":"bn""#) && record.contains(#""shard":"1/3""#))
            #expect(record.contains(#""run":{"inputs":[{"name":"swa.bin","sha256":"aa"}"#))
            // An existing file is kept without force.
            let refused = try #require(throws: SWAError.self) {
                try PartialResultFile.write([("sums", PartialTensor([1.0]))], header: header, to: path, force: false)
            }
            #expect(refused.file == path)
            #expect(try PartialResultFile.read(path).tensors["sums"]?.doubles == sums)
            try PartialResultFile.write([("sums", PartialTensor([1.0]))], header: header, to: path, force: true)
            #expect(try PartialResultFile.read(path).tensors["sums"]?.doubles == [1.0])
            #expect(TestSupport.contents(of: folder) == ["part-1"])
        }
    }

    @Test func aCheckpointIsNotAPartial() throws {
        let path = TestSupport.checkpoints + "/" + (TestSupport.contents(of: TestSupport.checkpoints).first { !$0.hasPrefix(".") })!
        let error = try #require(throws: SWAError.self) { try PartialResultFile.read(path) }
        #expect(error.file == path)
        #expect(error.message.contains("not a partial result (no swa.partial metadata)"))
    }

    @Test func aBitFlipInAPartialFailsWithTheReadersChecksumError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/part-0"
            try PartialResultFile.write([("sums", PartialTensor((0..<4000).map { Double($0) * 0.37 }))],
                                        header: try Self.header(shard: 0, of: 1), to: path, force: false)
            var bytes = try TestSupport.bytes(of: path)
            bytes[bytes.count / 2] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: SWAError.self) { try PartialResultFile.read(path) }
            #expect(error.file == path)
            #expect(error.message.lowercased().contains("checksum") || error.message.contains("corrupt"), "\(error)")
        }
    }

    @Test func aFutureVersionIsRefused() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/future"
            let record = #"{"version":2,"kind":"bn","shard":"0/1","run":{"inputs":[],"options":{}}}"#
            try CheckpointWriter.write([], metadata: ["swa.partial": record], to: path, overwrite: false)
            let error = try #require(throws: SWAError.self) { try PartialResultFile.read(path) }
            #expect(error.message.contains("version 2"))
        }
    }

    // MARK: - Merging sets of partials

    @Test func completeSetsComeBackInShardOrder() throws {
        let given = try [2, 0, 1].map { (path: "p\($0)", header: try Self.header(shard: $0, of: 3)) }
        #expect(try orderedCompleteShards(given).map(\.path) == ["p0", "p1", "p2"])
        // The same inputs under other names are the same run.
        let renamed = try Self.header(shard: 1, of: 2, inputs: [InputDigest(name: "/elsewhere/swa.bin", sha256: "aa"), InputDigest(name: "t", sha256: "bb")])
        #expect(try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", renamed)]).count == 2)
    }

    @Test func refusesMissingShardsListingThem() throws {
        let given = try [0, 1, 3, 4, 6].map { (path: "p\($0)", header: try Self.header(shard: $0, of: 7)) }
        let error = try #require(throws: SWAError.self) { try orderedCompleteShards(given) }
        #expect(error.message.contains("missing shards 2/7, 5/7"))
    }

    @Test func refusesADuplicateShardNamingBothFiles() throws {
        let given = try [("a", Self.header(shard: 0, of: 2)), ("b", Self.header(shard: 1, of: 2)), ("c", Self.header(shard: 1, of: 2))]
        let error = try #require(throws: SWAError.self) { try orderedCompleteShards(given) }
        #expect(error.message == "duplicate shard 1/2: b and c")
    }

    @Test func refusesOtherInputsNamingTheInput() throws {
        let other = try Self.header(shard: 1, of: 2, inputs: [InputDigest(name: "swa.bin", sha256: "aa"), InputDigest(name: "val.npz", sha256: "cc")])
        let error = try #require(throws: SWAError.self) { try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", other)]) }
        #expect(error.file == "b")
        #expect(error.message.contains("'val.npz'") && error.message.contains("'train.npz'") && error.message.contains("in a"))
        let fewer = try Self.header(shard: 1, of: 2, inputs: [InputDigest(name: "swa.bin", sha256: "aa")])
        #expect(throws: SWAError.self) { try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", fewer)]) }
    }

    @Test func refusesOtherOptionsNamingBothValues() throws {
        let other = try Self.header(shard: 1, of: 2, options: ["batch_size": "64"])
        let error = try #require(throws: SWAError.self) { try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", other)]) }
        #expect(error.message == "option batch_size is '64', but '32' in a: not the same run")
        let extra = try Self.header(shard: 1, of: 2, options: ["batch_size": "32", "seed": "1"])
        let missing = try #require(throws: SWAError.self) { try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", extra)]) }
        #expect(missing.message.contains("option seed is '1', but unset in a"))
    }

    @Test func refusesOtherShardCountsAndKinds() throws {
        let error = try #require(throws: SWAError.self) {
            try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", Self.header(shard: 1, of: 3))])
        }
        #expect(error.message.contains("3-shard run") && error.message.contains("2-shard run"))
        let kind = try #require(throws: SWAError.self) {
            try orderedCompleteShards([("a", Self.header(shard: 0, of: 2)), ("b", Self.header(shard: 1, of: 2, kind: "eval"))])
        }
        #expect(kind.message.contains("'eval'") && kind.message.contains("'bn'"))
        let wanted = try #require(throws: SWAError.self) { try orderedCompleteShards([("a", Self.header(shard: 0, of: 1))], kind: "eval") }
        #expect(wanted.file == "a" && wanted.message.contains("needs 'eval' partials"))
        #expect(throws: SWAError.self) { try orderedCompleteShards([]) }
    }

    @Test func fileDigestsAreTheSHA256OfTheBytes() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Array("abc".utf8), to: folder, name: "x")
            #expect(try InputDigest.file(at: path).sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        }
    }
}
