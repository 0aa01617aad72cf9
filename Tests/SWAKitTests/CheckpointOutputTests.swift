import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// Plain safetensors and Hugging Face folder outputs: layouts, shards, the index, side files,
/// atomicity.
@Suite struct CheckpointOutputTests {
    @Test func destinationNameChoosesTheLayout() throws {
        #expect(OutputLayout(destination: "swa.bin") == .zstd)
        #expect(OutputLayout(destination: "swa.safetensors.zst") == .zstd)
        #expect(OutputLayout(destination: "swa.safetensors") == .safetensors)
        #expect(OutputLayout(destination: "averaged/") == .huggingFaceFolder)
        #expect(OutputLayout(destination: HFFixtures.run) == .huggingFaceFolder)
    }

    @Test func byteSizesParseAsTransformersReadsThem() {
        #expect(parseByteSize("5GB") == 5_000_000_000)
        #expect(parseByteSize("500MB") == 500_000_000)
        #expect(parseByteSize("2GiB") == 2 << 30)
        #expect(parseByteSize("1.5 kb") == 1500)
        #expect(parseByteSize("4096") == 4096)
        #expect(parseByteSize("12B") == 12)
        #expect(parseByteSize("5 parsecs") == nil)
        #expect(parseByteSize("GB") == nil)
        #expect(parseByteSize("-1") == nil)
    }

    @Test func shardsAreFilledAsTransformersFillsThem() {
        let specs = [100, 300, 50, 600, 10].enumerated().map { TensorSpec(name: "t\($0.offset)", dtype: .u8, shape: [$0.element]) }
        // At most 400 bytes: [100, 300], [50], [600] (alone: larger than the limit), [10].
        #expect(HuggingFaceFolderWriter.planShards(specs, maxShardByteCount: 400) == [0..<2, 2..<3, 3..<4, 4..<5])
        #expect(HuggingFaceFolderWriter.planShards(specs, maxShardByteCount: 10_000) == [0..<5])
    }

