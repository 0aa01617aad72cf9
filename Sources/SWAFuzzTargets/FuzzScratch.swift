import Foundation
import SWAData
import SWAFormats

/// The private folder where a fuzz target writes its input for the readers that take a path.
///
/// One file (or one sub-folder) is rewritten per input, so a run touches the disk but never
/// grows; the folder is removed by `remove()` (libFuzzer exits without unwinding, so the
/// executable removes it at exit).
public final class FuzzScratch: @unchecked Sendable {
    /// The folder, created by `init`.
    public let folder: String
    /// The name an in-memory input goes by in errors (a file that does not exist).
    public var name: String { folder + "/input" }

    /// This scratch's image decoder: one per thread, as an image folder keeps them (the harness
    /// has one thread; parallel tests each have their own scratch).
    let imageDecoder = ImageDecoder()

    /// Creates a fresh folder under `parent` (the temporary directory by default).
    public init(parent: String = NSTemporaryDirectory()) throws {
        let base = parent.hasSuffix("/") ? parent : parent + "/"
        folder = base + "swa-fuzz-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Writes `bytes` to the scratch file and returns its path.
    public func file(holding bytes: [UInt8]) throws -> String {
        try write(bytes, to: name)
        return name
    }

    /// Makes `folder/NAME` hold exactly `files` (name to contents) and returns its path.
    public func folder(named child: String, holding files: [String: [UInt8]]) throws -> String {
        let path = folder + "/" + child
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, bytes) in files { try write(bytes, to: path + "/" + name) }
        return path
    }

    /// Removes the folder and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw SWAError(file: path, "fuzz harness: cannot write the scratch file")
        }
    }
}
