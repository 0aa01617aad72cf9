#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file being written beside its destination, before it has the destination's name.
///
/// On Linux file systems that support it (ext4, xfs, btrfs, tmpfs, ...), the file has no name
/// at all: `open(folder, O_TMPFILE)` makes an inode that the kernel frees when the last
/// descriptor closes, so a process killed by SIGKILL (or by the out-of-memory killer, or a
/// power cut) leaves nothing behind. `linkat` gives it its name at commit.
///
/// Where `O_TMPFILE` is refused (`EOPNOTSUPP`, `EISDIR`, `EINVAL`: some FUSE, NFS and overlay
/// mounts, kernels before 3.11) or `/proc` is not mounted, the file is a hidden
/// `.NAME.swa-tmp-XXXXXX` beside the destination (`mkstemp`), registered with the
/// `TemporaryFileRegistry`, renamed into place at commit. Only SIGKILL can leave that name
/// behind; the next output to the same destination removes it (`removeStaleFiles`).
///
/// Either way the writer holds an exclusive `flock` on the file while it lives: that lock is
/// what tells a live temporary file from one a killed process left behind.
struct PendingFile {
    /// Open for writing (and reading, for spools).
    let descriptor: Int32
    /// The hidden name of a fallback file; nil for an unnamed (`O_TMPFILE`) one.
    let temporaryPath: String?

    /// Whether the file has no name (written through `O_TMPFILE`).
    var isUnnamed: Bool { temporaryPath == nil }
}

// MARK: - Linux calls Swift's Glibc module does not export

/// `O_TMPFILE`, which glibc declares only under `_GNU_SOURCE` and so Swift's Glibc module does
/// not export: `__O_TMPFILE | O_DIRECTORY`, with `__O_TMPFILE` = 020000000 on every Linux
/// architecture Swift supports (x86_64, arm64; asm-generic/fcntl.h).
let openUnnamedFlag: Int32 = 0o20000000 | O_DIRECTORY

/// Whether this process may give an unnamed file a name through `/proc/self/fd/N`.
private let procFileDescriptorsMounted: Bool = access("/proc/self/fd", X_OK) == 0

/// Opens a new unnamed file in `folder` (`O_TMPFILE`), readable too if `readable`.
/// - Returns: the descriptor, or nil where the file system (or kernel, or a missing `/proc`)
///   does not allow it, so the caller falls back to a named file.
/// - Throws: the other failures (`EACCES`, `EROFS`, `ENOSPC`, `ENOENT`), naming `destination`.
/// The corresponding C function is `open`.
func openUnnamedFile(in folder: String, for destination: String, readable: Bool) throws -> Int32? {
    guard procFileDescriptorsMounted, !TestHooks.namedTemporaryFilesOnly else { return nil }
    let access = readable ? O_RDWR : O_WRONLY
    let descriptor = open(folder, openUnnamedFlag | access | O_CLOEXEC, mode_t(0o666))
    if descriptor >= 0 { return descriptor }
    let error = errno
    switch error {
    case EOPNOTSUPP, EISDIR, EINVAL:
        return nil
    case ENOENT:
        try checkFolderExists(of: destination)
        fallthrough
    default:
        throw SWAError(file: destination, "cannot create a temporary file in '\(folder)': \(errnoDescription(error))")
    }
}

/// Gives the unnamed file `descriptor` the name `path`; fails with `EEXIST` if `path` exists
/// (it never replaces anything). The corresponding C function is `linkat`, through
/// `/proc/self/fd/N` with `AT_SYMLINK_FOLLOW` (the `AT_EMPTY_PATH` form needs
/// `CAP_DAC_READ_SEARCH`).
/// - Returns: 0, or the `errno` of the failed `linkat`.
func linkUnnamedFile(_ descriptor: Int32, to path: String) -> Int32 {
    linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno
}

/// Takes an exclusive lock on `descriptor` without waiting; false if another open file holds
/// one (or the file system has no locks). The corresponding C function is `flock`.
@discardableResult
func lockExclusively(_ descriptor: Int32) -> Bool {
    flock(descriptor, LOCK_EX | LOCK_NB) == 0
}
