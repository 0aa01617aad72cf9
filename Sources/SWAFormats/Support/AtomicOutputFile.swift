#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An output file that appears whole or not at all.
///
/// Bytes go to a `PendingFile` in the destination's folder (so the final link or rename stays
/// on one file system): on Linux an unnamed file (`O_TMPFILE`), which vanishes with the
/// process however it ends, even by SIGKILL; where the file system refuses that, a hidden
/// `.NAME.swa-tmp-XXXXXX` listed in a `TemporaryFileRegistry`, so a tool interrupted by
/// SIGINT, SIGTERM or SIGHUP removes it too, and the next output to the same destination
/// removes one a SIGKILL left. `commit()` syncs the file and gives it the destination's name;
/// any other ending (an error, `discard()`, release) leaves an existing destination untouched
/// (docs/RELIABILITY.md, "Fault injection").
public final class AtomicOutputFile {
    /// Where the file will appear.
    public let destination: String
    /// Whether an existing destination may be replaced.
    public let overwrite: Bool
    private let file: PendingFile
    private let registry: TemporaryFileRegistry
    private var finished = false

    /// Creates the pending file; fails at once if `destination` exists and `overwrite` is false.
    public convenience init(destination: String, overwrite: Bool) throws {
        try self.init(destination: destination, overwrite: overwrite, registry: .shared)
    }

    /// Creates the pending file (named and listed in `registry` unless `allowUnnamed`; tests
    /// pass their own registry), after removing what killed writers left for `destination`.
    init(destination: String, overwrite: Bool, registry: TemporaryFileRegistry, allowUnnamed: Bool = true) throws {
        self.destination = destination
        self.overwrite = overwrite
        self.registry = registry
        try Self.checkDestination(destination, overwrite: overwrite)
        registry.removeStaleFiles(besides: destination)
        file = try registry.createPendingFile(besides: destination, suffix: "swa-tmp", allowUnnamed: allowUnnamed)
    }

    deinit { discard() }

    /// Whether the bytes go to an unnamed file (`O_TMPFILE`) rather than a hidden named one.
    var isUnnamed: Bool { file.isUnnamed }

    /// Appends `bytes`. The corresponding C function is `write`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw SWAError(file: destination, "internal: write after the output was discarded or committed") }
        try writeAll(file.descriptor, bytes, path: destination)
    }

    /// Syncs the file and gives it the destination's name: `linkat` for an unnamed file
    /// (through a hidden name and `rename` when it replaces an existing file), `rename` for a
    /// named one, whose permissions are first set to what a new file gets (0666 less the
    /// umask; `mkstemp` makes it 0600). Then the folder is synced, so the name survives a crash.
    /// The corresponding C functions are `fchmod`, `fsync`, `linkat` and `rename`.
    public func commit() throws {
        guard !finished else { throw SWAError(file: destination, "internal: commit after the output was discarded or committed") }
        defer { discard() }
        if !file.isUnnamed, fchmod(file.descriptor, 0o666 & ~processUmask) != 0 {
            throw SWAError(file: destination, "cannot set the permissions of the output: \(errnoDescription(errno))")
        }
        guard fsync(file.descriptor) == 0 else { throw SWAError(file: destination, "cannot sync to disk: \(errnoDescription(errno))") }
        TestHooks.pauseBeforeCommit(of: destination)
        try Self.checkDestination(destination, overwrite: overwrite)
        let failure = registry.commit(file, to: destination, overwrite: overwrite)
        if failure == EEXIST, !overwrite {
            throw SWAError(file: destination, "already exists; pass --force to replace it")
        }
        guard failure == 0 else {
            throw SWAError(file: destination, "cannot put the finished output into place: \(errnoDescription(failure))")
        }
        finished = true
        close(file.descriptor)
        syncFolder(folder(of: destination))
    }

    /// Removes the pending file; the destination is left as it was.
    public func discard() {
        guard !finished else { return }
        finished = true
        registry.discard(file)
    }

    /// Throws, naming `destination`, if it is a folder, if it exists and `overwrite` is false,
    /// or if its folder does not exist: what creating and committing an output check, for
    /// callers that want to fail before long work.
    public static func checkDestination(_ destination: String, overwrite: Bool) throws {
        var status = stat()
        guard stat(destination, &status) == 0 else {
            try checkFolderExists(of: destination)
            return
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw SWAError(file: destination, "is a directory; give an output file name")
        }
        if !overwrite {
            throw SWAError(file: destination, "already exists; pass --force to replace it")
        }
    }
}

/// Throws, naming `destination`, when the folder it would go into does not exist.
func checkFolderExists(of destination: String) throws {
    let parent = folder(of: destination)
    var status = stat()
    guard stat(parent, &status) != 0, errno == ENOENT else { return }
    throw SWAError(file: destination, "the output folder '\(parent)' does not exist; create it first (mkdir -p \(parent))")
}

/// Writes all of `bytes` to `descriptor`, retrying short writes and interruptions.
func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if count < 0 {
            if errno == EINTR { continue }
            throw SWAError(file: path, "write failed: \(errnoDescription(errno))")
        }
        offset += count
    }
}

/// The folder part of `path` ("." for a bare file name).
func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// Creates a new hidden file `.NAME.SUFFIX-XXXXXX` in the folder of `destination`.
/// The corresponding C function is `mkstemp`.
func makeTemporaryFile(besides destination: String, suffix: String) throws -> (descriptor: Int32, path: String) {
    let base = destination.split(separator: "/").last.map(String.init) ?? destination
    var template = Array("\(folder(of: destination))/.\(base).\(suffix)-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
        let error = errno
        if error == ENOENT { try checkFolderExists(of: destination) }
        throw SWAError(file: destination, "cannot create a temporary file in '\(folder(of: destination))': \(errnoDescription(error))")
    }
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (fd, path)
}

/// Syncs a folder's entries to disk, so a new name in it survives a crash (best effort: some
/// file systems refuse `fsync` on a folder). The corresponding C function is `fsync`.
func syncFolder(_ path: String) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if descriptor >= 0 {
        fsync(descriptor)
        close(descriptor)
    }
}

/// The process's file-creation mask, read once from `/proc/self/status` (Linux 4.7 and later)
/// without changing it; 022 where it cannot be read. `umask(2)` itself would have to set the
/// mask to read it, which races with every thread creating files.
let processUmask: mode_t = {
    guard let status = fopen("/proc/self/status", "r") else { return 0o022 }
    defer { fclose(status) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), status) != nil {
        let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if text.hasPrefix("Umask:"), let mask = mode_t(String(text.dropFirst(6).filter { !$0.isWhitespace }), radix: 8) {
            return mask
        }
    }
    return 0o022
}()
