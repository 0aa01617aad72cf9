#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Environment variables that only the fault-injection tests set (docs/RELIABILITY.md,
/// "Fault injection"). They change no result; users have no reason to set them.
enum TestHooks {
    /// `SWA_TEST_NO_TMPFILE=1`: write outputs through named temporary files, as on a file
    /// system without `O_TMPFILE`, so the tests cover the fallback on any machine.
    static let namedTemporaryFilesOnly: Bool = getenv("SWA_TEST_NO_TMPFILE").map { String(cString: $0) == "1" } ?? false

    /// `SWA_TEST_PAUSE_BEFORE_COMMIT=MARKER`: the file the writer creates when an output is
    /// complete and synced but not yet in place.
    static let pauseMarker: String? = getenv("SWA_TEST_PAUSE_BEFORE_COMMIT").map { String(cString: $0) }

    /// Longest pause, so that a test that never resumes the writer does not hang it.
    static let longestPauseSeconds = 120

    /// With `SWA_TEST_PAUSE_BEFORE_COMMIT=MARKER`: writes `destination` into the file MARKER
    /// (atomically: the marker appears with its text),
    /// then waits until MARKER is removed (or 120 s pass). A test then signals the tool at
    /// the worst moment, every byte written and nothing named, or removes MARKER to let it go on.
    /// Called outside the `TemporaryFileRegistry`'s lock, so a signal's cleanup can run meanwhile.
    static func pauseBeforeCommit(of destination: String) {
        guard let marker = pauseMarker else { return }
        // Written under another name and renamed, so a test that sees MARKER also sees its text.
        let writing = marker + ".writing"
        let descriptor = open(writing, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(0o644))
        guard descriptor >= 0 else { return }
        _ = Array(destination.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard rename(writing, marker) == 0 else { return }
        var waited = 0
        while access(marker, F_OK) == 0, waited < longestPauseSeconds * 200 {
            usleep(5_000)
            waited += 1
        }
    }
}
