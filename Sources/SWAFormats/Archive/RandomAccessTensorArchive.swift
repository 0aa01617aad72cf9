/// A `TensorArchive` whose data section can also be read at any offset, not only front to back:
/// plain safetensors files and sharded safetensors whose shards are plain.
///
/// The averager reads inputs whose tensors lie in different orders this way, one chunk of one
/// tensor at a time, so memory stays bounded by the chunk (docs/CLI.md, swa-avg, "Memory").
public protocol RandomAccessTensorArchive: TensorArchive {
    /// Whether `readData(at:into:)` works: true for plain files, false for zstd streams, which
    /// decode in order only.
    var supportsRandomAccess: Bool { get }

    /// Fills `buffer` with the bytes of the virtual data section from data offset `offset` on.
    /// Bytes read this way are not seen by any `onRawBytes` observer, and are not checked beyond
    /// the file's length: stream the archive (`openDataStream`, `finish`) to verify it.
    /// - Throws: naming the file if it is shorter than its header says or cannot be read.
    func readData(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws
}
