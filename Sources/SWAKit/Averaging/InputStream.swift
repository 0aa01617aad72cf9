import SWAData
import SWAEngine
import SWAFormats
import Crypto
import Foundation
import Synchronization

/// Counts bytes read from disk across threads, for progress reports.
public final class ByteCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// A counter at 0.
    public init() {}
    /// Adds `bytes` (relaxed: only the running total matters).
    public func add(_ bytes: Int) { count.add(bytes, ordering: .relaxed) }
    /// Bytes counted so far.
    public var value: Int { count.load(ordering: .relaxed) }
}

/// One input being averaged: its archive's data stream, the SHA-256 of its bytes so far, and
/// the buffer its bytes arrive in.
///
/// Used by one thread at a time; the hasher sees the file's raw bytes as the stream pulls them.
final class AveragingInput: @unchecked Sendable {
    let entry: CheckpointEntry
    /// The next bytes taken from the stream, `readChunk(byteCount:)` of them at the start.
    let buffer: UnsafeMutableRawBufferPointer
    private let stream: any TensorDataStream
    /// The archive, for reads at an offset (`readChunk(at:byteCount:)`).
    let archive: any TensorArchive
    private let hash: HashState

    private final class HashState: @unchecked Sendable {
        var hasher = SHA256()
    }

    /// Opens `entry`'s archive and starts streaming its data section.
    /// - Parameter bufferByteCount: the most `readChunk` will be asked for at once.
    /// - Throws: if the file no longer holds the tensors discovery saw in it.
    init(entry: CheckpointEntry, bufferByteCount: Int, counter: ByteCounter) throws {
        self.entry = entry
        let hash = HashState()
        self.hash = hash
        let archive = try TensorArchives.open(path: entry.path, options: entry.options) { bytes in
            hash.hasher.update(bufferPointer: bytes)
            counter.add(bytes.count)
        }
        guard archive.format == entry.format, archive.header.tensors == entry.header.tensors else {
            throw SWAError(file: entry.path, "changed on disk while being read")
        }
        stream = try archive.openDataStream()
        self.archive = archive
        buffer = .allocate(byteCount: max(1, bufferByteCount), alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Fills the first `byteCount` bytes of `buffer` with the next bytes of the data section.
    func readChunk(byteCount: Int) throws {
        do {
            try stream.readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<byteCount]))
        } catch {
            throw namingTheFile(error)
        }
    }

    /// Fills the first `byteCount` bytes of `buffer` with the data section's bytes at data
    /// offset `offset`, read in place (`RandomAccessTensorArchive`); the hash does not see them.
    func readChunk(at offset: Int, byteCount: Int) throws {
        guard let archive = archive as? any RandomAccessTensorArchive, archive.supportsRandomAccess else {
            throw SWAError(file: entry.path, "internal: this checkpoint cannot be read at an offset")
        }
        try archive.readData(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<byteCount]))
    }

    /// Reads the rest of the file, verifies it ended where the header says, and returns its SHA-256 (hex).
    func finish() throws -> String {
        do {
            try stream.finish()
        } catch {
            throw namingTheFile(error)
        }
        return hash.hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private func namingTheFile(_ error: any Error) -> any Error {
        error is SWAError ? error : SWAError(file: entry.path, "\(error)")
    }
}
