import Foundation
import Testing
@testable import SWAFormats
#if canImport(Glibc)
import Glibc
#endif

/// How an output comes into place: through an unnamed file (`O_TMPFILE`) or, where the file
/// system refuses one, a hidden named file; replacing or refusing an existing output; folders
/// gathered from their files; and what killed writers left, removed by the next writer.
@Suite struct AtomicOutputFileTests {
    /// Whether the temporary folder's file system gives unnamed files (ext4, xfs, btrfs, tmpfs do).
    static let unnamedFilesWork: Bool = {
        guard let descriptor = try? openUnnamedFile(in: NSTemporaryDirectory(), for: NSTemporaryDirectory(), readable: false) else { return false }
        close(descriptor)
        return true
    }()

    private func write(_ text: String, to destination: String, overwrite: Bool, unnamed: Bool,
                       registry: TemporaryFileRegistry = TemporaryFileRegistry()) throws -> AtomicOutputFile {
        let output = try AtomicOutputFile(destination: destination, overwrite: overwrite, registry: registry, allowUnnamed: unnamed)
        try Array(text.utf8).withUnsafeBytes { try output.write($0) }
        return output
    }

    @Test("An unnamed output has no name in its folder until commit, then the permissions of a new file",
          .enabled(if: unnamedFilesWork, "the temporary folder's file system has no O_TMPFILE"))
    func unnamedOutputIsInvisibleUntilCommit() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = try write("finished\n", to: folder + "/out.csv", overwrite: false, unnamed: true)
            #expect(output.isUnnamed)
            #expect(TestSupport.contents(of: folder).isEmpty)
            try output.commit()
            #expect(TestSupport.contents(of: folder) == ["out.csv"])
            #expect(try String(contentsOfFile: folder + "/out.csv", encoding: .utf8) == "finished\n")
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: folder + "/out.csv")[.posixPermissions] as? Int)
            #expect(mode == 0o666 & ~Int(processUmask))
        }
    }

    @Test("A named output is hidden until commit and gets the same permissions")
    func namedOutputIsHiddenUntilCommit() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let registry = TemporaryFileRegistry()
            let output = try write("finished\n", to: folder + "/out.csv", overwrite: false, unnamed: false, registry: registry)
            let hidden = TestSupport.contents(of: folder)
            #expect(hidden.count == 1 && isTemporaryName(hidden[0], of: "out.csv", suffix: "swa-tmp"), "\(hidden)")
            #expect(registry.count == 1)
            try output.commit()
            #expect(TestSupport.contents(of: folder) == ["out.csv"])
            #expect(registry.count == 0)
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: folder + "/out.csv")[.posixPermissions] as? Int)
            #expect(mode == 0o666 & ~Int(processUmask))
        }
    }

    @Test("With overwrite, the new output replaces the old one and nothing else is left", arguments: [true, false])
    func overwriteReplaces(unnamed: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Array("old\n".utf8), to: folder, name: "out.csv")
            let output = try write("new\n", to: path, overwrite: true, unnamed: unnamed)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
            try output.commit()
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
            #expect(TestSupport.contents(of: folder) == ["out.csv"])
        }
    }

    @Test("Without overwrite, a file that appeared meanwhile is kept and named in the error", arguments: [true, false])
    func aFileThatAppearedMeanwhileIsKept(unnamed: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/out.csv"
            let output = try write("mine\n", to: path, overwrite: false, unnamed: unnamed)
            try TestSupport.write(Array("theirs\n".utf8), to: folder, name: "out.csv")
            let message = TestSupport.errorDescription { try output.commit() }
            #expect(message == "\(path): already exists; pass --force to replace it")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "theirs\n")
            #expect(TestSupport.contents(of: folder) == ["out.csv"])
        }
    }

    @Test("Discarded, an output leaves nothing and an earlier file untouched", arguments: [true, false])
    func discardLeavesNothing(unnamed: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Array("old\n".utf8), to: folder, name: "out.csv")
            let output = try write("new\n", to: path, overwrite: true, unnamed: unnamed)
            output.discard()
            #expect(throws: SWAError.self) { try output.commit() }
            #expect(TestSupport.contents(of: folder) == ["out.csv"])
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        }
    }

    // MARK: - Folders

    @Test("A folder is gathered from unnamed and named files and replaces the old one whole", arguments: [true, false])
    func folderCommitGathersFiles(replacing: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let destination = folder + "/model"
            if replacing {
                try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
                try TestSupport.write(Array("old".utf8), to: destination, name: "old.safetensors")
            }
            let registry = TemporaryFileRegistry()
            let files = try [("a.safetensors", true), ("config.json", false)].map { name, unnamed in
                let file = try registry.createPendingFile(besides: destination, suffix: "swa-tmp", allowUnnamed: unnamed)
                _ = Array(name.utf8).withUnsafeBytes { Glibc.write(file.descriptor, $0.baseAddress, $0.count) }
                return (name: name, file: file)
            }
            try registry.commitFolder(files, to: destination, suffix: "swa-tmp")
            for (_, file) in files { registry.discard(file) }
            #expect(TestSupport.contents(of: folder) == ["model"])
            #expect(TestSupport.contents(of: destination) == ["a.safetensors", "config.json"])
            #expect(try String(contentsOfFile: destination + "/config.json", encoding: .utf8) == "config.json")
            #expect(registry.count == 0)
        }
    }

    // MARK: - What killed writers left

    @Test func staleTemporaryFilesOfTheSameOutputAreRemovedLiveOnesKept() throws {
        try TestSupport.withTemporaryDirectory { folder in
            for name in [".avg.bin.swa-tmp-Ab12Cd", ".avg.bin.swa-spool-x1Y2z3", ".other.bin.swa-tmp-Ab12Cd",
                         ".avg.bin.swa-tmp-toolong7", ".avg.bin.swa-old-123", "avg.bin"] {
                try TestSupport.write([1, 2, 3], to: folder, name: name)
            }
            try FileManager.default.createDirectory(atPath: folder + "/.avg.bin.swa-tmp-Folder", withIntermediateDirectories: false)
            try TestSupport.write([1], to: folder + "/.avg.bin.swa-tmp-Folder", name: "model.safetensors")
            // One held by a live writer: open and locked.
            let live = try TestSupport.write([4], to: folder, name: ".avg.bin.swa-tmp-LiVe00")
            let descriptor = open(live, O_RDONLY)
            defer { close(descriptor) }
            #expect(lockExclusively(descriptor))

            let removed = TemporaryFileRegistry().removeStaleFiles(besides: folder + "/avg.bin")
            #expect(removed == [".avg.bin.swa-spool-x1Y2z3", ".avg.bin.swa-tmp-Ab12Cd", ".avg.bin.swa-tmp-Folder"])
            #expect(TestSupport.contents(of: folder) == [".avg.bin.swa-old-123", ".avg.bin.swa-tmp-LiVe00", ".avg.bin.swa-tmp-toolong7",
                                                         ".other.bin.swa-tmp-Ab12Cd", "avg.bin"])
        }
    }

    @Test func aNewOutputRemovesWhatAKilledWriterLeft() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try TestSupport.write([1, 2, 3], to: folder, name: ".out.csv.swa-tmp-K1lled")
            try AtomicOutputFile.writeText("new\n", to: folder + "/out.csv")
            #expect(TestSupport.contents(of: folder) == ["out.csv"])
        }
    }
}
