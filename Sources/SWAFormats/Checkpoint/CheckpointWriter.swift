#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a checkpoint in the toolkit's format: a safetensors payload as independent zstd
/// frames of at most 4 MiB of payload each, every frame with its content checksum, then a
/// seek table (docs/FORMAT.md, "Writing: what swa produces"). `zstd -d` of the result is a valid `.safetensors` file.
///
/// Tensor data is written first, in the layout given at creation; the header, whose
/// metadata may depend on the whole pass (source hashes), is given at `finish`. Data frames
/// wait in an unlinked spool file meanwhile, so memory stays at two frames: full frames are
/// compressed on a thread of their own (`FrameSpooler`) while the caller fills the next one.
/// The file appears atomically at `finish`; until then, and on any failure, the destination is
/// untouched.
public final class CheckpointWriter {
    /// Largest payload of one frame.
    public static let defaultFrameByteCount = 4 << 20

    /// Tensors in payload order, offsets assigned back to back.
    public let tensors: [TensorSpec]
    private let output: AtomicOutputFile
    private let encoder: ZstdFrameEncoder
    private let frameByteCount: Int
    private let spool: Int32
    private let spooler: FrameSpooler
    private var pending: UnsafeMutableRawBufferPointer
    private var pendingCount = 0
    private var dataBytesWritten = 0
    private let dataByteCount: Int

    /// Prepares to write `tensors` to `destination`.
    /// - Parameters:
    ///   - overwrite: replace an existing file (`--force`); otherwise an existing file is an error now.
    ///   - compressionLevel: zstd level; 3 is libzstd's default balance.
    public init(destination: String, tensors: [TensorSpec], overwrite: Bool,
                compressionLevel: Int32 = 3, frameByteCount: Int = CheckpointWriter.defaultFrameByteCount) throws {
        self.tensors = tensors
        self.frameByteCount = frameByteCount
        dataByteCount = tensors.reduce(0) { $0 + $1.byteCount }
        output = try AtomicOutputFile(destination: destination, overwrite: overwrite)
        encoder = try ZstdFrameEncoder(level: compressionLevel)
        // Unlinked at once: the spool vanishes with the process, however it ends.
        spool = try TemporaryFileRegistry.shared.createUnlinkedFile(besides: destination, suffix: "swa-spool")
        pending = .allocate(byteCount: frameByteCount, alignment: 64)
        spooler = FrameSpooler(encoder: encoder, spool: spool, path: destination, frameByteCount: frameByteCount)
    }

    deinit {
        // The frame in flight, if any, is finished before its spool is closed.
        try? spooler.wait()
        close(spool)
        pending.deallocate()
    }

    /// Appends the next bytes of the data section (tensors in order, little-endian).
    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard dataBytesWritten + bytes.count <= dataByteCount else {
            throw SWAError(file: output.destination, "internal: more tensor data than the layout holds")
        }
        var offset = 0
        while offset < bytes.count {
            let take = min(bytes.count - offset, frameByteCount - pendingCount)
            UnsafeMutableRawBufferPointer(rebasing: pending[pendingCount..<pendingCount + take])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take]))
            pendingCount += take
            offset += take
            if pendingCount == frameByteCount { try flushPending() }
        }
        dataBytesWritten += bytes.count
    }

    /// Hands the pending frame to the spooler (compressed on its thread) and takes a free buffer.
    private func flushPending() throws {
        guard pendingCount > 0 else { return }
        try spooler.submit(&pending, count: pendingCount)
        pendingCount = 0
    }

    /// Writes the header with `metadata`, the spooled data frames and the seek table, then
    /// moves the finished file into place.
    /// - Returns: the size of the file written, in bytes, and its frame count.
    @discardableResult
    public func finish(metadata: [String: String]) throws -> (fileByteCount: Int, frameCount: Int) {
        guard dataBytesWritten == dataByteCount else {
            throw SWAError(file: output.destination, "internal: \(dataBytesWritten) of \(dataByteCount) bytes of tensor data written")
        }
        try flushPending()
        try spooler.wait()
        let spooledFrames = spooler.frames
        var table = SeekTable()
        var fileByteCount = 0
        let prefix = SafetensorsHeader(laying: tensors, metadata: metadata).encodedPrefix()
        try prefix.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + frameByteCount)])
                try encoder.compressFrame(piece) { frame in
                    try output.write(frame)
                    table.entries.append(.init(compressedByteCount: frame.count, decompressedByteCount: piece.count))
                    fileByteCount += frame.count
                }
                offset += piece.count
            }
        }
        try copySpool(into: output)
        table.entries += spooledFrames.entries
        fileByteCount += spooledFrames.entries.reduce(0) { $0 + $1.compressedByteCount }
        let seekTable = table.encoded()
        try seekTable.withUnsafeBytes { try output.write($0) }
        try output.commit()
        return (fileByteCount + seekTable.count, table.entries.count + 1)
    }

    /// Abandons the file: nothing appears at the destination.
    public func discard() {
        try? spooler.wait()
        output.discard()
    }

    private func copySpool(into output: AtomicOutputFile) throws {
        guard lseek(spool, 0, SEEK_SET) == 0 else { throw SWAError(file: output.destination, "cannot rewind the spool file") }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { chunk.deallocate() }
        while true {
            let count = read(spool, chunk.baseAddress, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw SWAError(file: output.destination, "cannot read the spool file: \(errnoDescription(errno))") }
            if count == 0 { return }
            try output.write(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }
}

// MARK: - Whole tensors in memory

extension CheckpointWriter {
    /// Writes `tensors` (each with its raw little-endian bytes) and `metadata` to `destination` in one go.
    public static func write(_ tensors: [(spec: TensorSpec, bytes: [UInt8])], metadata: [String: String],
                             to destination: String, overwrite: Bool) throws {
        for (spec, bytes) in tensors where spec.byteCount != bytes.count {
            throw SWAError(file: destination, "tensor '\(spec.name)': \(bytes.count) bytes given, \(spec.dtype.name) \(spec.shape) needs \(spec.byteCount)")
        }
        let writer = try CheckpointWriter(destination: destination, tensors: tensors.map(\.spec), overwrite: overwrite)
        for (_, bytes) in tensors {
            try bytes.withUnsafeBytes { try writer.writeData($0) }
        }
        try writer.finish(metadata: metadata)
    }
}
