import SWAFormats
/// A checkpoint-format file (zstd-compressed or plain safetensors) read as a data file:
/// its tensors are the arrays, e.g. `x` and `y`.
///
/// `CheckpointReader` reads front to back only, so each stream opens the file anew and
/// decodes (and drops) the tensors stored before the one wanted. Memory stays bounded by a
/// chunk whatever the order.
public final class CheckpointArrays: ArrayContainer {
    /// The path as the user gave it.
    public let path: String
    /// Tensor names in payload order.
    public let keys: [String]
    /// The validated safetensors header.
    public let header: SafetensorsHeader

    /// Bytes read from the decompressed payload at a time.
    static let chunkByteCount = 1 << 16

    /// Opens `path` and reads its header.
    public init(path: String) throws {
        self.path = path
        header = try CheckpointReader(path: path).header
        keys = header.tensors.map(\.name)
    }

    public func info(of key: String) throws -> ArrayInfo {
        guard let tensor = header.tensor(named: key) else { throw missingKeyError(key) }
        return ArrayInfo(key: key, dtype: tensor.dtype, shape: tensor.shape,
                         source: ArraySource(file: path, member: key, memberKind: "tensor"))
    }

    public func streamElements(of key: String, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        guard let tensor = header.tensor(named: key) else { throw missingKeyError(key) }
        let reader = try CheckpointReader(path: path)
        var chunk = [UInt8](repeating: 0, count: Self.chunkByteCount)
        try chunk.withUnsafeMutableBytes { buffer in
            // Skip what lies before the tensor: the stream can only be decoded in order.
            while reader.dataBytesRead < tensor.dataOffsets.lowerBound {
                let want = min(buffer.count, tensor.dataOffsets.lowerBound - reader.dataBytesRead)
                try reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            }
            while reader.dataBytesRead < tensor.dataOffsets.upperBound {
                let want = min(buffer.count, tensor.dataOffsets.upperBound - reader.dataBytesRead)
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[..<want])
                try reader.readData(into: piece)
                if try body(UnsafeRawBufferPointer(piece)) == .stop { return }
            }
        }
    }
}
