import Foundation
import Testing
@testable import SWAFormats

/// The `swa.*` schema: every key read and written through one type, unknown keys carried through.
@Suite struct CheckpointMetadataTests {
    @Test func positionsAreNumbersWrittenWithoutATrailingZero() {
        var metadata = CheckpointMetadata(["swa.epoch": "12", "swa.step": "not a number"])
        #expect(metadata.epoch == 12)
        #expect(metadata.step == nil)
        metadata.step = 2500
        metadata.epoch = 12.5
        #expect(metadata.values == ["swa.epoch": "12.5", "swa.step": "2500"])
        metadata.epoch = nil
        #expect(metadata.values == ["swa.step": "2500"])
    }

    @Test func unknownKeysAreCarriedThroughUntouched() throws {
        var metadata = CheckpointMetadata(["swa.lr": "0.05", "format": "pt", "swa.graph": "{}"])
        metadata.averagedCount = 6
        metadata.method = "uniform"
        #expect(metadata.values == ["swa.lr": "0.05", "format": "pt", "swa.graph": "{}", "swa.n_averaged": "6", "swa.method": "uniform"])
        // Codable encodes the string map itself, so a JSON round trip is exact.
        let data = try JSONEncoder().encode(metadata)
        #expect(try JSONDecoder().decode([String: String].self, from: data) == metadata.values)
        #expect(try JSONDecoder().decode(CheckpointMetadata.self, from: data) == metadata)
    }

    @Test func batchNormStatusRoundTrips() {
        var metadata = CheckpointMetadata()
        #expect(metadata.batchNorm == nil)
        #expect(metadata.batchNormSummary == "unknown")
        metadata.batchNorm = .stale
        #expect(metadata.values["swa.bn"] == "stale")
        #expect(metadata.batchNormSummary == "stale")

        let record = BatchNormRecord(weighting: "batch", data: "train.npz", dataSHA256: String(repeating: "ab", count: 32),
                                     samples: 1300, batches: 21, batchSize: 64, augment: "crop:4,flip", seed: 3)
        metadata.batchNorm = .recomputed(record)
        #expect(metadata.values["swa.bn"] == #"{"augment":"crop:4,flip","batch_size":64,"batches":21,"data":"train.npz","#
            + #""data_sha256":"\#(String(repeating: "ab", count: 32))","method":"recomputed","samples":1300,"seed":3,"weighting":"batch"}"#)
        #expect(metadata.batchNorm == .recomputed(record))
        #expect(metadata.batchNormSummary == "updated")

        // What an older writer produced, key order and all, still reads.
        let older = CheckpointMetadata(["swa.bn": #"{"method":"recomputed","weighting":"sample","data":"t.npz","data_sha256":"00","samples":5,"batches":1,"batch_size":8}"#])
        guard case let .recomputed(read)? = older.batchNorm else { Issue.record("not read as recomputed"); return }
        #expect(read.weighting == "sample" && read.samples == 5 && read.augment == nil && read.seed == nil)

        let strange = CheckpointMetadata(["swa.bn": "by hand"])
        #expect(strange.batchNorm == .unrecognized("by hand"))
        #expect(strange.batchNormSummary == "unknown")
    }

    @Test func sourcesRoundTripAndBadOnesNameTheFile() throws {
        var metadata = CheckpointMetadata()
        let sources = [SourceRecord(name: "ckpt-010.safetensors.zst", sha256: "aa", position: 10, weight: 0.25),
                       SourceRecord(name: "ckpt-012.safetensors.zst", sha256: "bb", position: 12.5, weight: 0.75)]
        metadata.setSources(sources)
        #expect(try metadata.sources(file: "swa.bin") == sources)
        let bad = CheckpointMetadata(["swa.sources": "[1, 2]"])
        let error = try #require(throws: SWAError.self) { try bad.sources(file: "swa.bin") }
        #expect(error.description.hasPrefix("swa.bin: swa.sources: "))
    }

    @Test func preprocessingGoesThroughItsOwnParser() throws {
        var metadata = CheckpointMetadata()
        #expect(try metadata.preprocessing(file: "m.bin") == nil)
        metadata.setPreprocessing(Preprocessing(layout: .nhwc, mean: [0.5], std: [0.25]))
        #expect(try metadata.preprocessing(file: "m.bin") == Preprocessing(layout: .nhwc, mean: [0.5], std: [0.25]))
        let bad = CheckpointMetadata(["swa.preprocess": #"{"mean": [0], "std": [0]}"#])
        let error = try #require(throws: SWAError.self) { try bad.preprocessing(file: "m.bin") }
        #expect(error.description.hasPrefix("m.bin: swa.preprocess: "))
    }
}
