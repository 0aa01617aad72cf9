/// Reads regions of a `torch.save` file by offset while showing an observer every byte of the
/// file exactly once, in file order (so the averager's SHA-256 is the file's).
///
/// A region past what the observer has seen is read in one pass from the observer's cursor
/// (the gap is read and passed on too); a region before the cursor (a storage shared by an
/// earlier tensor) is read again without being shown twice. `finish` shows the rest.
final class StorageReader {
    let file: InputFile
    private let onRawBytes: ((UnsafeRawBufferPointer) -> Void)?
    /// Bytes of the file shown to the observer so far.
    private var observed = 0

    init(file: InputFile, onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) {
        self.file = file
        self.onRawBytes = onRawBytes
    }

    /// Fills `buffer` with the file's bytes from `offset`.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        if onRawBytes != nil, offset > observed { try observe(upTo: offset) }
        guard try file.readAvailable(at: offset, into: buffer) else {
            throw SWAError(file: file.path, "truncated: the file ends inside the bytes at \(offset)..<\(offset + buffer.count)")
        }
        if let onRawBytes, offset + buffer.count > observed {
            onRawBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[(observed - offset)...]))
            observed = offset + buffer.count
        }
    }

    /// Shows the observer the file's bytes from its cursor up to `end`.
    func observe(upTo end: Int) throws {
        guard let onRawBytes, end > observed else { return }
        var scratch = [UInt8](repeating: 0, count: min(1 << 20, end - observed))
        try scratch.withUnsafeMutableBytes { buffer in
            while observed < end {
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(buffer.count, end - observed)])
                guard try file.readAvailable(at: observed, into: piece) else { throw SWAError(file: file.path, "changed on disk while being read") }
                onRawBytes(UnsafeRawBufferPointer(piece))
                observed += piece.count
            }
        }
    }
}

/// The data section of a `PyTorchArchive`'s virtual payload, tensor after tensor.
///
/// A contiguous tensor is read from the file straight into the caller's buffer; a view is
/// gathered whole into a buffer of its size first (one tensor at a time).
final class PyTorchDataStream: TensorDataStream {
    let path: String
    private(set) var dataBytesRead = 0
    private let tensors: [TensorInfo]
    private let placements: [TensorPlacement]
    private let reader: StorageReader
    private var current = 0
    /// The gathered bytes of the current tensor when it is a view.
    private var gathered: [UInt8]?

    init(file: InputFile, tensors: [TensorInfo], placements: [TensorPlacement], onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) {
        path = file.path
        self.tensors = tensors
        self.placements = placements
        reader = StorageReader(file: file, onRawBytes: onRawBytes)
    }

    func readData(into buffer: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < buffer.count {
            while current < tensors.count, dataBytesRead >= tensors[current].dataOffsets.upperBound {
                current += 1
                gathered = nil
            }
            guard current < tensors.count else {
                throw SWAError(file: path, "internal: read past the end of the data (\(dataBytesRead) bytes)")
            }
            let info = tensors[current]
            let placement = placements[current]
            let within = dataBytesRead - info.dataOffsets.lowerBound
            let count = min(buffer.count - filled, info.byteCount - within)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + count)])
            if placement.isContiguous, !placement.byteSwap {
                try reader.read(at: placement.firstElementOffset + within, into: target)
            } else {
                if gathered == nil { gathered = try placement.materialise(reader) }
                gathered!.withUnsafeBytes { source in
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[within..<(within + count)]))
                }
            }
            filled += count
            dataBytesRead += count
        }
    }

    @discardableResult
    func finish() throws -> Int {
        let total = tensors.last?.dataOffsets.upperBound ?? 0
        if dataBytesRead < total { try skipData(to: total) }
        try reader.observe(upTo: reader.file.size)
        return 0
    }
}
