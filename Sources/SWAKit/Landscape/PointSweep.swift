import Dispatch
import Foundation
import SWAFormats

/// Runs the independent points of a landscape on several threads, with progress over points.
///
/// Each worker takes the next point not yet started, so memory holds one point (its weights,
/// its BN-updated copy, its activations) per worker, never all points. Results come back in
/// point order whatever thread computed them; a point's value does not depend on the thread
/// (the kernels give the same numbers for any core count).
struct PointSweep {
    /// Threads running points at once: the cores, or fewer points.
    var workers: Int

    /// Threads this process may use: `SWA_THREADS`, else its cores (`WorkerThreads`).
    static var coreCount: Int { WorkerThreads.count }

    init(workers: Int = PointSweep.coreCount) {
        self.workers = max(1, workers)
    }

    /// `body(i)` for every i in `0 ..< count`, `workers` at a time; the first error stops the
    /// sweep (points already started finish) and is rethrown.
    /// - Parameters:
    ///   - title: the progress phase ("line", "width"), counted in points.
    ///   - progress: told after every finished point, from one thread at a time.
    func run<Result: Sendable>(count: Int, title: String, progress: ProgressObserver,
                               _ body: @Sendable (Int) throws -> Result) throws -> [Result] {
        let state = SweepState<Result>(count: count)
        // The observer is called under the state's lock only, one thread at a time.
        nonisolated(unsafe) let observer = progress
        observer.begin(title, total: count)
        let threads = min(workers, max(count, 1))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while let index = state.take() {
                do {
                    let value = try body(index)
                    state.finish(index, value) { observer.advance(to: $0) }
                } catch {
                    state.fail(error)
                }
            }
        }
        if let error = state.error { throw error }
        observer.end(count)
        return state.results.map { $0! }
    }
}

/// The shared bookkeeping of a sweep, behind one lock.
private final class SweepState<Result: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var done = 0
    private let count: Int
    private(set) var results: [Result?]
    private(set) var error: Error?

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    /// The next point to compute, or nil when all are taken or one failed.
    func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard error == nil, next < count else { return nil }
        next += 1
        return next - 1
    }

    func finish(_ index: Int, _ value: Result, report: (Int) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        results[index] = value
        done += 1
        report(done)
    }

    func fail(_ failure: Error) {
        lock.lock()
        defer { lock.unlock() }
        if error == nil { error = failure }
    }
}
