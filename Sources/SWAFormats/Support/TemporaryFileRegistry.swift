import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The temporary files of unfinished `AtomicOutputFile`s, so that whoever ends the process
/// early can remove them (docs/FORMAT.md: after Ctrl-C no temporary file is left behind).
///
/// On Linux most outputs are written through unnamed files (`O_TMPFILE`, `PendingFile`), which
/// need no removal and are not listed; the list holds the named fallbacks (file systems without
/// `O_TMPFILE`) and the hidden folder a Hugging Face output is gathered in during its commit.
/// Giving an output its name (`commit`, `commitFolder`) still happens under the lock, so after
/// a signal's cleanup no output can appear. What a SIGKILL leaves of the fallbacks, the next
/// writer to the same destination removes (`removeStaleFiles`).
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

    /// Creates the file an output to `destination` is written into: unnamed (`O_TMPFILE`) where
    /// the file system allows it and `allowUnnamed`, else a hidden `.NAME.SUFFIX-XXXXXX` beside
    /// `destination` (`makeTemporaryFile`), registered here. Either way it is locked (`flock`),
    /// which marks it live for `removeStaleFiles`.
    func createPendingFile(besides destination: String, suffix: String, allowUnnamed: Bool = true) throws -> PendingFile {
        if allowUnnamed, let descriptor = try openUnnamedFile(in: folder(of: destination), for: destination, readable: false) {
            lockExclusively(descriptor)
            return PendingFile(descriptor: descriptor, temporaryPath: nil)
        }
        return try paths.withLock { paths in
            let file = try makeTemporaryFile(besides: destination, suffix: suffix)
            lockExclusively(file.descriptor)
            paths.insert(file.path)
            return PendingFile(descriptor: file.descriptor, temporaryPath: file.path)
        }
    }

    /// Creates a file beside `destination` that has no name by the time this returns, open for
    /// reading and writing: scratch space that vanishes with the process however it ends. An
    /// unnamed file (`O_TMPFILE`) where the file system allows it; else a hidden file made and
    /// unlinked at once, both under the lock, so a cleanup cannot run between them.
    /// The corresponding C functions are `open`, `mkstemp` and `unlink`.
    func createUnlinkedFile(besides destination: String, suffix: String) throws -> Int32 {
        if let descriptor = try openUnnamedFile(in: folder(of: destination), for: destination, readable: true) {
            return descriptor
        }
        return try paths.withLock { _ in
            let file = try makeTemporaryFile(besides: destination, suffix: suffix)
            unlink(file.path)
            return file.descriptor
        }
    }

    /// Puts the finished `file` in place at `destination` and forgets it.
    ///
    /// An unnamed file is linked to `destination` (`linkat`, which never replaces anything). If
    /// `destination` exists and `overwrite`, the file is linked to a hidden
    /// `.NAME.swa-tmp-XXXXXX` and renamed over it: between those two calls, and only there, a
    /// SIGKILL leaves that hidden name behind. A named file is renamed into place.
    /// - Returns: 0, or the `errno` of the failed call (`EEXIST`: `destination` exists and not
    ///   `overwrite`); a named file then stays registered.
    /// The corresponding C functions are `linkat` and `rename`.
    func commit(_ file: PendingFile, to destination: String, overwrite: Bool) -> Int32 {
        paths.withLock { paths in
            if let path = file.temporaryPath {
                guard Glibc.rename(path, destination) == 0 else { return errno }
                paths.remove(path)
                return 0
            }
            let linked = linkUnnamedFile(file.descriptor, to: destination)
            guard linked == EEXIST, overwrite else { return linked }
            while true {
                let hidden = hiddenName(besides: destination, suffix: "swa-tmp")
                let result = linkUnnamedFile(file.descriptor, to: hidden)
                if result == EEXIST { continue }
                guard result == 0 else { return result }
                guard Glibc.rename(hidden, destination) == 0 else {
                    let failure = errno
                    unlink(hidden)
                    return failure
                }
                return 0
            }
        }
    }

    /// Closes `file` and removes its hidden name, if it has one; an unnamed file simply vanishes.
    func discard(_ file: PendingFile) {
        close(file.descriptor)
        if let path = file.temporaryPath { remove(path) }
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

    /// Gathers the finished `files` into a new folder and puts it in place of `destination`.
    ///
    /// The folder is made hidden (`.NAME.SUFFIX-XXXXXX`, `mkdtemp`) beside `destination`,
    /// registered and locked (`flock`); the files are linked (unnamed ones) or renamed (named
    /// ones) into it under `names`, it is synced, then renamed into place: one `rename` when
    /// nothing (or an empty folder) is there; else the old output is first renamed aside to a
    /// hidden `.NAME.swa-old-PID` beside it, the new one renamed into place, and the old one
    /// removed (if the second rename fails, the old output is put back). All of it happens
    /// under the registry's lock, so a signal's cleanup never runs in between; only a SIGKILL
    /// during these few calls can leave the hidden folder (or the old output aside) behind.
    /// The files stay open: the caller closes them (`discard`).
    /// - Throws: naming `destination` and the call that failed; the hidden folder is removed.
    /// The corresponding C functions are `mkdtemp`, `linkat`, `rename` and `fsync`.
    func commitFolder(_ files: [(name: String, file: PendingFile)], to destination: String, suffix: String) throws {
        try paths.withLock { paths in
            let base = destination.split(separator: "/").last.map(String.init) ?? destination
            var template = Array("\(folder(of: destination))/.\(base).\(suffix)-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
                throw SWAError(file: destination, "cannot create a temporary folder in '\(folder(of: destination))': \(errnoDescription(errno))")
            }
            let gathering = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            paths.insert(gathering)
            let lock = open(gathering, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            defer { if lock >= 0 { close(lock) } }
            if lock >= 0 { lockExclusively(lock) }
            func fail(_ message: String) -> SWAError {
                removeFileOrFolder(gathering)
                paths.remove(gathering)
                return SWAError(file: destination, message)
            }
            for (name, file) in files {
                let target = gathering + "/" + name
                if let path = file.temporaryPath {
                    guard Glibc.rename(path, target) == 0 else { throw fail("cannot move '\(name)' into the temporary folder: \(errnoDescription(errno))") }
                    paths.remove(path)
                } else {
                    let failure = linkUnnamedFile(file.descriptor, to: target)
                    guard failure == 0 else { throw fail("cannot link '\(name)' into the temporary folder: \(errnoDescription(failure))") }
                }
            }
            if lock >= 0, fsync(lock) != 0 { throw fail("cannot sync the temporary folder to disk: \(errnoDescription(errno))") }
            let failure = Self.replace(destination, withFolder: gathering)
            guard failure == 0 else { throw fail("cannot rename the finished temporary folder into place: \(errnoDescription(failure))") }
            paths.remove(gathering)
        }
    }

    /// Puts the folder `path` in place of `destination` (see `commitFolder`); called under the lock.
    /// - Returns: 0, or the `errno` of the failed `rename`.
    private static func replace(_ destination: String, withFolder path: String) -> Int32 {
        if Glibc.rename(path, destination) == 0 { return 0 }
        guard errno == EEXIST || errno == ENOTEMPTY || errno == EISDIR || errno == ENOTDIR else { return errno }
        let base = destination.split(separator: "/").last.map(String.init) ?? destination
        let aside = "\(folder(of: destination))/.\(base).swa-old-\(getpid())"
        guard Glibc.rename(destination, aside) == 0 else { return errno }
        guard Glibc.rename(path, destination) == 0 else {
            let failure = errno
            Glibc.rename(aside, destination)
            return failure
        }
        removeFileOrFolder(aside)
        return 0
    }

    // MARK: - What killed writers left behind

    /// Removes what writers killed by SIGKILL left beside `destination` on a file system without
    /// `O_TMPFILE` (or in the two-call windows of `commit` and `commitFolder`): hidden
    /// `.NAME.swa-tmp-XXXXXX` files and folders that no open file holds locked, and
    /// `.NAME.swa-spool-XXXXXX` spools (a live writer unlinks its spool as soon as it is made,
    /// keeping only the descriptor, so such a name is always dead). Only names for this
    /// `destination`'s NAME, and never a file of this process, are touched.
    /// - Returns: the names removed, sorted.
    /// The corresponding C functions are `opendir`, `readdir`, `flock` and `unlink`.
    @discardableResult
    func removeStaleFiles(besides destination: String) -> [String] {
        let parent = folder(of: destination)
        let base = destination.split(separator: "/").last.map(String.init) ?? destination
        guard !base.isEmpty, let directory = opendir(parent) else { return [] }
        var names: [String] = []
        while let entry = readdir(directory) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) })
        }
        closedir(directory)
        return paths.withLock { paths in
            var removed: [String] = []
            for name in names.sorted() {
                let path = parent + "/" + name
                guard !paths.contains(path) else { continue }
                if isTemporaryName(name, of: base, suffix: "swa-spool") {
                    if unlink(path) == 0 { removed.append(name) }
                } else if isTemporaryName(name, of: base, suffix: "swa-tmp") {
                    let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                    guard descriptor >= 0 else { continue }
                    if lockExclusively(descriptor) {
                        removeFileOrFolder(path)
                        removed.append(name)
                    }
                    close(descriptor)
                }
            }
            return removed
        }
    }
}

/// Whether `name` is `.BASE.SUFFIX-XXXXXX` with six letters or digits, as `mkstemp`,
/// `mkdtemp` and `hiddenName` make them.
func isTemporaryName(_ name: String, of base: String, suffix: String) -> Bool {
    let prefix = ".\(base).\(suffix)-"
    guard name.hasPrefix(prefix) else { return false }
    let tail = name.utf8.dropFirst(prefix.utf8.count)
    return tail.count == 6 && tail.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
}

/// A fresh `.NAME.SUFFIX-XXXXXX` beside `destination` (six random letters and digits), the
/// pattern of `makeTemporaryFile`; the caller creates it exclusively and retries if it exists.
func hiddenName(besides destination: String, suffix: String) -> String {
    let base = destination.split(separator: "/").last.map(String.init) ?? destination
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    let tail = String((0..<6).map { _ in alphabet.randomElement()! })
    return "\(folder(of: destination))/.\(base).\(suffix)-\(tail)"
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
