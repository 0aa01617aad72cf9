import SWAData
import SWAEngine
import SWAFormats
import Crypto
import Synchronization

/// Counts bytes read from disk across threads, for progress reports.
public final class ByteCounter: Sendable {
    private let count = Atomic<Int>(0)
    public init() {}
    public func add(_ bytes: Int) { count.add(bytes, ordering: .relaxed) }
    public var value: Int { count.load(ordering: .relaxed) }
}

/// One input being averaged: its reader, the SHA-256 of its bytes so far, its chunk buffer.
///
/// Used by one thread at a time; the hasher sees the file's raw bytes as the reader pulls them.
final class AveragingInput: @unchecked Sendable {
    let entry: CheckpointEntry
    let reader: CheckpointReader
    let buffer: UnsafeMutableRawBufferPointer
    private let hash: HashState

    private final class HashState: @unchecked Sendable {
        var hasher = SHA256()
    }

    init(entry: CheckpointEntry, bufferByteCount: Int, counter: ByteCounter) throws {
        self.entry = entry
        let hash = HashState()
        self.hash = hash
        reader = try CheckpointReader(path: entry.path) { bytes in
            hash.hasher.update(bufferPointer: bytes)
            counter.add(bytes.count)
        }
        guard reader.header.tensors == entry.header.tensors else {
            throw SWAError(file: entry.path, "changed on disk while being read")
        }
        buffer = .allocate(byteCount: bufferByteCount, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Reads the rest of the file, verifies it ended where the header says, and returns its SHA-256 (hex).
    func finish() throws -> String {
        try reader.finish()
        return hash.hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

import Foundation
