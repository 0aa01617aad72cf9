import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The mistakes of a newcomer's first hour (issue 17): each message names the likely cause and
/// the flag or command that fixes it.
@Suite struct NewcomerMessageTests {
    static let newcomer = TestSupport.fixtures + "/newcomer"
    static let epoch12 = newcomer + "/safetensors/epoch-12.safetensors"

    /// Writes `graph`'s tensors (zeros; BN counters as I64) under `prefix` to `path`.
    static func writeCheckpoint(of graph: ModelGraph, prefix: String = "", to path: String, metadata: [String: String] = [:]) throws {
        var tensors: [(spec: TensorSpec, bytes: [UInt8])] = []
        for node in graph.nodes {
            for role in node.operation.tensorRoles() {
                guard let key = node.tensors[role.role] else { continue }
                let dtype: DType = role.role == "num_batches_tracked" ? .i64 : .f32
                let spec = TensorSpec(name: prefix + key, dtype: dtype, shape: role.shape)
                tensors.append((spec, [UInt8](repeating: 0, count: spec.byteCount)))
            }
        }
        try CheckpointWriter.write(tensors, metadata: metadata, to: path, overwrite: false)
    }

    static func newcomerGraph() throws -> ModelGraph {
        try ModelGraph(json: String(contentsOfFile: newcomer + "/graph.json", encoding: .utf8), source: "graph.json")
    }

    // MARK: - Two models, one folder

