/// A safetensors checkpoint, plain or zstd-compressed: the archive whose virtual payload is
/// the file's real one (docs/FORMAT.md).
///
/// Its data streams are `CheckpointReader`s. Opening reads and validates the header with one;
/// the first `openDataStream()` without an observer hands that reader on (with the observer
/// given at opening, if any), so loading or averaging a checkpoint reads its header once.
public final class SafetensorsArchive: TensorArchive {
    /// The path as the user gave it.
    public let path: String
    /// `.zstd` or `.safetensors`.
    public let format: FileFormat
    /// The file's own header: tensors in payload order, their byte ranges, `__metadata__`.
    public let header: SafetensorsHeader
    /// Size of the file on disk, in bytes.
    public let fileByteCount: Int

    /// The reader that read the header, until a stream without observer takes it over.
    private var openingReader: CheckpointReader?
    /// The file opened for reads at an offset, on first use (`readData(at:into:)`).
    private var randomAccessFile: InputFile?

    /// Opens `path` and reads and validates its header.
    /// - Parameter onRawBytes: sees every byte read from disk from the first on, through the
    ///   first stream opened without an observer (hashing, progress).
    /// - Throws: if the file cannot be read or is not a valid safetensors payload, plain or
    ///   zstd-compressed; the error names the file (and the tensor at fault).
    public init(path: String, onRawBytes: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        let reader = try CheckpointReader(path: path, onRawBytes: onRawBytes)
        self.path = path
        format = reader.format
        header = reader.header
        fileByteCount = reader.fileByteCount
        openingReader = reader
    }

    /// A `CheckpointReader` positioned at the first byte of the data section.
    /// - Throws: if the file cannot be read, or its header no longer lists the same tensors.
    public func openDataStream(onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) throws -> any TensorDataStream {
        if onRawBytes == nil, let reader = openingReader {
            openingReader = nil
            return reader
        }
        openingReader = nil
        let reader = try CheckpointReader(path: path, onRawBytes: onRawBytes)
        guard reader.format == format, reader.header.tensors == header.tensors else {
            throw SWAError(file: path, "changed on disk while being read")
        }
        return reader
    }

    /// The tensor's bytes: read in place from a plain file, decoded up to the tensor from a
    /// zstd stream.
    public func readTensor(named name: String) throws -> [UInt8] {
        guard let info = header.tensor(named: name) else { throw missingTensorError(name) }
        guard format == .safetensors else {
            // A zstd stream decodes in order only: everything before the tensor is decoded too.
            let stream = try openDataStream()
            try stream.skipData(to: info.dataOffsets.lowerBound)
            return try stream.readTensorBytes(info)
        }
        // Plain: the tensor lies at a known place in the file (length field, JSON, data).
        let file = try InputFile(path: path)
        guard file.size == fileByteCount else { throw SWAError(file: path, "changed on disk while being read") }
        guard let bytes = try file.bytes(at: 8 + header.jsonByteCount + info.dataOffsets.lowerBound, count: info.byteCount) else {
            throw SWAError(file: path, "truncated: the file ends inside tensor '\(name)'")
        }
        return bytes
    }

    /// The file for reads at an offset, opened once and checked against the size at opening.
    func positionedFile() throws -> InputFile {
        if let randomAccessFile { return randomAccessFile }
        let file = try InputFile(path: path)
        guard file.size == fileByteCount else { throw SWAError(file: path, "changed on disk while being read") }
        randomAccessFile = file
        return file
    }
}
