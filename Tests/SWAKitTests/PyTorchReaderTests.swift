import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// PyTorch `torch.save` files read through `TensorArchives.open`, compared bit for bit with what
/// PyTorch itself saved as safetensors (`.contiguous()` clones, fixtures/make_pytorch_fixtures.py).
@Suite struct PyTorchReaderTests {
    static let folder = TestSupport.fixtures + "/pytorch"

    /// (fixture, options, golden, expected format) — every shape the fixture script writes.
    static let cases: [(file: String, options: ArchiveOptions, golden: String, format: FileFormat)] = [
        ("paper.pt", .none, "small", .pytorchZip),
        ("paper-swa.pt", .none, "small", .pytorchZip),
        ("paper-swa.pt", ArchiveOptions(key: "swa_state_dict"), "small-swa", .pytorchZip),
        ("fge.pt", .none, "small", .pytorchZip),
        ("timm.pth.tar", .none, "small", .pytorchZip),
        ("timm.pth.tar", ArchiveOptions(key: "state_dict_ema"), "small-ema", .pytorchZip),
        ("lightning.ckpt", .none, "lightning", .pytorchZip),
        ("lightning.ckpt", ArchiveOptions(stripPrefix: "model."), "small", .pytorchZip),
        ("lightning.ckpt", ArchiveOptions(key: "callbacks.EMA.ema_state_dict"), "small-ema", .pytorchZip),
        ("ddp.pt", .none, "small", .pytorchZip),
        ("compiled.pt", .none, "small", .pytorchZip),
        ("averaged.pt", .none, "averaged", .pytorchZip),
        ("bf16.pt", .none, "bf16", .pytorchZip),
        ("views.pt", .none, "views", .pytorchZip),
        ("dtypes.pt", .none, "dtypes", .pytorchZip),
        ("legacy.pt", .none, "legacy", .pickle),
        ("ambiguous.pt", ArchiveOptions(key: "encoder"), "", .pytorchZip),
    ]

    @Test("Every tensor equals PyTorch's bit for bit: views, tied storage, F16/BF16, all dtypes, the legacy format",
          arguments: cases.indices.filter { !cases[$0].golden.isEmpty })
    func tensorsMatchPyTorch(_ index: Int) throws {
        let (file, options, golden, format) = Self.cases[index]
        let path = Self.folder + "/" + file
        let archive = try TensorArchives.open(path: path, options: options)
        #expect(archive.format == format)
        let expected = try TestSupport.readAll(Self.folder + "/golden/\(golden).safetensors")
        #expect(Set(archive.header.tensors.map(\.name)) == Set(expected.tensors.keys), "\(file)")
        // Streamed front to back, as averaging reads it.
        let stream = try archive.openDataStream()
        for info in archive.header.tensors {
            let bytes = try stream.readTensorBytes(info)
            let (goldenInfo, goldenBytes) = try #require(expected.tensors[info.name], "\(file): \(info.name)")
            #expect(info.dtype == goldenInfo.dtype && info.shape == goldenInfo.shape, "\(file): \(info.name)")
            #expect(bytes == goldenBytes, "\(file): \(info.name)")
            // And one by one, as a model loader may.
            #expect(try archive.readTensor(named: info.name) == goldenBytes, "\(file): \(info.name)")
        }
        #expect(try stream.finish() == 0)
    }

    @Test("Tensors come in the state dict's order, contiguous from offset 0")
    func stateDictOrder() throws {
        let archive = try TensorArchives.open(path: Self.folder + "/views.pt")
        #expect(archive.header.tensors.map(\.name) == ["base", "rows", "column", "transposed", "strided", "expanded", "scalar", "empty",
                                                        "embedding.weight", "decoder.weight", "half_view"])
        var offset = 0
        for info in archive.header.tensors {
            #expect(info.dataOffsets.lowerBound == offset)
            offset = info.dataOffsets.upperBound
        }
    }

    @Test("epoch and global_step become swa.epoch and swa.step")
    func trainingPosition() throws {
        let paper = try TensorArchives.open(path: Self.folder + "/paper.pt").header.checkpointMetadata
        #expect(paper.epoch == 150 && paper.step == nil)
        let lightning = try TensorArchives.open(path: Self.folder + "/lightning.ckpt").header.checkpointMetadata
        #expect(lightning.epoch == 9 && lightning.step == 4500)
        #expect(try TensorArchives.open(path: Self.folder + "/views.pt").header.metadata.isEmpty)
    }

    @Test("The observer sees every byte of the file once, in order, even with tied storage read twice")
    func observerSeesTheWholeFile() throws {
        for file in ["views.pt", "legacy.pt", "paper.pt"] {
            let path = Self.folder + "/" + file
            var seen: [UInt8] = []
            let archive = try TensorArchives.open(path: path) { seen.append(contentsOf: $0) }
            let stream = try archive.openDataStream()
            try stream.finish()
            #expect(seen == (try TestSupport.bytes(of: path)), "\(file)")
        }
    }

    @Test("swa-inspect's structure: where the tensors were, what else is there, which globals were never run")
    func structure() throws {
        let lightning = try #require(try CheckpointInspection.inspect(path: Self.folder + "/lightning.ckpt").pytorch)
        #expect(lightning.layout == "zip")
        #expect(lightning.stateDictKey == "state_dict")
        #expect(lightning.entries.map(\.key) == ["epoch", "global_step", "pytorch-lightning_version", "state_dict", "loops", "callbacks",
                                                 "optimizer_states", "lr_schedulers", "hyper_parameters"])
        #expect(lightning.entries.first { $0.key == "state_dict" }?.summary == "dict of 9 entries, 9 tensors")
        #expect(lightning.inertGlobals == ["__main__.TrainConfig"])
        let timm = try #require(try CheckpointInspection.inspect(path: Self.folder + "/timm.pth.tar").pytorch)
        #expect(timm.inertGlobals == ["argparse.Namespace"])
        #expect(timm.entries.first { $0.key == "args" }?.summary == "argparse.Namespace object (not run)")
        let averaged = try #require(try CheckpointInspection.inspect(path: Self.folder + "/averaged.pt").pytorch)
        #expect(averaged.stateDictKey == "" && averaged.strippedPrefixes == ["module."] && averaged.dropped == ["n_averaged"])
        let legacy = try #require(try CheckpointInspection.inspect(path: Self.folder + "/legacy.pt").pytorch)
        #expect(legacy.layout == "legacy")
    }

    @Test("Discovery takes .pt files in a folder and orders them by their epoch")
    func discovery() throws {
        let sequence = try discoverCheckpoints([Self.folder + "/run"])
        #expect(sequence.positionSource == .epoch)
        #expect(sequence.entries.map(\.position) == [17, 18, 19, 20])
        #expect(sequence.entries.allSatisfy { $0.format == .pytorchZip })
        let keyed = try discoverCheckpoints([Self.folder + "/paper-swa.pt"], options: ArchiveOptions(key: "swa_state_dict"))
        #expect(keyed.entries[0].options.key == "swa_state_dict")
    }
}
