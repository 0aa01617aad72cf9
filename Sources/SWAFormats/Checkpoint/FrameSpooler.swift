import Dispatch

/// Compresses `CheckpointWriter`'s data frames on a thread of its own and appends them to the
/// spool file, so that the caller fills the next frame meanwhile.
///
/// Double-buffered: `submit` hands over the caller's full frame buffer and gives back the one
/// compressed last (waiting for it first), so at most one frame is being compressed while the
/// caller fills another, and memory is two frames. Frames reach the spool in submission order
/// and are compressed exactly as on the calling thread (same context, same parameters), so the
/// file's bytes do not depend on the overlap.
final class FrameSpooler: @unchecked Sendable {
    private let encoder: ZstdFrameEncoder
    private let spool: Int32
    /// The file the spool belongs to, for messages.
    private let path: String
    private let queue = DispatchQueue(label: "swa.checkpoint-writer.compression", qos: .userInitiated)
    private let group = DispatchGroup()
    /// The buffer of the frame in flight (or the spare one when none is).
    private var spare: UnsafeMutableRawBufferPointer
    // Written only by the compression thread between `submit` and the next `wait`.
    private var written = SeekTable()
    private var failure: (any Error)?

    /// - Parameter frameByteCount: the capacity of the buffers `submit` swaps.
    init(encoder: ZstdFrameEncoder, spool: Int32, path: String, frameByteCount: Int) {
        self.encoder = encoder
        self.spool = spool
        self.path = path
        spare = .allocate(byteCount: frameByteCount, alignment: 64)
    }

    deinit {
        group.wait()
        spare.deallocate()
    }

    /// Starts compressing the first `count` bytes of `buffer` into the next frame of the spool,
    /// after the previous frame is done; `buffer` then holds a free buffer of the same capacity.
    /// - Throws: the failure of an earlier frame (a full disk), if any.
    func submit(_ buffer: inout UnsafeMutableRawBufferPointer, count: Int) throws {
        try wait()
        swap(&buffer, &spare)
        nonisolated(unsafe) let payload = UnsafeRawBufferPointer(rebasing: spare[..<count])
        queue.async(group: group) { [self] in
            guard failure == nil else { return }
            do {
                try encoder.compressFrame(payload) { frame in
                    try writeAll(spool, frame, path: path)
                    written.entries.append(.init(compressedByteCount: frame.count, decompressedByteCount: payload.count))
                }
            } catch {
                failure = error
            }
        }
    }

    /// Waits for the frame in flight, then rethrows the first failure, if any.
    func wait() throws {
        group.wait()
        if let failure { throw failure }
    }

    /// The frames spooled so far, in order; only after `wait()`.
    var frames: SeekTable { written }
}
