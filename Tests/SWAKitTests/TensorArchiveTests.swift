import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The tensor-archive seam: every checkpoint format seen as a safetensors payload, opened by
/// content through `TensorArchives.open`, and a one-line error naming the file and its format
/// for anything that is not a checkpoint.
@Suite("Tensor archives")
struct TensorArchiveTests {
    static let fixture = TestSupport.checkpoints + "/ckpt-007.safetensors.zst"

    // MARK: - Safetensors, zstd and plain

    @Test("A zstd checkpoint and the same payload as a plain file present the same header and tensors")
    func zstdAndPlainAgree() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let plain = try Self.writePlainCopy(of: Self.fixture, to: folder)
            let loaded = try LoadedCheckpoint(path: Self.fixture)
            for (path, format) in [(Self.fixture, FileFormat.zstd), (plain, .safetensors)] {
                let archive = try TensorArchives.open(path: path)
                #expect(archive is SafetensorsArchive)
                #expect(archive.path == path)
                #expect(archive.format == format)
                #expect(archive.fileByteCount == (try TestSupport.bytes(of: path)).count)
                #expect(archive.header.tensors == loaded.header.tensors)
                #expect(archive.header.metadata == loaded.header.metadata)
                // Any order: the plain file is read in place, the zstd one decoded up to the tensor.
                for info in archive.header.tensors.reversed() {
                    #expect(try archive.readTensor(named: info.name) == loaded.tensors[info.name], "\(path): \(info.name)")
                }
            }
        }
    }

    @Test("A data stream hands out the data section in order, its observer sees every byte of the file, finish counts frames")
    func dataStream() throws {
        let archive = try TensorArchives.open(path: Self.fixture)
        var seen: [UInt8] = []
        let stream = try archive.openDataStream { seen.append(contentsOf: $0) }
        let first = try #require(archive.header.tensors.first)
        let middle = archive.header.tensors[archive.header.tensors.count / 2]
        #expect(try stream.readTensorBytes(first) == (try archive.readTensor(named: first.name)))
        try stream.skipData(to: middle.dataOffsets.lowerBound)
        #expect(stream.dataBytesRead == middle.dataOffsets.lowerBound)
        #expect(try stream.readTensorBytes(middle) == (try archive.readTensor(named: middle.name)))
        let frames = try stream.finish()
        #expect(stream.dataBytesRead == archive.header.dataByteCount)
        #expect(frames == (try CheckpointInspection.inspect(path: Self.fixture)).frames)
        #expect(seen == (try TestSupport.bytes(of: Self.fixture)))
        // Out of order is a bug of the caller, said as such.
        let message = TestSupport.errorDescription { _ = try stream.readTensorBytes(first) }
        #expect(message == "\(Self.fixture): internal: tensor '\(first.name)' is not next in payload order")
    }

    @Test("A tensor the header does not list is an error naming the file and the tensor")
    func missingTensor() throws {
        let archive = try TensorArchives.open(path: Self.fixture)
        let message = TestSupport.errorDescription { _ = try archive.readTensor(named: "head.9.weight") }
        #expect(message == "\(Self.fixture): no tensor 'head.9.weight' (the checkpoint holds \(archive.header.tensors.count) tensors)")
    }

    @Test("A file rewritten with other tensors after its header was read is named as changed")
    func changedOnDisk() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/ckpt.safetensors"
            let spec = TensorSpec(name: "w", dtype: .f32, shape: [2])
            try TestSupport.write(SafetensorsHeader(laying: [spec], metadata: [:]).encodedPrefix() + [UInt8](repeating: 0, count: 8),
                                  to: folder, name: "ckpt.safetensors")
            let archive = try TensorArchives.open(path: path)
            let other = TensorSpec(name: "w", dtype: .f32, shape: [1, 2])
            try TestSupport.write(SafetensorsHeader(laying: [other], metadata: [:]).encodedPrefix() + [UInt8](repeating: 0, count: 8),
                                  to: folder, name: "ckpt.safetensors")
            let message = TestSupport.errorDescription { _ = try archive.openDataStream { _ in } }
            #expect(message == "\(path): changed on disk while being read")
        }
    }

    @Test("A safetensors header of 640 bytes starts 0x80 0x02, like a pickle, and still opens as safetensors")
    func headerLengthThatLooksLikeAPickle() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var json = Array(#"{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#.utf8)
            json += [UInt8](repeating: UInt8(ascii: " "), count: 640 - json.count)
            let path = try TestSupport.write(TestSupport.safetensors(json: json, data: [7, 9]), to: folder, name: "odd.safetensors")
            #expect(Array(try TestSupport.bytes(of: path).prefix(2)) == [0x80, 0x02])
            let archive = try TensorArchives.open(path: path)
            #expect(archive.format == .safetensors)
            #expect(try archive.readTensor(named: "t") == [7, 9])
            #expect(try LoadedCheckpoint(path: path).tensors["t"] == [7, 9])
        }
    }

    // MARK: - Not checkpoints

    @Test("Files of another known format are refused in one line naming the file and the format")
    func otherFormatsAreNamed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            for (path, expected) in try Self.nonCheckpoints(in: folder) {
                #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: path) } == "\(path): \(expected)")
                // Every reader of checkpoints goes through the same door.
                #expect(TestSupport.errorDescription { _ = try LoadedCheckpoint(path: path) } == "\(path): \(expected)")
                #expect(TestSupport.errorDescription { _ = try CheckpointInspection.inspect(path: path) } == "\(path): \(expected)")
                #expect(TestSupport.errorDescription { _ = try discoverCheckpoints([path]) } == "\(path): \(expected)")
            }
        }
    }

    @Test("A file of no known format gets the safetensors reader's own complaint")
    func unknownFormat() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Array("hello, world".utf8), to: folder, name: "notes.bin")
            let message = try #require(TestSupport.errorDescription { _ = try TensorArchives.open(path: path) })
            #expect(message.hasPrefix("\(path): not a checkpoint: safetensors header length"), "\(message)")
        }
    }

    @Test("A folder's non-checkpoints are skipped with a warning naming their format; a checkpoint-named one is an error")
    func discoverySkipsOtherFormats() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let run = folder + "/run"
            try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: false)
            for epoch in [3, 4] {
                let name = String(format: "ckpt-%03d.safetensors.zst", epoch)
                try FileManager.default.copyItem(atPath: TestSupport.checkpoints + "/" + name, toPath: run + "/" + name)
            }
            try NpzWriter.write([(key: "x", array: .init(float32: [1, 2], shape: [2]))], to: run + "/data.npz", compressed: false)
            try TestSupport.write(Array("a log line\n".utf8), to: run, name: "train.log")
            var warnings: [String] = []
            let sequence = try discoverCheckpoints([run]) { warnings.append($0) }
            #expect(sequence.entries.map(\.position) == [3, 4])
            #expect(sequence.entries.allSatisfy { $0.format == .zstd && $0.isCompressed })
            #expect(warnings == [
                "skipping \(run)/data.npz: a NumPy .npz archive, not a checkpoint",
                "skipping \(run)/train.log: not a checkpoint (neither zstd nor safetensors)",
            ])
            try FileManager.default.moveItem(atPath: run + "/data.npz", toPath: run + "/data.bin")
            #expect(TestSupport.errorDescription { _ = try discoverCheckpoints([run]) }
                == "\(run)/data.bin: a NumPy .npz archive, not a checkpoint")
        }
    }

    // MARK: - Helpers

    /// One file per known non-checkpoint format, with the message `TensorArchives.open` must give.
    static func nonCheckpoints(in folder: String) throws -> [(path: String, message: String)] {
        let npz = folder + "/data.bin"
        try NpzWriter.write([(key: "x", array: .init(float32: [1, 2], shape: [2]))], to: npz, compressed: false)
        let npy = try TestSupport.write(NpzWriter.ArrayData(float32: [1], shape: [1]).npyBytes, to: folder, name: "x.bin")
        let torch = folder + "/model.pt"
        try NpzWriter.writeMembers([(name: "archive/data.pkl", bytes: [0x80, 0x02, 0x7D, 0x2E]), (name: "archive/version", bytes: Array("3\n".utf8))],
                                   to: torch, compressed: false)
        let zip = folder + "/notes.zip"
        try NpzWriter.writeMembers([(name: "README.txt", bytes: Array("hello".utf8))], to: zip, compressed: true)
        // A legacy (pre-1.6) torch.save file: a protocol-2 pickle of the magic number 0x1950a86a20f9469cfc6c.
        let legacy = try TestSupport.write([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E],
                                           to: folder, name: "legacy.pt")
        // PyTorch files are read (PyTorchReaderTests); these two hold no tensors.
        return [
            (npz, "a NumPy .npz archive, not a checkpoint"),
            (npy, "a NumPy .npy array, not a checkpoint"),
            (torch, "no tensors in this file (it holds an empty dict)"),
            (zip, "a zip archive, not a checkpoint"),
            (legacy, "legacy torch.save format, protocol version: the pickle ends early"),
        ]
    }

    /// Decompresses the checkpoint at `path` with the stock `zstd` CLI into `folder/plain.safetensors`.
    static func writePlainCopy(of path: String, to folder: String) throws -> String {
        let plain = folder + "/plain.safetensors"
        let result = try TestSupport.run(TestSupport.zstd, ["-d", "-q", path, "-o", plain])
        #expect(result.status == 0, "\(result.stderr)")
        return plain
    }
}
