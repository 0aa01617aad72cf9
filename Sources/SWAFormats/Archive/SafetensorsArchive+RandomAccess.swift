// MARK: - Reading a plain file at any offset

extension SafetensorsArchive: RandomAccessTensorArchive {
    /// A plain file can be read anywhere; a zstd stream only in order.
    public var supportsRandomAccess: Bool { format == .safetensors }

    /// Reads the data section of a plain safetensors file at `offset` (file byte
    /// `8 + jsonByteCount + offset`).
    public func readData(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard supportsRandomAccess else {
            throw SWAError(file: path, "internal: a zstd stream cannot be read at an offset")
        }
        guard offset >= 0, offset + buffer.count <= header.dataByteCount else {
            throw SWAError(file: path, "internal: read of \(buffer.count) bytes at data offset \(offset) passes the tensor data")
        }
        try positionedFile().read(at: 8 + header.jsonByteCount + offset, into: buffer)
    }
}
