import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// Sharded averages (docs/SCALE.md): tensor-range shards and checkpoint-range partial sums give
/// the single process's average bit for bit; every refusal of the merge names its culprit.
@Suite struct AveragingShardTests {
    static let options = ["method": "weighted", "buffers": "average", "dtype": "keep"]
    static let tool = "swa-avg test"

    // MARK: - Splitting the tensors by bytes

    @Test(arguments: [1, 2, 3, 7])
    func tensorRangesTileTheTensorsInOrder(_ count: Int) throws {
        let byteCounts = [400, 4, 4, 1600, 0, 12, 800, 4, 4, 396, 0]
        let ranges = try (0..<count).map { TensorRangeShards.tensorRange(of: try ShardSpec(index: $0, count: count), byteCounts: byteCounts) }
        #expect(ranges.first?.lowerBound == 0)
        #expect(ranges.last?.upperBound == byteCounts.count)
        for (range, next) in zip(ranges, ranges.dropFirst()) { #expect(range.upperBound == next.lowerBound) }
    }

    @Test func aTensorGoesToTheShardWhereItsBytesStart() throws {
        // Starts 0, 100, 200, 300 of 400 bytes: with 2 shards, tensors starting before byte 200 go to shard 0.
        let counts = [100, 100, 100, 100]
        #expect(TensorRangeShards.tensorRange(of: try ShardSpec(index: 0, count: 2), byteCounts: counts) == 0..<2)
        #expect(TensorRangeShards.tensorRange(of: try ShardSpec(index: 1, count: 2), byteCounts: counts) == 2..<4)
        // One tensor of most of the bytes leaves the shards after it empty, and its own shard whole.
        let big = [10, 1000, 10]
        #expect(TensorRangeShards.tensorRange(of: try ShardSpec(index: 0, count: 3), byteCounts: big) == 0..<2)
        #expect(TensorRangeShards.tensorRange(of: try ShardSpec(index: 1, count: 3), byteCounts: big).isEmpty)
        #expect(TensorRangeShards.tensorRange(of: try ShardSpec(index: 2, count: 3), byteCounts: big) == 2..<3)
    }

    // MARK: - Tensor-range shards equal the single process

    @Test(arguments: [1, 2, 3, 7])
    func tensorRangeShardsMakeTheSingleProcessAverage(_ count: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let single = folder + "/single.safetensors"
            _ = try StreamingAverager(request: Self.request(inputs, destination: single)).run()
            let sharded = folder + "/sharded/"
            for index in (0..<count).reversed() {
                _ = try TensorRangeShards.writeShard(Self.request(inputs, destination: sharded), shard: try ShardSpec(index: index, count: count),
                                                     options: Self.options, tool: Self.tool)
            }
            let completion = try TensorRangeShards.completeFolder(sharded, overwrite: false)
            #expect(completion.shards.count == count)
            try Self.expectSameCheckpoint(sharded, as: single)
        }
    }

