import Foundation
import Testing
@testable import SWAData
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Bad PyTorch files: one line naming the file (and the culprit), nothing run, nothing written.
@Suite(.serialized) struct PyTorchErrorTests {
    static let folder = PyTorchReaderTests.folder
    /// What unpickling malicious.pt with Python's pickle would create (`posix.system('touch ...')`).
    static let maliciousMarker = "/tmp/swa-malicious-pickle-ran"

    @Test("A pickle whose state dict comes from posix.system is refused naming the global, and nothing runs")
    func maliciousPickle() throws {
        try? FileManager.default.removeItem(atPath: Self.maliciousMarker)
        let path = Self.folder + "/malicious.pt"
        let expected = "\(path): 'state_dict' is built by posix.system, a Python global that is never imported or called here; the tensors cannot be reached without running it"
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: path) } == expected)
        #expect(TestSupport.errorDescription { _ = try LoadedCheckpoint(path: path) } == expected)
        #expect(TestSupport.errorDescription { _ = try discoverCheckpoints([path]) } == expected)
        // Asking for the tensors under it by key is refused the same way.
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: path, options: ArchiveOptions(key: "state_dict")) }
            == "\(path): --key 'state_dict' is built by posix.system, a Python global that is never imported or called here")
        // The pickle really does call posix.system with the command, and it was not run.
        let pickle = try Self.member("malicious/data.pkl", of: path)
        #expect(pickle.contains(Array("cposix\nsystem\n".utf8)))
        #expect(pickle.contains(Array("touch \(Self.maliciousMarker)".utf8)))
        #expect(!FileManager.default.fileExists(atPath: Self.maliciousMarker))
    }

    @Test("Tensors only reachable inside an inert object: the error names its global")
    func tensorsBehindAGlobal() throws {
        try TestSupport.withTemporaryDirectory { folder in
            // {'weights': posix.system('x'), with BUILD state {'w': tensor}}
            let pickle: [UInt8] = [0x80, 0x02, 0x7D] + Self.unicode("weights") + Array("cposix\nsystem\n".utf8) + Self.unicode("x") + [0x85, 0x52]
                + [0x7D] + Self.unicode("w") + Self.tensor(size: 4, storageCount: 4) + [0x73, 0x62, 0x73, 0x2E]
            let path = try Self.writeTorchZip(pickle: pickle, storage: [UInt8](repeating: 0, count: 16), in: folder)
            #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: path) }
                == "\(path): the tensors are only reachable through posix.system, a Python global that is never imported or called here")
        }
    }

    @Test("A file with no tensors, and an ambiguous one listing its candidates")
    func noTensorsAndAmbiguous() throws {
        let empty = Self.folder + "/no-tensors.pt"
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: empty) } == "\(empty): no tensors in this file (it holds epoch, note)")
        let ambiguous = Self.folder + "/ambiguous.pt"
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: ambiguous) }
            == "\(ambiguous): ambiguous: 2 dicts of tensors ('encoder', 'decoder'); choose one with --key")
        let paper = Self.folder + "/paper.pt"
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: paper, options: ArchiveOptions(key: "swa_state_dict")) }
            == "\(paper): --key 'swa_state_dict': no 'swa_state_dict' at the top level (keys there: 'epoch', 'state_dict', 'optimizer')")
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: paper, options: ArchiveOptions(key: "epoch")) }
            == "\(paper): --key 'epoch' is not a dict of tensors")
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: paper, options: ArchiveOptions(stripPrefix: "encoder.")) }
            == "\(paper): no tensor name starts with --strip-prefix 'encoder.' (e.g. 'conv.weight')")
        let safetensors = TestSupport.checkpoints + "/ckpt-001.safetensors.zst"
        #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: safetensors, options: ArchiveOptions(key: "state_dict")) }
            == "\(safetensors): --key 'state_dict' selects an object inside a PyTorch file; this is a zstd-compressed safetensors checkpoint")
    }

    @Test("A truncated zip, at any length, is one line")
    func truncatedZip() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let whole = try TestSupport.bytes(of: Self.folder + "/paper.pt")
            for length in [whole.count - 1, whole.count - 22, whole.count / 2, 200] {
                let path = try TestSupport.write(Array(whole.prefix(length)), to: folder, name: "cut-\(length).pt")
                #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: path) }
                    == "\(path): damaged or truncated zip archive: no end-of-directory record (the file was cut short?)")
            }
        }
    }

    @Test("A truncated legacy file names the storage it ends in")
    func truncatedLegacy() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let whole = try TestSupport.bytes(of: Self.folder + "/legacy.pt")
            let path = try TestSupport.write(Array(whole.dropLast(3)), to: folder, name: "legacy-cut.pt")
            let message = try #require(TestSupport.errorDescription { _ = try TensorArchives.open(path: path) })
            #expect(message.hasPrefix("\(path): truncated: storage '"), "\(message)")
            #expect(message.hasSuffix("elements, more than the file holds"), "\(message)")
            let early = try TestSupport.write(Array(whole.prefix(300)), to: folder, name: "legacy-early.pt")
            let earlyMessage = try #require(TestSupport.errorDescription { _ = try TensorArchives.open(path: early) })
            #expect(earlyMessage.hasPrefix("\(early): legacy torch.save format, object: the pickle ends early"), "\(earlyMessage)")
        }
    }

    @Test("A tensor reaching past its storage, a storage shorter than declared, a missing storage")
    func storageOutOfRange() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let beyond = try Self.writeTorchZip(pickle: Self.stateDict(size: 10, storageCount: 4), storage: [UInt8](repeating: 0, count: 16), in: folder, name: "beyond.pt")
            #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: beyond) }
                == "\(beyond): tensor 'w' (size [10], stride [1], offset 0) reaches past the end of its storage archive/data/0 of 4 elements: storage out of range")
            let short = try Self.writeTorchZip(pickle: Self.stateDict(size: 4, storageCount: 4), storage: [UInt8](repeating: 0, count: 8), in: folder, name: "short.pt")
            #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: short) }
                == "\(short): tensor 'w': storage archive/data/0 holds 2 elements, the pickle says 4")
            let missing = try Self.writeTorchZip(pickle: Self.stateDict(size: 4, storageCount: 4), storage: nil, in: folder, name: "missing.pt")
            #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: missing) }
                == "\(missing): tensor 'w': its storage archive/data/0 is not in the file")
            // And the good one reads.
            let good = try Self.writeTorchZip(pickle: Self.stateDict(size: 4, storageCount: 4), storage: (0..<16).map { UInt8($0) }, in: folder, name: "good.pt")
            #expect(try TensorArchives.open(path: good).readTensor(named: "w") == (0..<16).map { UInt8($0) })
        }
    }

    @Test("A zip saved on a big-endian machine (byteorder 'big') is swapped to little-endian; any other byteorder is an error")
    func bigEndianZip() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let values: [Float] = [1.5, -2, 3.25, 1e-3]
            let bigEndian = values.flatMap { withUnsafeBytes(of: $0.bitPattern.bigEndian) { Array($0) } }
            let littleEndian = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } }
            let path = try Self.writeTorchZip(pickle: Self.stateDict(size: 4, storageCount: 4), storage: bigEndian, in: folder, byteorder: "big")
            let archive = try TensorArchives.open(path: path)
            #expect(try archive.readTensor(named: "w") == littleEndian)
            let stream = try archive.openDataStream()
            #expect(try stream.readTensorBytes(archive.header.tensors[0]) == littleEndian)
            let odd = try Self.writeTorchZip(pickle: Self.stateDict(size: 4, storageCount: 4), storage: bigEndian, in: folder, name: "odd.pt", byteorder: "middle")
            #expect(TestSupport.errorDescription { _ = try TensorArchives.open(path: odd) } == "\(odd): archive/byteorder says 'middle', neither 'little' nor 'big'")
        }
    }

    @Test("Bad PyTorch input through the tool: one line, exit 1, no output file")
    func toolRefusesBadInput() throws {
        try TestSupport.withTemporaryDirectory { folder in
            for (input, message) in [
                ("no-tensors.pt", "no tensors in this file (it holds epoch, note)"),
                ("ambiguous.pt", "ambiguous: 2 dicts of tensors ('encoder', 'decoder'); choose one with --key"),
                ("malicious.pt", "'state_dict' is built by posix.system, a Python global that is never imported or called here; the tensors cannot be reached without running it"),
            ] {
                let path = "fixtures/pytorch/" + input
                let result = try ToolRunner.run("swa-avg", [path, "-o", folder + "/out.bin"])
                #expect(result.status == 1)
                #expect(result.stderr == "swa-avg: \(path): \(message)\n")
                #expect(TestSupport.contents(of: folder).isEmpty)
            }
            #expect(!FileManager.default.fileExists(atPath: Self.maliciousMarker))
        }
    }

    @Test("Random corruptions of zip and legacy files are read or refused, never a crash")
    func corruptedFiles() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var generator = SeededGenerator(seed: 17)
            for name in ["views.pt", "legacy.pt"] {
                let whole = try TestSupport.bytes(of: Self.folder + "/" + name)
                for round in 0..<150 {
                    var bytes = whole
                    for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
                    let path = try TestSupport.write(bytes, to: folder, name: "\(round)-\(name)")
                    if let archive = try? TensorArchives.open(path: path), let stream = try? archive.openDataStream() {
                        for info in archive.header.tensors { _ = try? stream.readTensorBytes(info) }
                    }
                }
            }
        }
    }

    // MARK: - Hand-made torch.save files

    /// A BINUNICODE string.
    static func unicode(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [0x58] + withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { Array($0) } + bytes
    }

    /// `_rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', storageCount), 0, (size,), (1,), False, ())`.
    static func tensor(size: UInt8, storageCount: UInt8) -> [UInt8] {
        Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28] + unicode("storage") + Array("ctorch\nFloatStorage\n".utf8)
            + unicode("0") + unicode("cpu") + [0x4B, storageCount, 0x74, 0x51, 0x4B, 0x00, 0x4B, size, 0x85, 0x4B, 0x01, 0x85, 0x89, 0x29, 0x74, 0x52]
    }

    /// `{'w': tensor}`.
    static func stateDict(size: UInt8, storageCount: UInt8) -> [UInt8] {
        [0x80, 0x02, 0x7D] + unicode("w") + tensor(size: size, storageCount: storageCount) + [0x73, 0x2E]
    }

    /// A zip in torch.save's layout: `archive/data.pkl`, `archive/data/0` (if given), `archive/byteorder`.
    static func writeTorchZip(pickle: [UInt8], storage: [UInt8]?, in folder: String, name: String = "model.pt", byteorder: String = "little") throws -> String {
        let path = folder + "/" + name
        var members: [(name: String, bytes: [UInt8])] = [(name: "archive/data.pkl", bytes: pickle)]
        if let storage { members.append((name: "archive/data/0", bytes: storage)) }
        members.append((name: "archive/byteorder", bytes: Array(byteorder.utf8)))
        try NpzWriter.writeMembers(members, to: path, compressed: false)
        return path
    }

    /// The stored bytes of member `name` of the zip at `path`.
    static func member(_ name: String, of path: String) throws -> [UInt8] {
        let file = try InputFile(path: path)
        let directory = try ZipDirectory(file: file)
        let range = try #require(directory.members[name]?.dataRange)
        return try #require(try file.bytes(at: range.lowerBound, count: range.count))
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs as a contiguous run.
    func contains(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
