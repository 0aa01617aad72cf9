import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// Paths of the Hugging Face fixtures (fixtures/make_hf_fixtures.py).
enum HFFixtures {
    static let root = TestSupport.fixtures + "/hf"
    static let run = root + "/output"
    static let steps = [10, 20, 30, 40]
    static func checkpoint(_ step: Int) -> String { run + "/checkpoint-\(step)" }
    static func golden(_ name: String) -> String { root + "/golden/" + name }

    /// A copy of the fixture run (or of one checkpoint folder) in `folder`, to damage or rearrange.
    static func copy(_ source: String, into folder: String, as name: String) throws -> String {
        let target = folder + "/" + name
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }

    /// Every tensor of a checkpoint in any format: name -> (info, bytes), read tensor by tensor.
    static func tensors(_ path: String) throws -> [String: (TensorInfo, [UInt8])] {
        let archive = try TensorArchives.open(path: path)
        return Dictionary(uniqueKeysWithValues: try archive.header.tensors.map { ($0.name, ($0, try archive.readTensor(named: $0.name))) })
    }
}

/// The sharded safetensors reader: an index with its shards, or a model folder, as one checkpoint.
@Suite struct ShardedSafetensorsTests {
    @Test func indexIsDetectedByContent() throws {
        let index = HFFixtures.checkpoint(10) + "/model.safetensors.index.json"
        #expect(try FileFormat.detect(path: index) == .safetensorsIndex)
        #expect(try FileFormat.detect(path: HFFixtures.checkpoint(10) + "/config.json") == .unknown)
        #expect(FileFormat.detect(prefix: Array(#"  {"weight_map": {}}"#.utf8), fileSize: 20) == .safetensorsIndex)
    }

    @Test func folderAndIndexOpenAsTheSameCheckpoint() throws {
        let folder = try TensorArchives.open(path: HFFixtures.checkpoint(20))
        let index = try TensorArchives.open(path: HFFixtures.checkpoint(20) + "/model.safetensors.index.json")
        #expect(folder.format == .safetensorsIndex)
        #expect(folder.header.tensors == index.header.tensors)
        // 21 tensors over two shards; the trainer state's global_step becomes swa.step.
        #expect(folder.header.tensors.count == 21)
        #expect(folder.header.checkpointMetadata.step == 20)
        #expect(folder.header.metadata["format"] == "pt")
        let sharded = try #require(folder as? ShardedSafetensorsArchive)
        #expect(sharded.shards.map { $0.path.split(separator: "/").last! } == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        #expect(sharded.fileByteCount == sharded.shards.reduce(0) { $0 + $1.fileByteCount })
    }

    /// The virtual payload holds each shard's tensors with the shard's own bytes, and the
    /// stream, the tensor reads and the reads at an offset all agree.
    @Test func streamTensorReadsAndOffsetReadsAgreeWithTheShards() throws {
        let archive = try #require(try TensorArchives.open(path: HFFixtures.checkpoint(30)) as? ShardedSafetensorsArchive)
        var fromShards: [String: [UInt8]] = [:]
        for shard in archive.shards {
            let file = try SafetensorsArchive(path: shard.path)
            for tensor in file.header.tensors { fromShards[tensor.name] = try file.readTensor(named: tensor.name) }
        }
        #expect(fromShards.count == archive.header.tensors.count)
        let stream = try archive.openDataStream()
        for tensor in archive.header.tensors {
            #expect(try stream.readTensorBytes(tensor) == fromShards[tensor.name], "\(tensor.name)")
            #expect(try archive.readTensor(named: tensor.name) == fromShards[tensor.name])
            var bytes = [UInt8](repeating: 0, count: tensor.byteCount)
            try bytes.withUnsafeMutableBytes { try archive.readData(at: tensor.dataOffsets.lowerBound, into: $0) }
            #expect(bytes == fromShards[tensor.name])
        }
        #expect(try stream.finish() == 0)
        #expect(archive.supportsRandomAccess)
    }

    /// The observer sees the shard files whole, in order: the hash of a sharded checkpoint.
    @Test func rawBytesAreTheShardFilesInOrder() throws {
        var seen: [UInt8] = []
        let archive = try ShardedSafetensorsArchive(path: HFFixtures.checkpoint(10)) { seen += $0 }
        try archive.openDataStream().finish()
        let expected = try archive.shards.flatMap { try Array(Data(contentsOf: URL(fileURLWithPath: $0.path))) }
        #expect(seen == expected)
    }