    @Test func aShardedHuggingFaceRunGetsItsIndexAndConfigurationFiles() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try discoverCheckpoints([HFFixtures.run]).entries
            let single = folder + "/single/"
            _ = try StreamingAverager(request: Self.request(inputs, destination: single)).run()
            let sharded = folder + "/sharded"
            for index in 0..<3 {
                _ = try TensorRangeShards.writeShard(Self.request(inputs, destination: sharded), shard: try ShardSpec(index: index, count: 3),
                                                     options: Self.options, tool: Self.tool)
            }
            _ = try TensorRangeShards.completeFolder(sharded, overwrite: false)
            try Self.expectSameCheckpoint(sharded, as: single)
            for name in ["config.json", "tokenizer.json", "generation_config.json"] {
                #expect(FileManager.default.contents(atPath: sharded + "/" + name) == FileManager.default.contents(atPath: single + name), "\(name)")
            }
            #expect(!TestSupport.contents(of: sharded).contains("optimizer.pt"))
            // The folder is a checkpoint of its own: discovery reads it through its index.
            #expect(try TensorArchives.open(path: sharded).format == .safetensorsIndex)
        }
    }

    // MARK: - Checkpoint-range partial sums equal the single process

    @Test(arguments: [1, 2, 3, 7])
    func partialSumsMergeIntoTheSingleProcessFileByteForByte(_ count: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let single = folder + "/single.bin"
            _ = try StreamingAverager(request: Self.request(inputs, destination: single)).run()
            let partials = try Self.writePartials(inputs, count: count, folder: folder)
            let merged = folder + "/merged.bin"
            _ = try CheckpointRangeShards.merge(partials.reversed(), destination: merged, overwrite: false)
            #expect(FileManager.default.contents(atPath: merged) == FileManager.default.contents(atPath: single))
        }
    }

    @Test func integerWeightsAndADtypeChangeMergeBitForBit() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let weights = inputs.indices.map { Double($0 % 4 + 1) }
            var request = Self.request(inputs, destination: folder + "/single.safetensors", weights: weights)
            request.outputDType = .convert(.bf16)
            request.buffers = .last
            _ = try StreamingAverager(request: request).run()
            let options = ["method": "weighted", "buffers": "last", "dtype": "bf16"]
            var partials: [String] = []
            for index in 0..<3 {
                var shardRequest = request
                shardRequest.destination = ""
                partials.append(folder + "/p\(index).swa")
                _ = try CheckpointRangeShards.writePartial(shardRequest, shard: try ShardSpec(index: index, count: 3), to: partials.last!,
                                                           overwrite: false, options: options, tool: Self.tool)
            }
            _ = try CheckpointRangeShards.merge(partials, destination: folder + "/merged.safetensors", overwrite: false)
            #expect(FileManager.default.contents(atPath: folder + "/merged.safetensors") == FileManager.default.contents(atPath: folder + "/single.safetensors"))
        }
    }

    /// With weights that are not small integers the running Float64 sums round, and shard sums
    /// round differently (docs/SCALE.md, "Exactness"): the merged F32 average is then within
    /// one unit in the last place of the single process's.
    @Test func arbitraryWeightsMergeWithinOneUlpOfFloat32() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let weights = inputs.indices.map { 0.1 + 1 / Double($0 + 3) }
            let request = Self.request(inputs, destination: folder + "/single.safetensors", weights: weights)
            _ = try StreamingAverager(request: request).run()
            let partials = try Self.writePartials(inputs, count: 7, folder: folder, weights: weights)
            _ = try CheckpointRangeShards.merge(partials, destination: folder + "/merged.safetensors", overwrite: false)
            let single = try TestSupport.readAll(folder + "/single.safetensors"), merged = try TestSupport.readAll(folder + "/merged.safetensors")
            for (name, (info, bytes)) in single.tensors where info.dtype == .f32 {
                let a = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
                let b = merged.tensors[name]!.1.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
                #expect(zip(a, b).allSatisfy { abs(Int64($0) - Int64($1)) <= 1 }, "tensor \(name)")
            }
        }
    }

    // MARK: - Refusals

    @Test func anEMACannotBeSplitOverCheckpoints() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var request = Self.request(try Self.run(), destination: "")
            request.method = .ema(decay: 0.9)
            let error = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.writePartial(request, shard: try ShardSpec(index: 0, count: 2), to: folder + "/p.swa",
                                                       overwrite: false, options: Self.options, tool: Self.tool)
            }
            #expect(error?.message.contains("--ema cannot be split over checkpoints") == true)
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    @Test func moreShardsThanCheckpointsIsRefused() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = Array(try Self.run().prefix(2))
            let error = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.writePartial(Self.request(inputs, destination: ""), shard: try ShardSpec(index: 2, count: 3),
                                                       to: folder + "/p.swa", overwrite: false, options: Self.options, tool: Self.tool)
            }
            #expect(error?.message.contains("shard 2/3 has no checkpoint: 2 selected for 3 shards") == true)
        }
    }

    @Test func mergeRefusesMissingAndDuplicateShards() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let partials = try Self.writePartials(try Self.run(), count: 3, folder: folder)
            let missing = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.merge([partials[0], partials[2]], destination: folder + "/out.bin", overwrite: false)
            }
            #expect(missing?.message.contains("missing shard 1/3") == true)
            let copy = folder + "/copy.swa"
            try FileManager.default.copyItem(atPath: partials[1], toPath: copy)
            let duplicate = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.merge(partials + [copy], destination: folder + "/out.bin", overwrite: false)
            }
            #expect(duplicate?.message.contains("duplicate shard 1/3") == true)
            #expect(duplicate?.description.contains(copy) == true)
            #expect(!FileManager.default.fileExists(atPath: folder + "/out.bin"))
        }
    }

    @Test func mergeRefusesPartialsOfAnotherSelectionOrOtherOptions() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let partials = try Self.writePartials(inputs, count: 2, folder: folder)
            // Shard 1 of a run over the last 10 checkpoints only.
            let other = folder + "/other.swa"
            _ = try CheckpointRangeShards.writePartial(Self.request(Array(inputs.suffix(10)), destination: ""), shard: try ShardSpec(index: 1, count: 2),
                                                       to: other, overwrite: false, options: Self.options, tool: Self.tool)
            let selection = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.merge([partials[0], other], destination: folder + "/out.bin", overwrite: false)
            }
            #expect(selection?.description.contains(other) == true)
            #expect(selection?.message.contains("option checkpoints") == true)
            // Shard 1 with BN statistics from the last checkpoint instead of averaged.
            var lastBuffers = Self.request(inputs, destination: "")
            lastBuffers.buffers = .last
            let buffers = folder + "/buffers.swa"
            _ = try CheckpointRangeShards.writePartial(lastBuffers, shard: try ShardSpec(index: 1, count: 2), to: buffers, overwrite: false,
                                                       options: ["method": "weighted", "buffers": "last", "dtype": "keep"], tool: Self.tool)
            let option = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.merge([partials[0], buffers], destination: folder + "/out.bin", overwrite: false)
            }
            #expect(option?.message.contains("option buffers is 'last', but 'average'") == true)
        }
    }

    @Test func mergeRefusesADamagedPartialAndNamesIt() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let partials = try Self.writePartials(try Self.run(), count: 2, folder: folder)
            let bytes = try #require(FileManager.default.contents(atPath: partials[1]))
            try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: partials[1]))
            let error = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.merge(partials, destination: folder + "/out.bin", overwrite: false)
            }
            #expect(error?.description.contains(partials[1]) == true)
            #expect(!FileManager.default.fileExists(atPath: folder + "/out.bin"))
        }
    }

    @Test func mergeRefusesACheckpointThatIsNotAPartial() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let partials = try Self.writePartials(try Self.run(), count: 2, folder: folder)
            let checkpoint = TestSupport.checkpoints + "/ckpt-001.safetensors.zst"
            let error = #expect(throws: SWAError.self) {
                try CheckpointRangeShards.merge([partials[0], checkpoint], destination: folder + "/out.bin", overwrite: false)
            }
            #expect(error?.description.contains("ckpt-001.safetensors.zst: not a partial result") == true)
        }
    }

    @Test func completingAFolderRefusesAMissingShardAndWritesNoIndex() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let sharded = folder + "/sharded"
            for index in [0, 2] {
                _ = try TensorRangeShards.writeShard(Self.request(inputs, destination: sharded), shard: try ShardSpec(index: index, count: 3),
                                                     options: Self.options, tool: Self.tool)
            }
            let error = #expect(throws: SWAError.self) { try TensorRangeShards.completeFolder(sharded, overwrite: false) }
            #expect(error?.message.contains("missing shard 1/3") == true)
            #expect(!FileManager.default.fileExists(atPath: sharded + "/" + ModelFolder.indexName))
            let empty = folder + "/empty"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
            let none = #expect(throws: SWAError.self) { try TensorRangeShards.completeFolder(empty, overwrite: false) }
            #expect(none?.message.contains("holds no shard files") == true)
        }
    }

    @Test func completingAFolderRefusesShardsOfAnotherRun() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try Self.run()
            let sharded = folder + "/sharded"
            _ = try TensorRangeShards.writeShard(Self.request(inputs, destination: sharded), shard: try ShardSpec(index: 0, count: 2),
                                                 options: Self.options, tool: Self.tool)
            // Shard 1 of an average over other checkpoints: its inputs' SHA-256 differ.
            _ = try TensorRangeShards.writeShard(Self.request(Array(inputs.prefix(5)), destination: sharded), shard: try ShardSpec(index: 1, count: 2),
                                                 options: Self.options, tool: Self.tool)
            let error = #expect(throws: SWAError.self) { try TensorRangeShards.completeFolder(sharded, overwrite: false) }
            #expect(error?.description.contains("model-00002-of-00002.safetensors") == true)
            #expect(error?.message.contains("not the same run") == true)
        }
    }

    // MARK: - Helpers

    static func run() throws -> [CheckpointEntry] {
        try discoverCheckpoints([TestSupport.checkpoints]).entries
    }

    static func request(_ inputs: [CheckpointEntry], destination: String, weights: [Double]? = nil) -> AveragingRequest {
        AveragingRequest(inputs: inputs, method: .weighted(weights ?? Array(repeating: 1, count: inputs.count)), destination: destination)
    }

    /// Writes the `count` partials of `inputs` (uniform or `weights`) as `folder/pI.swa`.
    static func writePartials(_ inputs: [CheckpointEntry], count: Int, folder: String, weights: [Double]? = nil) throws -> [String] {
        try (0..<count).map { index in
            let path = folder + "/p\(index).swa"
            _ = try CheckpointRangeShards.writePartial(request(inputs, destination: "", weights: weights), shard: try ShardSpec(index: index, count: count),
                                                       to: path, overwrite: false, options: options, tool: tool)
            return path
        }
    }

    /// Same tensors (names, dtypes, shapes, bytes) and metadata, except the shards' `swa.partial`
    /// and the `format` key plain outputs carry.
    static func expectSameCheckpoint(_ path: String, as reference: String) throws {
        let a = try LoadedCheckpoint(path: path), b = try LoadedCheckpoint(path: reference)
        #expect(Set(a.header.tensors.map(\.name)) == Set(b.header.tensors.map(\.name)))
        for tensor in b.header.tensors {
            #expect(a.header.tensor(named: tensor.name)?.dtype == tensor.dtype, "tensor \(tensor.name)")
            #expect(a.tensors[tensor.name] == b.tensors[tensor.name], "tensor \(tensor.name)")
        }
        var metadataA = a.header.checkpointMetadata.values, metadataB = b.header.checkpointMetadata.values
        for key in [PartialResultFile.metadataKey, "format"] {
            metadataA[key] = nil
            metadataB[key] = nil
        }
        #expect(metadataA == metadataB)
    }
}
