import SWAFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What SIGINT, SIGTERM and SIGHUP do to a tool: remove the temporary files of its unfinished
/// outputs, then exit with status 128 + the signal number, as a shell reports a process a
/// signal ended (130 after Ctrl-C). An existing output is never touched (docs/FORMAT.md).
///
/// This lives in the command-line layer, not the library, because what a signal does to a
/// process belongs to the program: a library that installs handlers overrides its host's.
/// The library only lists its temporary files (`TemporaryFileRegistry`).
///
/// How: `install()` blocks the three signals with `pthread_sigmask` while the main thread is
/// the only Swift thread, so every thread started later (Dispatch's workers, which run the
/// kernels and the decoders) inherits the mask and never receives them. One thread of ours
/// waits for them with `sigwait` and does the cleanup as ordinary code, not in signal context:
/// it may take the registry's lock and walk a list of any length, neither of which a signal
/// handler may do.
///
/// Threads started before `main` did not inherit the mask: OpenBLAS starts its pool when the
/// library is loaded. If the kernel hands a signal to one of those, a minimal handler passes it
/// on to the waiting thread with `pthread_kill`, which is async-signal-safe. (Without it,
/// `kill` ended a running `swa-avg` by the default action, its temporary file left behind, in
/// 12 tries out of 12.)
///
/// A signal ignored when the tool starts (`nohup` ignores SIGHUP, a shell ignores SIGINT in
/// background jobs) stays ignored. A child process would inherit the blocked mask; the tools
/// start none.
public enum SignalCleanup {
    /// The signals that end a tool with a cleanup: Ctrl-C, `kill`, a closed terminal.
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The exit status after `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM).
    public static func exitStatus(after signal: Int32) -> Int32 { 128 + signal }

    /// Takes over `signals` for the rest of the process. Call once, first thing in `main`,
    /// before anything starts a thread. The corresponding C functions are `pthread_sigmask`,
    /// `pthread_create` and `sigaction`.
    public static func install() {
        let taken = signals.filter { !isIgnored($0) }
        guard !taken.isEmpty else { return }
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in taken { sigaddset(&handled, signal) }
        guard pthread_sigmask(SIG_BLOCK, &handled, nil) == 0 else { return }

        // Read by the waiting thread until the process ends, so never freed.
        let waitedSignals = UnsafeMutablePointer<sigset_t>.allocate(capacity: 1)
        waitedSignals.initialize(to: handled)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { argument in
            let waitedSignals = argument!.assumingMemoryBound(to: sigset_t.self)
            SignalCleanup.waitAndCleanUp(waitedSignals)
        }, waitedSignals)
        guard started == 0 else {
            // Without the waiting thread, a blocked signal would never end the tool.
            pthread_sigmask(SIG_UNBLOCK, &handled, nil)
            waitedSignals.deallocate()
            return
        }
        waitingThread = thread

        var forward = sigaction()
        forward.__sigaction_handler.sa_handler = { signal in
            _ = pthread_kill(SignalCleanup.waitingThread, signal)
        }
        forward.sa_mask = handled
        forward.sa_flags = SA_RESTART
        for signal in taken { sigaction(signal, &forward, nil) }
    }

    /// Removes the temporary files in `registry` after `signal`, then calls `finish` with the
    /// exit status while the registry stays locked, so no output can be finished or started in
    /// between. The tools' `finish` is `_exit`; tests pass one that returns.
    static func cleanUp<Result>(after signal: Int32, registry: TemporaryFileRegistry = .shared,
                                finish: (Int32) -> Result) -> Result {
        registry.removeAll { _ in finish(exitStatus(after: signal)) }
    }

    // MARK: - Private

    /// The thread in `sigwait`, for the forwarding handler. Written once, before the handler
    /// is installed; only read after.
    nonisolated(unsafe) private static var waitingThread = pthread_t()

    /// Body of the waiting thread: blocks until one of `waitedSignals` arrives, then cleans up
    /// and ends the process. `_exit` skips `atexit` handlers, which may run on other threads'
    /// state that is still in use. The corresponding C function is `sigwait`.
    private static func waitAndCleanUp(_ waitedSignals: UnsafeMutablePointer<sigset_t>) -> Never {
        var received: Int32 = 0
        while sigwait(waitedSignals, &received) != 0 {}
        cleanUp(after: received) { status in _exit(status) }
    }

    /// Whether `signal` was set to be ignored when the process started.
    private static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return false }
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }
}
