/// A checkpoint file of any supported format, seen as a safetensors payload.
///
/// Every format presents its tensors as the data section of a *virtual* safetensors payload
/// (docs/FORMAT.md, "Reading: what is accepted"): a header listing each tensor's name, dtype,
/// shape and contiguous byte range, in the order the file stores them, and a data section
/// read front to back. Averaging, loading and inspection work on that view only, so they do
/// not care which format a checkpoint came in. For safetensors files, plain or zstd-compressed,
/// the virtual payload is the real one (`SafetensorsArchive`).
///
/// Open one with `TensorArchives.open(path:)`, which picks the conformer by content.
public protocol TensorArchive: AnyObject {
    /// The path as the user gave it; every error names it.
    var path: String { get }
    /// The format told by the file's first bytes: `.zstd` or `.safetensors` today.
    var format: FileFormat { get }
    /// The tensors in storage order, their byte ranges in the virtual payload's data section
    /// (contiguous from 0, little-endian elements), and the `__metadata__` map.
    var header: SafetensorsHeader { get }
    /// Size of the file on disk, in bytes.
    var fileByteCount: Int { get }

    /// Starts reading the data section from its first byte.
    ///
    /// Each call returns an independent stream; memory is bounded by the format's read chunk,
    /// whatever the file's size.
    /// - Parameter onRawBytes: sees every byte the stream reads from disk, in order, from the
    ///   file's first byte on (hashing and progress). Pass `nil` when nobody watches.
    /// - Throws: if the file cannot be read, or no longer holds the tensors in `header`.
    func openDataStream(onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) throws -> any TensorDataStream

    /// The raw little-endian bytes of the tensor `name`, `header.tensor(named:)!.byteCount` of them.
    ///
    /// Reads only as much of the file as the format needs to reach the tensor; what follows it
    /// is not verified (stream the whole file with `openDataStream` for that).
    /// - Throws: naming the file and the tensor if there is no such tensor or its bytes are damaged.
    func readTensor(named name: String) throws -> [UInt8]
}

extension TensorArchive {
    /// Starts reading the data section with nobody watching the raw bytes.
    public func openDataStream() throws -> any TensorDataStream {
        try openDataStream(onRawBytes: nil)
    }

    /// The error for a tensor name the header does not hold.
    func missingTensorError(_ name: String) -> SWAError {
        SWAError(file: path, "no tensor '\(name)' (the checkpoint holds \(header.tensors.count) tensors)")
    }
}

/// The data section of a `TensorArchive`'s virtual safetensors payload, read front to back.
///
/// Byte `k` of the stream is byte `k` of the data section: tensor `t` occupies
/// `t.dataOffsets` of its archive's `header`. Used by one thread at a time.
public protocol TensorDataStream: AnyObject {
    /// The path of the file being read; every error names it.
    var path: String { get }
    /// Bytes of the data section handed out so far: the data offset of the next byte.
    var dataBytesRead: Int { get }

    /// Fills `buffer` with the next `buffer.count` bytes of the data section.
    /// - Throws: if the data ends first ("truncated", naming the tensor it ends in), if the
    ///   file is damaged, or if the read would pass the end the header gives.
    func readData(into buffer: UnsafeMutableRawBufferPointer) throws

    /// Reads whatever remains and checks that the data section ended exactly where the header
    /// says: nothing missing, nothing extra, every container checksum verified.
    /// - Returns: the number of container frames decoded (zstd frames, skippable ones
    ///   included); 0 for a format without frames, such as plain safetensors.
    @discardableResult
    func finish() throws -> Int
}

extension TensorDataStream {
    /// Reads and drops the data up to data offset `offset` (the start of a later tensor); a
    /// stream can only be decoded in order.
    public func skipData(to offset: Int) throws {
        guard offset >= dataBytesRead else {
            throw SWAError(file: path, "internal: cannot skip back to data offset \(offset) from \(dataBytesRead)")
        }
        var scratch = [UInt8](repeating: 0, count: min(1 << 16, offset - dataBytesRead))
        try scratch.withUnsafeMutableBytes { buffer in
            while dataBytesRead < offset {
                let want = min(buffer.count, offset - dataBytesRead)
                try readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
            }
        }
    }

    /// Reads the whole tensor `info`, which must be the next one in storage order, into a new
    /// array of `info.byteCount` bytes.
    public func readTensorBytes(_ info: TensorInfo) throws -> [UInt8] {
        guard info.dataOffsets.lowerBound == dataBytesRead else {
            throw SWAError(file: path, "internal: tensor '\(info.name)' is not next in payload order")
        }
        var bytes = [UInt8](repeating: 0, count: info.byteCount)
        try bytes.withUnsafeMutableBytes { buffer in try readData(into: buffer) }
        return bytes
    }
}
