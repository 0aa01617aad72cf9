/// Writes one plain `.safetensors` file (`-o NAME.safetensors`), which `safetensors.safe_open`
/// and `transformers` read as they are.
///
/// Tensor data waits in an unlinked spool until `finish` knows the metadata; the file then
/// appears atomically (`AtomicOutputFile`). `__metadata__` carries the `swa.*` keys and
/// `"format": "pt"`.
public final class SafetensorsFileWriter: CheckpointOutput {
    public let tensors: [TensorSpec]
    private let output: AtomicOutputFile
    private let spool: DataSpool
    private let dataByteCount: Int

    /// Prepares to write `tensors` to `destination`; an existing file is an error unless `overwrite`.
    public init(destination: String, tensors: [TensorSpec], overwrite: Bool) throws {
        self.tensors = tensors
        dataByteCount = tensors.reduce(0) { $0 + $1.byteCount }
        output = try AtomicOutputFile(destination: destination, overwrite: overwrite)
        spool = try DataSpool(besides: destination)
    }

    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard spool.byteCount + bytes.count <= dataByteCount else {
            throw SWAError(file: output.destination, "internal: more tensor data than the layout holds")
        }
        try spool.write(bytes)
    }

    @discardableResult
    public func finish(metadata: [String: String]) throws -> (fileByteCount: Int, frameCount: Int) {
        guard spool.byteCount == dataByteCount else {
            throw SWAError(file: output.destination, "internal: \(spool.byteCount) of \(dataByteCount) bytes of tensor data written")
        }
        let prefix = SafetensorsHeader(laying: tensors, metadata: metadataForPyTorch(metadata)).encodedPrefix()
        try prefix.withUnsafeBytes { try output.write($0) }
        try spool.copy(dataByteCount) { try output.write($0) }
        try output.commit()
        return (prefix.count + dataByteCount, 0)
    }

    public func discard() { output.discard() }
}
