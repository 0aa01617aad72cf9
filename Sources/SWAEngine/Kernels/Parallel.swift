import SWAFormats
import Dispatch
import Foundation

// How the kernels use the cores: `concurrentPerform` over about one contiguous chunk per core,
// never one task per element. Every kernel gives each chunk a disjoint part of its output, and
// computes every output value the same way whatever the chunking, so results never depend on
// the number of cores.

enum Parallel {
    /// Threads the kernels cut their work for: `SWA_THREADS`, else the cores this process may
    /// use (`WorkerThreads`), read once.
    static let coreCount = WorkerThreads.count

    /// Elements below which an elementwise or reduction kernel stays on the calling thread:
    /// dispatching costs a few microseconds, about what 32 Ki floats take to stream.
    static let elementGrain = 1 << 15

    /// How many chunks to cut `count` items into when one item costs about `itemCost` elements
    /// of streaming work: at most one per core and one per item, and one when the whole job is
    /// too small to be worth a thread.
    static func chunkCount(items count: Int, itemCost: Int) -> Int {
        guard count > 1 else { return 1 }
        let (work, overflow) = count.multipliedReportingOverflow(by: max(1, itemCost))
        return overflow || work >= elementGrain ? min(count, coreCount) : 1
    }

    /// Runs `body` on `chunks` contiguous, disjoint, near-equal ranges covering `0 ..< count`,
    /// concurrently (on the calling thread when `chunks == 1`). Blocks until all have run.
    static func forEachChunk(of count: Int, chunks: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let chunks = max(1, min(chunks, count))
        if chunks == 1 {
            if count > 0 { body(0 ..< count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            body(range(ofChunk: chunk, chunks: chunks, count: count))
        }
    }

    /// Chunk `chunk` of `chunks` near-equal ranges over `0 ..< count`: the first
    /// `count % chunks` ranges get one extra item.
    @inline(__always)
    static func range(ofChunk chunk: Int, chunks: Int, count: Int) -> Range<Int> {
        let base = count / chunks, extra = count % chunks
        let lower = chunk * base + min(chunk, extra)
        return lower ..< lower + base + (chunk < extra ? 1 : 0)
    }
}
