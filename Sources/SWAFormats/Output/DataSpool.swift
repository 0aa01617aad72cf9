#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tensor data waiting in an unlinked temporary file until the header that precedes it is
/// known (its metadata, e.g. the sources' hashes, depends on the whole pass). The file vanishes
/// with the process however it ends; memory stays at one copy buffer.
final class DataSpool {
    private let descriptor: Int32
    private let destination: String
    /// Bytes written so far.
    private(set) var byteCount = 0
    /// Bytes handed back by `copy` so far.
    private var copied = 0

    /// An empty spool beside `destination` (same file system as the output).
    init(besides destination: String) throws {
        self.destination = destination
        descriptor = try TemporaryFileRegistry.shared.createUnlinkedFile(besides: destination, suffix: "swa-spool")
    }

    deinit { close(descriptor) }

    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(descriptor, bytes, path: destination)
        byteCount += bytes.count
    }

    /// Hands the next `count` spooled bytes, in order, to `sink` in pieces of at most 1 MiB.
    /// The corresponding C function is `pread`.
    func copy(_ count: Int, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { chunk.deallocate() }
        var left = count
        while left > 0 {
            let want = min(left, chunk.count)
            let got = pread(descriptor, chunk.baseAddress, want, off_t(copied))
            if got < 0, errno == EINTR { continue }
            guard got > 0 else {
                throw SWAError(file: destination, "cannot read the spool file: \(got < 0 ? errnoDescription(errno) : "it ends early")")
            }
            try sink(UnsafeRawBufferPointer(rebasing: chunk[..<got]))
            copied += got
            left -= got
        }
    }
}
