import SWAFormats
/// A checkpoint-format file (any `TensorArchive`: zstd-compressed or plain safetensors) read
/// as a data file: its tensors are the arrays, e.g. `x` and `y`.
///
/// An archive's data stream reads front to back only, so each stream opens the file anew and
/// decodes (and drops) the tensors stored before the one wanted. Memory stays bounded by a
/// chunk whatever the order.
public final class CheckpointArrays: ArrayContainer {
    /// The path as the user gave it.
    public let path: String
    /// Tensor names in storage order.
    public let keys: [String]
    /// The validated header: tensors in storage order, their dtypes, shapes and byte ranges.
    public var header: SafetensorsHeader { archive.header }

    private let archive: any TensorArchive

    /// Bytes read from the decompressed payload at a time.
    static let chunkByteCount = 1 << 16

    /// Opens `path` as a checkpoint (`TensorArchives.open`) and reads its header.
    /// - Throws: naming the file if it cannot be read or is not a checkpoint.
    public init(path: String) throws {
        self.path = path
        archive = try TensorArchives.open(path: path)
        keys = archive.header.tensors.map(\.name)
    }

    /// The tensor `key`'s dtype and shape, from the header alone.
    public func info(of key: String) throws -> ArrayInfo {
        guard let tensor = header.tensor(named: key) else { throw missingKeyError(key) }
        return ArrayInfo(key: key, dtype: tensor.dtype, shape: tensor.shape,
                         source: ArraySource(file: path, member: key, memberKind: "tensor"))
    }

    /// Streams the tensor `key`'s bytes in chunks of at most `chunkByteCount`.
    public func streamElements(of key: String, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        guard let tensor = header.tensor(named: key) else { throw missingKeyError(key) }
        let stream = try archive.openDataStream()
        try stream.skipData(to: tensor.dataOffsets.lowerBound)
        var chunk = [UInt8](repeating: 0, count: Self.chunkByteCount)
        try chunk.withUnsafeMutableBytes { buffer in
            while stream.dataBytesRead < tensor.dataOffsets.upperBound {
                let want = min(buffer.count, tensor.dataOffsets.upperBound - stream.dataBytesRead)
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[..<want])
                try stream.readData(into: piece)
                if try body(UnsafeRawBufferPointer(piece)) == .stop { return }
            }
        }
    }
}
