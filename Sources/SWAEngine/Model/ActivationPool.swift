import SWAFormats
/// Float buffers kept between the nodes and batches of a forward pass.
///
/// A buffer given back is handed out again to the next request it can hold (the smallest
/// such), so after the first batch a pass allocates nothing: no fresh pages to map and fault
/// in, which for activations past glibc's 32 MiB mmap limit happened at every node.
/// Memory stays near the largest set of activations alive at once.
final class ActivationPool {
    private var free: [UnsafeMutableBufferPointer<Float>] = []

    /// A buffer of at least `count` floats, uninitialised.
    func take(count: Int) -> UnsafeMutableBufferPointer<Float> {
        let needed = max(1, count)
        var best: Int?
        for (index, buffer) in free.enumerated() where buffer.count >= needed {
            if best.map({ buffer.count < free[$0].count }) ?? true { best = index }
        }
        if let best { return free.remove(at: best) }
        return UnsafeMutableBufferPointer<Float>.allocate(capacity: needed)
    }

    /// Makes `buffer` (from `take`) available again.
    func give(_ buffer: UnsafeMutableBufferPointer<Float>) {
        free.append(buffer)
    }

    deinit {
        for buffer in free { buffer.deallocate() }
    }
}
