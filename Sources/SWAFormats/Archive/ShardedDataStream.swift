/// The data section of a `ShardedSafetensorsArchive`: each shard's data section in turn, read
/// by a `CheckpointReader` opened when the previous shard is done and finished (verified to
/// its last byte) before the next opens. One shard file is open at a time.
final class ShardedDataStream: TensorDataStream {
    /// The archive's path (the folder or the index); shard errors name the shard.
    var path: String { archive.path }
    private(set) var dataBytesRead = 0

    private let archive: ShardedSafetensorsArchive
    private let onRawBytes: ((UnsafeRawBufferPointer) -> Void)?
    /// The shard being read and its index; `nil` before the first and after the last.
    private var current: (index: Int, reader: CheckpointReader)?
    /// Shards already finished.
    private var finishedShards = 0
    private var framesDecoded = 0

    init(archive: ShardedSafetensorsArchive, onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) {
        self.archive = archive
        self.onRawBytes = onRawBytes
    }

    func readData(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard dataBytesRead + buffer.count <= archive.header.dataByteCount else {
            throw SWAError(file: path, "internal: read past the tensor data")
        }
        var done = 0
        while done < buffer.count {
            let reader = try readerWithData()
            let left = reader.header.dataByteCount - reader.dataBytesRead
            let take = min(left, buffer.count - done)
            try reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + take]))
            done += take
            dataBytesRead += take
        }
    }

    /// Reads every remaining shard to its end, verifying each.
    /// - Returns: zstd frames decoded over all shards (0 for plain shards).
    @discardableResult
    func finish() throws -> Int {
        while finishedShards < archive.shards.count {
            let reader = try currentReader()
            dataBytesRead += reader.header.dataByteCount - reader.dataBytesRead
            try finishCurrent()
        }
        return framesDecoded
    }

    /// The reader of the first shard with data left, finishing exhausted shards on the way.
    private func readerWithData() throws -> CheckpointReader {
        while true {
            let reader = try currentReader()
            if reader.dataBytesRead < reader.header.dataByteCount { return reader }
            try finishCurrent()
        }
    }

    /// The reader of shard `finishedShards`, opened (and checked against the archive) if needed.
    private func currentReader() throws -> CheckpointReader {
        if let current, current.index == finishedShards { return current.reader }
        guard finishedShards < archive.shards.count else { throw SWAError(file: path, "internal: read past the last shard") }
        let shard = archive.shards[finishedShards]
        let reader = try CheckpointReader(path: shard.path, onRawBytes: onRawBytes)
        guard reader.format == shard.format, reader.header.tensors == shard.header.tensors else {
            throw SWAError(file: shard.path, "changed on disk while being read")
        }
        current = (finishedShards, reader)
        return reader
    }

    private func finishCurrent() throws {
        let reader = try currentReader()
        framesDecoded += try reader.finish()
        current = nil
        finishedShards += 1
    }
}
