import Foundation
import Testing
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// swa-convert's job: any input to our format, plain safetensors or a Hugging Face folder, bit
/// for bit, with graph and preprocessing attached on request.
@Suite struct ConversionTests {
    /// HF folder → zstd → plain → HF folder (3 shards) → plain → zstd: every tensor's bytes
    /// survive, and converting the same content twice gives the same file, byte for byte.
    @Test func roundTripsAreExact() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let source = HFFixtures.checkpoint(30)
            let steps = [folder + "/a.bin", folder + "/b.safetensors", folder + "/c/", folder + "/d.safetensors", folder + "/e.bin"]
            var input = source
            for destination in steps {
                var request = ConversionRequest(input: input, destination: destination)
                request.outputOptions.maxShardByteCount = 9000
                let report = try ConversionJob.run(request)
                #expect(report.tensors == 21)
                input = destination
            }
            #expect(TestSupport.contents(of: folder + "/c").filter { $0.hasPrefix("model") }.count == 4)  // 3 shards and the index
            let expected = try HFFixtures.tensors(source)
            for path in steps {
                let tensors = try HFFixtures.tensors(path)
                #expect(tensors.count == expected.count)
                for (name, (info, bytes)) in expected {
                    #expect(tensors[name]?.0.dtype == info.dtype && tensors[name]?.0.shape == info.shape && tensors[name]?.1 == bytes, "\(path): \(name)")
                }
                let metadata = try TensorArchives.open(path: path).header.metadata
                #expect(metadata["swa.step"] == "30" && metadata["format"] == "pt", "\(path)")
            }
            #expect(FileManager.default.contentsEqual(atPath: folder + "/a.bin", andPath: folder + "/e.bin"))
            #expect(FileManager.default.contentsEqual(atPath: folder + "/b.safetensors", andPath: folder + "/d.safetensors"))
            // Plain output is what safetensors writes: 8-byte length, JSON padded to 8, data.
            let plain = try SafetensorsArchive(path: folder + "/b.safetensors")
            #expect(plain.fileByteCount == plain.header.payloadByteCount)
            #expect(plain.header.jsonByteCount % 8 == 0)
        }
    }

    @Test func graphIsCheckedAndAttached() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let checkpoint = TestSupport.checkpoints + "/ckpt-003.safetensors.zst"
            let graphText = try #require(try TensorArchives.open(path: checkpoint).header.checkpointMetadata.graphJSON)
            let graphFile = folder + "/graph.json"
            try graphText.write(toFile: graphFile, atomically: true, encoding: .utf8)
            let preprocessing = Preprocessing(layout: .nchw, mean: [0.25], std: [0.5])
            let report = try ConversionJob.run(ConversionRequest(input: checkpoint, destination: folder + "/m.safetensors",
                                                                 model: .graphFile(graphFile), preprocessing: preprocessing))
            #expect(report.graph == "graph \(graphFile)")
            let metadata = try TensorArchives.open(path: folder + "/m.safetensors").header.checkpointMetadata
            #expect(try ModelGraph(json: #require(metadata.graphJSON), source: "m") == ModelGraph(json: graphText, source: "g"))
            #expect(try metadata.preprocessing(file: nil) == preprocessing)
            // The CNN's graph does not bind the language model's tensors: one line naming the key.
            let error = try #require(throws: SWAError.self) {
                try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(10), destination: folder + "/x.bin", model: .graphFile(graphFile)))
            }
            #expect(error.file == HFFixtures.checkpoint(10))
            #expect(error.message.hasPrefix("missing tensor '"))
            let arch = try #require(throws: SWAError.self) {
                try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(10), destination: folder + "/x.bin", model: .preset("preresnet20")))
            }
            // The newcomer's message: what does not fit, and what to do instead.
            #expect(arch.message.hasPrefix("--arch preresnet20 does not fit: 99 of its 99 tensors are missing"), "\(arch.message)")
            #expect(arch.message.contains("--graph FILE.json"), "\(arch.message)")
            #expect(TestSupport.contents(of: folder) == ["graph.json", "m.safetensors"])
        }
    }

    @Test func dtypeConversionRoundsFloatTensorsOnce() throws {
        try TestSupport.withTemporaryDirectory { folder in
            _ = try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(10), destination: folder + "/h.safetensors", outputDType: .convert(.f16)))
            let source = try HFFixtures.tensors(HFFixtures.checkpoint(10)), converted = try HFFixtures.tensors(folder + "/h.safetensors")
            for (name, (info, bytes)) in source {
                let (outInfo, outBytes) = try #require(converted[name])
                guard info.dtype.isFloatingPoint else {
                    #expect(outInfo.dtype == info.dtype && outBytes == bytes)
                    continue
                }
                #expect(outInfo.dtype == .f16)
                // Each value is the nearest F16 to the source value (the naive oracle: Float16(Float)).
                let expected = TestSupport.doubles(bytes, dtype: info.dtype).map { Double(Float16(Float($0))) }
                #expect(TestSupport.doubles(outBytes, dtype: .f16) == expected, "\(name)")
            }
        }
    }
}
