#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file opened for sequential reading with `read(2)`, closed when released.
///
/// Every byte read can be passed to an observer (hashing, progress) on its way through.
public final class InputFile {
    /// The path as the user gave it; used in every error message.
    public let path: String
    /// The size in bytes when the file was opened.
    public let size: Int
    fileprivate let descriptor: Int32
    /// Sees every byte `read` returns, in order (hashing, progress).
    public var onRead: ((UnsafeRawBufferPointer) -> Void)?

    /// Opens `path` for reading. The corresponding C function is `open`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SWAError(file: path, "cannot open: \(errnoDescription(errno))") }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            close(fd)
            throw SWAError(file: path, "cannot stat: \(errnoDescription(code))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SWAError(file: path, "not a regular file")
        }
        descriptor = fd
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Reads up to `buffer.count` bytes; returns 0 only at the end of the file.
    /// The corresponding C function is `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 {
                onRead?(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[..<count]))
                return count
            }
            if errno == EINTR { continue }
            throw SWAError(file: path, "read failed: \(errnoDescription(errno))")
        }
    }

    /// Reads exactly `buffer.count` bytes, or fewer only at the end of the file.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }
}

extension InputFile {
    /// Reads `count` bytes at `offset` without moving the read position, or `nil` past the end.
    /// The corresponding C function is `pread`.
    public func bytes(at offset: Int, count: Int) throws -> [UInt8]? {
        guard offset >= 0, count >= 0, offset + count <= size else { return nil }
        var result = [UInt8](repeating: 0, count: count)
        let got = result.withUnsafeMutableBytes { buffer in pread(descriptor, buffer.baseAddress, count, off_t(offset)) }
        guard got == count else { throw SWAError(file: path, "read failed at byte \(offset): \(errnoDescription(errno))") }
        return result
    }
}

extension InputFile {
    /// Fills `buffer` with the bytes at `offset` without moving the read position; throws,
    /// naming the file, if it ends first. Bytes read this way are not passed to `onRead`.
    /// The corresponding C function is `pread`.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw SWAError(file: path, "read failed at byte \(offset + filled): \(errnoDescription(errno))") }
            guard got > 0 else { throw SWAError(file: path, "truncated: the file ends at byte \(offset + filled), \(buffer.count - filled) bytes short") }
            filled += got
        }
    }

    /// Fills `buffer` with the bytes at `offset` without moving the read position; false if
    /// the file ends first (the caller says what that means). The corresponding C function is `pread`.
    public func readAvailable(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        var filled = 0
        while filled < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if got > 0 { filled += got; continue }
            if got == 0 { return false }
            if errno == EINTR { continue }
            throw SWAError(file: path, "read failed at byte \(offset + filled): \(errnoDescription(errno))")
        }
        return true
    }
}