    @Test func twoModelsAtOnePositionAreCalledDifferentModels() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try Self.writeCheckpoint(of: Self.newcomerGraph(), to: folder + "/cnn-05.bin")
            try Self.writeCheckpoint(of: ArchitecturePreset(name: "preresnet20").graph(classes: 10), to: folder + "/resnet-05.bin")
            let message = TestSupport.errorDescription { _ = try discoverCheckpoints([folder]) }
            #expect(message?.contains("look like different models") == true, "\(message ?? "")")
            #expect(message?.contains("cnn-05.bin") == true && message?.contains("resnet-05.bin") == true)
            #expect(message?.contains("folder of its own") == true)
            #expect(message?.contains("same training position") == false)
        }
    }

    @Test func twoModelsAtDifferentPositionsAreCalledDifferentModelsWhenAveraged() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try Self.writeCheckpoint(of: Self.newcomerGraph(), to: folder + "/a-01.bin")
            try Self.writeCheckpoint(of: ArchitecturePreset(name: "preresnet20").graph(classes: 10), to: folder + "/b-02.bin")
            let sequence = try discoverCheckpoints([folder])
            let message = TestSupport.errorDescription { _ = try checkSameTensors(sequence.entries) }
            #expect(message?.contains("\(folder)/b-02.bin and \(folder)/a-01.bin") == true, "\(message ?? "")")
            #expect(message?.contains("look like different models") == true)
            // Counts and examples of the keys only one of them holds.
            #expect(message?.contains("only in \(folder)/b-02.bin (e.g. '") == true)
        }
    }

    @Test func aWrapperPrefixInOneFileIsNamedWithTheFlagThatStripsIt() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try Self.writeCheckpoint(of: Self.newcomerGraph(), to: folder + "/epoch-01.bin")
            try Self.writeCheckpoint(of: Self.newcomerGraph(), prefix: "module.", to: folder + "/epoch-02.bin")
            let sequence = try discoverCheckpoints([folder])
            let message = TestSupport.errorDescription { _ = try checkSameTensors(sequence.entries) }
            #expect(message?.contains("starts with 'module.'") == true, "\(message ?? "")")
            #expect(message?.hasSuffix("pass --strip-prefix module.") == true)
        }
    }

    @Test func aPrefixedCheckpointBoundToItsGraphSuggestsStripPrefix() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try Self.writeCheckpoint(of: Self.newcomerGraph(), prefix: "module.", to: folder + "/ddp.bin")
            let message = TestSupport.errorDescription {
                _ = try LoadedModel(path: folder + "/ddp.bin", source: .graphFile(Self.newcomer + "/graph.json"))
            }
            #expect(message?.contains("missing tensor 'features.0.weight'") == true, "\(message ?? "")")
            #expect(message?.contains("'module.features.0.weight' is there") == true)
            #expect(message?.hasSuffix("pass --strip-prefix module.") == true)
        }
    }

    // MARK: - A wrong preset

    @Test func aWrongPresetNamesThePresetWhoseKeysMatch() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try Self.writeCheckpoint(of: ArchitecturePreset(name: "preresnet20").graph(classes: 10), to: folder + "/r20.bin")
            for wrong in ["vgg16bn", "preresnet110", "wrn28x10"] {
                let message = TestSupport.errorDescription { _ = try LoadedModel(path: folder + "/r20.bin", source: .preset(wrong)) }
                #expect(message?.contains("--arch \(wrong) does not fit") == true, "\(message ?? "")")
                #expect(message?.hasSuffix("its keys are those of --arch preresnet20") == true, "\(message ?? "")")
            }
        }
    }

    @Test func aModelThatIsNoPresetIsPointedToGraph() throws {
        let message = TestSupport.errorDescription { _ = try LoadedModel(path: Self.epoch12, source: .preset("vgg16")) }
        #expect(message?.contains("--arch vgg16 does not fit") == true, "\(message ?? "")")
        #expect(message?.hasSuffix("it matches no preset: describe it with --graph FILE.json (docs/GRAPH.md)") == true)
    }

    @Test func aPresetGivenForACheckpointWithItsOwnGraphSaysToLeaveItOut() throws {
        let fixture = TestSupport.checkpoints + "/ckpt-020.safetensors.zst"
        let message = TestSupport.errorDescription { _ = try LoadedModel(path: fixture, source: .preset("preresnet20")) }
        #expect(message?.hasSuffix("the checkpoint carries its own graph (swa.graph): leave out --arch") == true, "\(message ?? "")")
    }

    @Test func theBestMatchReadsTheWidenFactorOfAWideResNet() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try Self.writeCheckpoint(of: ArchitecturePreset(name: "wrn16x4").graph(classes: 10), to: folder + "/w.bin")
            let match = ArchitecturePreset.bestMatch(for: try LoadedCheckpoint(path: folder + "/w.bin").header)
            #expect(match?.name == "wrn16x4")
            #expect(match?.score == 1)
        }
    }

    // MARK: - Data

    @Test func channelsLastDataSuggestsLayoutNHWC() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let pixels = (0..<(4 * 64)).map { UInt8($0 % 256) }
            try NpzWriter.write([("x", .init(uint8: pixels, shape: [4, 8, 8, 1])), ("y", .init(int64: [0, 1, 2, 3], shape: [4]))],
                                to: folder + "/nhwc.npz", compressed: false)
            let model = try LoadedModel(path: Self.epoch12, source: .graphFile(Self.newcomer + "/graph.json"))
            let message = TestSupport.errorDescription { _ = try DataRequest(path: folder + "/nhwc.npz").open(for: model) }
            #expect(message?.contains("samples have shape [8, 8, 1], the model expects [1, 8, 8]") == true, "\(message ?? "")")
            #expect(message?.hasSuffix("x looks channels-last (N×H×W×C): pass --layout nhwc") == true)
            // And the flag does fix it.
            let data = try DataRequest(path: folder + "/nhwc.npz", layout: .nhwc).open(for: model)
            #expect(data.sampleShape == [1, 8, 8])
            // The reverse mistake gets the reverse hint.
            let reverse = TestSupport.errorDescription {
                _ = try DataRequest(path: Self.newcomer + "/data/test.npz", layout: .nhwc).open(for: model)
            }
            #expect(reverse?.hasSuffix("pass --layout nchw") == true, "\(reverse ?? "")")
        }
    }

    @Test func otherArrayNamesSuggestXKeyAndYKey() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try NpzWriter.write([("labels", .init(int64: [0, 1], shape: [2])),
                                 ("images", .init(float32: [Float](repeating: 0, count: 128), shape: [2, 1, 8, 8])),
                                 ("mask", .init(float32: [1, 1], shape: [2]))],
                                to: folder + "/named.npz", compressed: false)
            let message = TestSupport.errorDescription { _ = try DataSet(path: folder + "/named.npz", preprocessing: nil) }
            #expect(message?.contains("no array 'x'; arrays present: 'labels', 'images', 'mask'") == true, "\(message ?? "")")
            #expect(message?.hasSuffix("; pass --x-key images --y-key labels") == true)
            // The labels alone missing: only the flag that changes something.
            let data = try DataSet(path: folder + "/named.npz", xKey: "images", yKey: "y", preprocessing: nil)
            let labels = TestSupport.errorDescription { _ = try data.labels() }
            #expect(labels?.hasSuffix("no array 'y'; arrays present: 'labels', 'images', 'mask'; pass --y-key labels") == true, "\(labels ?? "")")
        }
    }

    // MARK: - Outputs

    @Test func aMissingOutputFolderIsNamedWithTheCommandThatCreatesIt() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let destination = folder + "/out/nope/swa.bin"
            let early = TestSupport.errorDescription { try AtomicOutputFile.checkDestination(destination, overwrite: false) }
            let late = TestSupport.errorDescription { try AtomicOutputFile.writeText("x", to: destination) }
            for message in [early, late] {
                #expect(message == "\(destination): the output folder '\(folder)/out/nope' does not exist; create it first (mkdir -p \(folder)/out/nope)")
            }
        }
    }

    @Test func textOutputsAreRefusedUnlessOverwriting() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/curve.csv"
            try AtomicOutputFile.writeText("old\n", to: path)
            let message = TestSupport.errorDescription { try AtomicOutputFile.writeText("new\n", to: path) }
            #expect(message == "\(path): already exists; pass --force to replace it")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
            try AtomicOutputFile.writeText("new\n", to: path, overwrite: true)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
            #expect(TestSupport.contents(of: folder) == ["curve.csv"])
        }
    }

    // MARK: - Metadata of an average

    @Test func anAverageDropsTheLastInputsTrainingState() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let last = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-020.safetensors.zst").header.metadata
            #expect(last["swa.lr"] != nil, "the fixture records its learning rate")
            let swa = try TestSupport.averageFixtures(in: folder)
            let metadata = try LoadedCheckpoint(path: swa).header.metadata
            for key in CheckpointMetadata.trainingStateKeys { #expect(metadata[key] == nil, "\(key)") }
            #expect(metadata["swa.graph"] == last["swa.graph"])
            #expect(metadata["swa.preprocess"] == last["swa.preprocess"])
        }
    }

    @Test func countsReadAsEnglish() {
        #expect(counted(1, "frame") == "1 frame")
        #expect(counted(3, "frame") == "3 frames")
        #expect(counted(0, "batch", "batches") == "0 batches")
        #expect(counted(1, "batch", "batches") == "1 batch")
    }
}