    /// swa-avg over the Trainer run into a folder: shards within --max-shard-size, an index that
    /// lists every tensor under its shard with the total size, the last input's side files, and
    /// the same tensors as the plain output, read back through our sharded reader.
    @Test func averagedFolderLoadsThroughItsIndex() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try discoverCheckpoints([HFFixtures.run]).entries
            let output = folder + "/averaged/"
            var request = AveragingRequest(inputs: inputs, method: .weighted([1, 1, 1, 1]), destination: output)
            request.outputOptions.maxShardByteCount = 8000
            let report = try StreamingAverager(request: request).run()
            let written = folder + "/averaged"
            let files = TestSupport.contents(of: written)
            #expect(files == ["config.json", "generation_config.json", "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                              "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors", "model.safetensors.index.json",
                              "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"])
            #expect(TestSupport.contents(of: folder) == ["averaged"])
            // The side files are the last input's, byte for byte.
            for name in ["config.json", "tokenizer.json", "generation_config.json"] {
                #expect(FileManager.default.contentsEqual(atPath: written + "/" + name, andPath: HFFixtures.checkpoint(40) + "/" + name))
            }
            let archive = try #require(try TensorArchives.open(path: output) as? ShardedSafetensorsArchive)
            #expect(archive.header.tensors.map(\.name) == inputs[0].header.tensors.map(\.name))
            for shard in archive.shards {
                #expect(shard.header.dataByteCount <= 8000 || shard.header.tensors.count == 1)
                #expect(shard.header.metadata["format"] == "pt")
                #expect(shard.header.metadata["swa.n_averaged"] == "4")
            }
            let index = try SafetensorsIndex.read(path: written + "/model.safetensors.index.json")
            #expect(index.totalSize == archive.header.dataByteCount)
            #expect(index.weightMap.map(\.tensor) == archive.header.tensors.map(\.name).sorted())
            for shard in archive.shards {
                let name = String(shard.path.split(separator: "/").last!)
                #expect(Set(index.weightMap.filter { $0.shard == name }.map(\.tensor)) == Set(shard.header.tensors.map(\.name)))
            }
            let text = try String(contentsOfFile: written + "/model.safetensors.index.json", encoding: .utf8)
            #expect(text.hasPrefix("{\n  \"metadata\": {\n    \"total_size\": \(archive.header.dataByteCount)\n  },\n  \"weight_map\": {\n    \"lm_head.weight\": \"model-0000"))
            #expect(report.outputBytes == (try files.reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: written + "/" + $1)[.size] as! Int) }))
            let ours = try HFFixtures.tensors(output), golden = try HFFixtures.tensors(HFFixtures.golden("average-all.safetensors"))
            for (name, (_, bytes)) in golden { #expect(ours[name]?.1 == bytes, "\(name)") }
        }
    }

    @Test func oneShardIsModelSafetensorsWithoutAnIndex() throws {
        try TestSupport.withTemporaryDirectory { folder in
            _ = try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(20), destination: folder + "/one/"))
            #expect(TestSupport.contents(of: folder + "/one").filter { $0.hasPrefix("model") } == ["model.safetensors"])
            let file = try SafetensorsArchive(path: folder + "/one/model.safetensors")
            #expect(file.format == .safetensors)
            #expect(file.header.metadata["format"] == "pt")
            #expect(file.header.metadata["swa.step"] == "20")
        }
    }

    @Test func existingOutputsAreRefusedWithoutForceAndReplacedWithIt() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/out"
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
            // An empty folder is taken as it is.
            _ = try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(10), destination: output))
            let before = TestSupport.contents(of: output)
            let error = try #require(throws: SWAError.self) {
                try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(20), destination: output + "/"))
            }
            #expect(error.description == "\(output): already exists and is not empty; pass --force to replace it")
            #expect(TestSupport.contents(of: output) == before)
            let step = { try TensorArchives.open(path: output).header.checkpointMetadata.step }
            #expect(try step() == 10)
            _ = try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(20), destination: output, overwrite: true))
            #expect(try step() == 20)
            #expect(TestSupport.contents(of: folder) == ["out"])
        }
    }

    /// A failure after the data started leaves nothing: no folder, no temporary folder.
    @Test func failedFolderOutputLeavesNothing() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let run = try HFFixtures.copy(HFFixtures.run, into: folder, as: "output")
            // The last input's last bytes become 0xFF: NaN in a float tensor, a changed integer
            // tensor otherwise; either way the average fails after the output was begun.
            let shard = run + "/checkpoint-40/model-00002-of-00002.safetensors"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: shard))
            try handle.seek(toOffset: try handle.seekToEnd() - 4)
            try handle.write(contentsOf: Data([0xFF, 0xFF, 0xFF, 0xFF]))
            try handle.close()
            let inputs = try discoverCheckpoints([run]).entries
            #expect(throws: SWAError.self) {
                try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted([1, 1, 1, 1]), destination: folder + "/avg/")).run()
            }
            // Hidden files count too: no temporary folder or spool is left beside the output.
            #expect(TestSupport.contents(of: folder) == ["output"])
        }
    }

    @Test func sideFilesAreConfigurationNotWeightsOrTrainingState() {
        for name in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                     "tokenizer.model", "vocab.json", "merges.txt", "chat_template.jinja", "README.md"] {
            #expect(HuggingFaceFolderWriter.isSideFile(name), "\(name)")
        }
        for name in ["model.safetensors", "model-00001-of-00002.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                     "optimizer.pt", "scheduler.pt", "rng_state.pth", "rng_state_3.pth", "trainer_state.json", "training_args.bin",
                     "scaler.pt", ".hidden"] {
            #expect(!HuggingFaceFolderWriter.isSideFile(name), "\(name)")
        }
    }
}
