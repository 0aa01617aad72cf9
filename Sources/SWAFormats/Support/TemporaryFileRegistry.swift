#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Temporary files to remove if the process is interrupted (SIGINT, SIGTERM, SIGHUP).
///
/// The signal handler may only call async-signal-safe functions, so paths live in a fixed
/// table of C strings that the handler walks with `unlink` before `_exit`.
enum TemporaryFileRegistry {
    private static let capacity = 64
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        table.initialize(repeating: nil, count: capacity)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { received in
                for index in 0..<TemporaryFileRegistry.capacity {
                    if let path = TemporaryFileRegistry.slots[index] { unlink(path) }
                }
                _exit(128 + received)
            }
        }
        return table
    }()
    private static let lock = PthreadLock()

    static func register(_ path: String) {
        lock.withLock {
            for index in 0..<capacity where slots[index] == nil {
                slots[index] = strdup(path)
                return
            }
        }
    }

    static func unregister(_ path: String) {
        lock.withLock {
            for index in 0..<capacity {
                if let slot = slots[index], String(cString: slot) == path {
                    slots[index] = nil
                    free(slot)
                }
            }
        }
    }
}

/// A pthread mutex, so this file needs nothing from Foundation.
final class PthreadLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
