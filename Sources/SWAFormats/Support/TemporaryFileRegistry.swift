import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The temporary files of unfinished `AtomicOutputFile`s, so that whoever ends the process
/// early can remove them (docs/FORMAT.md: after Ctrl-C no temporary file is left behind).
///
/// The library only keeps the list: it installs no signal handler and never decides how the
/// process ends. That is the program's business; the command-line tools wait for SIGINT,
/// SIGTERM and SIGHUP on a thread of their own and call `removeAll(then:)` from there
/// (`SignalCleanup` in SWACommandLine). Because the cleanup runs on an ordinary thread and not
/// in a signal handler, the list can be an ordinary `Set` behind a lock, with no size limit.
///
/// Creating, renaming into place and removing a registered file each happen under the same
/// lock as `removeAll`, so a cleanup never meets a file half-made: a file exists on disk
/// exactly while it is in the list.
public final class TemporaryFileRegistry: Sendable {
    /// The registry every `AtomicOutputFile` uses unless told otherwise.
    public static let shared = TemporaryFileRegistry()

    private let paths = Mutex<Set<String>>([])

    /// An empty registry (tests use their own, so their cleanup touches no one else's files).
    init() {}

    /// Removes every registered file from disk and forgets it. Files are not closed: a writer
    /// still holding one gets an error when it commits (its `rename` finds nothing).
    /// - Returns: how many files were registered.
    /// The corresponding C function is `unlink`.
    @discardableResult
    public func removeAll() -> Int {
        removeAll { $0 }
    }

    /// Removes every registered file, then runs `body` with their count while still holding
    /// the registry, so no temporary file can be created or renamed into place before `body`
    /// returns. An interrupted tool passes a `body` that ends the process (`_exit`): writers
    /// on other threads then block at their next registry call until the process is gone, so
    /// none can finish a file or report a failure after the cleanup.
    /// The corresponding C function is `unlink`.
    public func removeAll<Result>(then body: (Int) -> Result) -> Result {
        paths.withLock { paths in
            for path in paths { removeFileOrFolder(path) }
            let count = paths.count
            paths.removeAll()
            return body(count)
        }
    }

    /// How many files are registered now.
    public var count: Int { paths.withLock { $0.count } }

    // MARK: - For AtomicOutputFile

    /// Creates a hidden temporary file beside `destination` (`makeTemporaryFile`) and registers it.
    func createFile(besides destination: String, suffix: String) throws -> (descriptor: Int32, path: String) {
        try paths.withLock { paths in
            let file = try makeTemporaryFile(besides: destination, suffix: suffix)
            paths.insert(file.path)
            return file
        }
    }

    /// Creates a hidden temporary file beside `destination` and unlinks it at once, returning
    /// its descriptor: scratch space that vanishes with the process however it ends. Both steps
    /// happen under the lock, so a cleanup cannot run between them and leave the file behind.
    /// The corresponding C functions are `mkstemp` and `unlink`.
    func createUnlinkedFile(besides destination: String, suffix: String) throws -> Int32 {
        try paths.withLock { _ in
            let file = try makeTemporaryFile(besides: destination, suffix: suffix)
            unlink(file.path)
            return file.descriptor
        }
    }

    /// Renames the registered file `path` to `destination` and forgets it.
    /// - Returns: 0, or the `errno` of a failed `rename` (the file then stays registered).
    /// The corresponding C function is `rename`.
    func rename(_ path: String, to destination: String) -> Int32 {
        paths.withLock { paths in
            guard Glibc.rename(path, destination) == 0 else { return errno }
            paths.remove(path)
            return 0
        }
    }

    /// Removes the registered file `path` from disk, if it is still there, and forgets it.
    /// The corresponding C function is `unlink`.
    func remove(_ path: String) {
        paths.withLock { paths in
            if paths.remove(path) != nil { removeFileOrFolder(path) }
        }
    }

    // MARK: - For folder outputs (HuggingFaceFolderWriter)

    /// Creates a hidden temporary folder `.NAME.SUFFIX-XXXXXX` beside `destination` and
    /// registers it; a cleanup removes it with the files in it (one level deep).
    /// The corresponding C function is `mkdtemp`.
    func createFolder(besides destination: String, suffix: String) throws -> String {
        try paths.withLock { paths in
            let base = destination.split(separator: "/").last.map(String.init) ?? destination
            var template = Array("\(folder(of: destination))/.\(base).\(suffix)-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw SWAError(file: destination, "cannot create a temporary folder in '\(folder(of: destination))': \(errnoDescription(errno))")
            }
            let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            paths.insert(path)
            return path
        }
    }

    /// Puts the registered folder `path` in the place of `destination` and forgets it: one
    /// `rename` when nothing (or an empty folder) is there; else the old output is first renamed
    /// aside to a hidden `.NAME.swa-old-PID` beside it, the new one renamed into place, and the
    /// old one removed. Both renames happen under the registry's lock, so a signal's cleanup
    /// never runs between them; if the second fails, the old output is put back.
    /// - Returns: 0, or the `errno` of the failed `rename` (the folder then stays registered).
    /// The corresponding C function is `rename`.
    func replace(_ destination: String, withFolder path: String) -> Int32 {
        paths.withLock { paths in
            if Glibc.rename(path, destination) == 0 {
                paths.remove(path)
                return 0
            }
            guard errno == EEXIST || errno == ENOTEMPTY || errno == EISDIR || errno == ENOTDIR else { return errno }
            let base = destination.split(separator: "/").last.map(String.init) ?? destination
            let aside = "\(folder(of: destination))/.\(base).swa-old-\(getpid())"
            guard Glibc.rename(destination, aside) == 0 else { return errno }
            guard Glibc.rename(path, destination) == 0 else {
                let failure = errno
                Glibc.rename(aside, destination)
                return failure
            }
            paths.remove(path)
            removeFileOrFolder(aside)
            return 0
        }
    }
}

/// Removes a file, or a folder with the files in it (one level deep, as our temporary folders are).
/// The corresponding C functions are `unlink`, `opendir`, `readdir` and `rmdir`.
func removeFileOrFolder(_ path: String) {
    if unlink(path) == 0 || (errno != EISDIR && errno != EPERM) { return }
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            if unlink(child) != 0 { removeFileOrFolder(child) }
        }
        closedir(directory)
    }
    rmdir(path)
}
