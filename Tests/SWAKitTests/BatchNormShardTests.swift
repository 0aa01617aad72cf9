import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// Shards of the BN pass (`BatchNormUpdateJob.runShard`) merged (`merge`) against the single
/// process on the fixtures: statistics within 1 ulp of Float32, the same `swa.bn` record.
@Suite struct BatchNormShardTests {
    /// Runs the single process and `count` shards + merge with the same job; returns both outputs.
    static func singleAndMerged(model: String, folder: String, count: Int, weighting: BatchNormWeighting = .batch,
                                augment: String? = nil, limit: Int? = nil, batchSize: Int = 64) throws -> (single: LoadedCheckpoint, merged: LoadedCheckpoint) {
        let tag = "\(count)-\(weighting.rawValue)-\(augment ?? "none")-\(limit ?? 0)"
        var request = DataRequest(path: TestSupport.fixtures + "/data/train.npz", limit: limit, batchSize: batchSize)
        request.limit = limit
        var job = BatchNormUpdateJob(modelPath: model, modelSource: .metadata, data: request, weighting: weighting,
                                     augment: augment, seed: 3, output: folder + "/single-\(tag).bin")
        _ = try job.run()
        var partials: [String] = []
        for index in 0..<count {
            let partial = folder + "/bn-\(tag)-\(index)"
            let report = try job.runShard(try ShardSpec(index: index, count: count), partial: partial)
            #expect(report.shard == "\(index)/\(count)")
            partials.append(partial)
        }
        job.output = folder + "/merged-\(tag).bin"
        // The merge takes the data and options from the partials, in any order given.
        var merge = BatchNormUpdateJob(modelPath: model, modelSource: .metadata, data: DataRequest(path: ""), output: job.output)
        merge.toolName = "test"
        _ = try merge.merge(partials.reversed())
        return (try LoadedCheckpoint(path: folder + "/single-\(tag).bin"), try LoadedCheckpoint(path: job.output))
    }

    static func expectWithinOneULP(_ single: LoadedCheckpoint, _ merged: LoadedCheckpoint) {
        #expect(single.header.tensors == merged.header.tensors)
        for info in single.header.tensors {
            if info.dtype == .f32 {
                let a = single.floats(info.name)!, b = merged.floats(info.name)!
                let worst = zip(a, b).map { abs(Int64($0.bitPattern) - Int64($1.bitPattern)) }.max() ?? 0
                #expect(worst <= 1, "\(info.name): \(worst) ulp")
            } else {
                #expect(single.tensors[info.name] == merged.tensors[info.name], "\(info.name)")
            }
        }
        #expect(single.header.metadata == merged.header.metadata)
    }

    @Test(arguments: [1, 2, 3, 7])
    func mergedShardsEqualTheSingleProcess(_ count: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let (single, merged) = try Self.singleAndMerged(model: model, folder: folder, count: count)
            Self.expectWithinOneULP(single, merged)
            if count == 1 {
                // One shard adds its sums once: bit for bit.
                #expect(single.tensors == merged.tensors)
            }
        }
    }

    @Test func sampleWeightingAndAugmentationMergeToo() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let (single, merged) = try Self.singleAndMerged(model: model, folder: folder, count: 3, weighting: .sample, augment: "crop:2,flip")
            Self.expectWithinOneULP(single, merged)
            let record = try #require(merged.header.checkpointMetadata.batchNorm)
            guard case let .recomputed(bn) = record else { Issue.record("no record"); return }
            #expect(bn.weighting == "sample" && bn.augment == "crop:2,flip" && bn.seed == 3)
        }
    }

    @Test func shardsWithNoBatchesStillWriteAndMerge() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            // 3 batches over 7 shards: shards 3...6 run none.
            let (single, merged) = try Self.singleAndMerged(model: model, folder: folder, count: 7, limit: 300, batchSize: 100)
            Self.expectWithinOneULP(single, merged)
            let empty = try PartialResultFile.read(folder + "/bn-7-batch-none-300-6")
            #expect(try empty.tensors.integers("batches", file: "") == [0])
            #expect(try empty.tensors.integers("samples", file: "") == [0])
        }
    }

    @Test func theMergeRefusesAnotherModel() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try TestSupport.averageFixtures(in: folder)
            let job = BatchNormUpdateJob(modelPath: model, modelSource: .metadata,
                                         data: DataRequest(path: TestSupport.fixtures + "/data/train.npz", limit: 128, batchSize: 64), output: "")
            _ = try job.runShard(try ShardSpec(index: 0, count: 1), partial: folder + "/p0")
            let other = TestSupport.checkpoints + "/ckpt-020.safetensors.zst"
            let merge = BatchNormUpdateJob(modelPath: other, modelSource: .metadata, data: DataRequest(path: ""), output: folder + "/out.bin")
            let error = try #require(throws: SWAError.self) { try merge.merge([folder + "/p0"]) }
            #expect(error.file == other)
            #expect(error.message.contains("is not the model the shards ran on"))
            #expect(TestSupport.contents(of: folder) == ["p0", "swa.bin"])
        }
    }
}