    @Test func folderWithOneModelFileIsOneCheckpoint() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = folder + "/checkpoint-7"
            try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: false)
            try FileManager.default.copyItem(atPath: HFFixtures.checkpoint(10) + "/model-00001-of-00002.safetensors", toPath: model + "/model.safetensors")
            let archive = try TensorArchives.open(path: model)
            #expect(archive.format == .safetensors)
            #expect(archive.header.tensors == (try SafetensorsArchive(path: model + "/model.safetensors")).header.tensors)
            // No trainer state: no swa.step; discovery then takes the folder's number.
            #expect(archive.header.checkpointMetadata.step == nil)
            let sequence = try discoverCheckpoints([model])
            #expect(sequence.entries.map(\.position) == [7])
        }
    }

    // MARK: - Errors: one line naming the file and the tensor

    @Test func indexNamingAMissingShardIsAnError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try HFFixtures.copy(HFFixtures.checkpoint(10), into: folder, as: "checkpoint-10")
            try FileManager.default.removeItem(atPath: model + "/model-00002-of-00002.safetensors")
            let error = try #require(throws: SWAError.self) { try TensorArchives.open(path: model) }
            #expect(error.file == model + "/model.safetensors.index.json")
            #expect(error.message.hasPrefix("names shard 'model-00002-of-00002.safetensors' for tensor '"))
            #expect(error.message.hasSuffix("but there is no such file"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func shardHoldingATensorTheIndexDoesNotListIsAnError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try HFFixtures.copy(HFFixtures.checkpoint(10), into: folder, as: "checkpoint-10")
            let index = try SafetensorsIndex.read(path: model + "/" + ModelFolder.indexName)
            let dropped = index.weightMap.first { $0.shard == "model-00002-of-00002.safetensors" }!
            try writeIndex(index.weightMap.filter { $0.tensor != dropped.tensor }, to: model)
            let error = try #require(throws: SWAError.self) { try TensorArchives.open(path: model) }
            #expect(error.description == "\(model)/model-00002-of-00002.safetensors: holds tensor '\(dropped.tensor)', which the index \(model)/model.safetensors.index.json does not list")
        }
    }

    @Test func shardLackingATensorTheIndexPutsThereIsAnError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try HFFixtures.copy(HFFixtures.checkpoint(10), into: folder, as: "checkpoint-10")
            let index = try SafetensorsIndex.read(path: model + "/" + ModelFolder.indexName)
            try writeIndex(index.weightMap + [("model.extra.weight", "model-00001-of-00002.safetensors")], to: model)
            let error = try #require(throws: SWAError.self) { try TensorArchives.open(path: model) }
            #expect(error.description == "\(model)/model-00001-of-00002.safetensors: lacks tensor 'model.extra.weight', which the index \(model)/model.safetensors.index.json puts in this shard")
        }
    }

    @Test func tensorInTheOtherShardThanTheIndexSaysIsAnError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try HFFixtures.copy(HFFixtures.checkpoint(10), into: folder, as: "checkpoint-10")
            let index = try SafetensorsIndex.read(path: model + "/" + ModelFolder.indexName)
            let moved = index.weightMap.first { $0.shard == "model-00001-of-00002.safetensors" }!
            try writeIndex(index.weightMap.map { $0.tensor == moved.tensor ? ($0.tensor, "model-00002-of-00002.safetensors") : $0 }, to: model)
            let error = try #require(throws: SWAError.self) { try TensorArchives.open(path: model) }
            #expect(error.description == "\(model)/model-00001-of-00002.safetensors: holds tensor '\(moved.tensor)', which the index \(model)/model.safetensors.index.json puts in 'model-00002-of-00002.safetensors'")
        }
    }

    @Test func indexIsParsedStrictly() throws {
        func parse(_ text: String) throws -> SafetensorsIndex { try SafetensorsIndex.parse(Array(text.utf8), file: "i.json") }
        #expect(try parse(#"{"metadata": {"total_size": 8}, "weight_map": {"a": "s.safetensors"}}"#).totalSize == 8)
        let cases: [(String, String)] = [
            (#"{"weight_map": {"a": "s", "a": "t"}}"#, "not valid JSON"),
            (#"{"metadata": {}}"#, "no 'weight_map' object"),
            (#"{"weight_map": {"a": 3}}"#, "index entry of tensor 'a' is not a shard file name: 3"),
            (#"{"weight_map": {"a": "../secret.safetensors"}}"#, "outside the index's folder"),
            (#"{"weight_map": {"a": "/etc/passwd"}}"#, "outside the index's folder"),
            (#"{"metadata": {"total_size": -1}, "weight_map": {}}"#, "total_size"),
        ]
        for (text, expected) in cases {
            let error = try #require(throws: SWAError.self) { try parse(text) }
            #expect(error.file == "i.json")
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func trainerStateThatIsNotJSONIsAnError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let model = try HFFixtures.copy(HFFixtures.checkpoint(10), into: folder, as: "checkpoint-10")
            try Data("{\"global_step\": \"ten\"}".utf8).write(to: URL(fileURLWithPath: model + "/trainer_state.json"))
            let error = try #require(throws: SWAError.self) { try TensorArchives.open(path: model) }
            #expect(error.description == "\(model)/trainer_state.json: 'global_step' is not a non-negative integer: \"ten\"")
        }
    }

    /// Writes a `model.safetensors.index.json` mapping `weightMap` into `folder`.
    private func writeIndex(_ weightMap: [(tensor: String, shard: String)], to folder: String) throws {
        let bytes = HuggingFaceFolderWriter.indexJSON(totalSize: 0, weightMap: weightMap.map { ($0.tensor, $0.shard) })
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + ModelFolder.indexName))
    }
}
