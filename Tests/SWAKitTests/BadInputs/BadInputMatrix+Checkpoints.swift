import Foundation
@testable import SWAFormats

// MARK: - Which commands read a checkpoint

extension BadInputMatrix {
    /// Which of the commands that read checkpoints a case goes through.
    struct CheckpointReaders: OptionSet {
        let rawValue: Int
        static let average = CheckpointReaders(rawValue: 1)
        static let inspect = CheckpointReaders(rawValue: 2)
        static let verify = CheckpointReaders(rawValue: 4)
        static let convert = CheckpointReaders(rawValue: 8)
        /// swa-bn-update, swa-eval and swa-landscape: the model must be the fixture run's.
        static let model = CheckpointReaders(rawValue: 16)
        static let all: CheckpointReaders = [.average, .inspect, .verify, .convert, .model]
        /// Formats whose models the engine cannot run (a language model's shards, views).
        static let files: CheckpointReaders = [.average, .inspect, .verify, .convert]
    }

    /// Every command that reads the checkpoint `path`, each expecting `expectation`.
    /// - Parameter graph: `--graph` for inputs that carry no `swa.graph` (PyTorch files).
    func checkpointRuns(_ path: String, readers: CheckpointReaders = .all, expectation: Expectation = .refused,
                        graph: String? = nil, extra: [String] = []) -> [Run] {
        var runs: [Run] = []
        let graphArguments = graph.map { ["--graph", $0] } ?? []
        if readers.contains(.average) {
            runs.append(Run(tool: "swa-avg", label: "swa-avg", arguments: [path] + extra + ["-o", "{OUT}/avg.bin", "-q"], expectation: expectation))
        }
        if readers.contains(.inspect) {
            runs.append(Run(tool: "swa-inspect", label: "swa-inspect", arguments: [path] + extra, expectation: expectation))
        }
        if readers.contains(.verify) {
            runs.append(Run(tool: "swa-inspect", label: "swa-inspect --verify", arguments: [path, "--verify"] + extra, expectation: expectation))
        }
        if readers.contains(.convert) {
            runs.append(Run(tool: "swa-convert", label: "swa-convert", arguments: [path] + extra + ["-o", "{OUT}/converted.bin"], expectation: expectation))
        }
        if readers.contains(.model) {
            runs.append(Run(tool: "swa-bn-update", label: "swa-bn-update",
                            arguments: [path, "--data", base.train, "-o", "{OUT}/bn.bin", "--batch-size", "256", "-q"] + graphArguments + extra,
                            expectation: expectation))
            runs.append(Run(tool: "swa-eval", label: "swa-eval", arguments: [path, "--data", base.test, "-q"] + graphArguments + extra,
                            expectation: expectation))
            runs.append(Run(tool: "swa-landscape", label: "swa-landscape",
                            arguments: ["line", path, path, "--train", base.test, "--test", base.test, "--steps=0.5", "--bn", "keep",
                                        "--csv", "{OUT}/line.csv"] + graphArguments + extra,
                            expectation: expectation))
        }
        return runs
    }
}

// MARK: - zstd checkpoints: frames, seek table, truncation

extension BadInputMatrix {
    /// The zstd container: a bit flipped in each frame and in each field of the seek table,
    /// the file cut at every frame boundary and inside a frame.
    func checkpointCases() throws -> [Case] {
        let structure = "zstd checkpoint"
        let bytes = try TestSupport.bytes(of: base.zstd)
        let frames = try base.zstdFrames()
        var cases = [Case(structure, "none (control)", culprits: [base.zstd], runs: checkpointRuns(base.zstd, expectation: .succeeds(mentioning: nil)))]
        for (index, frame) in frames.enumerated() {
            // Inside the compressed blocks: the frame header is at most 18 bytes.
            let path = try write(Self.flipping(bytes, at: frame.offset + frame.size / 2, bit: 3), case: "zstd-flip-frame-\(index + 1)", name: "ckpt-010.bin")
            cases.append(Case(structure, "bit flip in frame \(index + 1) of \(frames.count)", culprits: [path], runs: checkpointRuns(path),
                              quick: index == 1))
        }
        // The first frame's header: the frame header descriptor (flags) and the content size.
        for (name, offset) in [("frame header descriptor", 4), ("frame content size", 6)] {
            let path = try write(Self.flipping(bytes, at: offset, bit: 1), case: "zstd-flip-\(name.replacingOccurrences(of: " ", with: "-"))", name: "ckpt-010.bin")
            cases.append(Case(structure, "bit flip in the \(name)", culprits: [path], runs: checkpointRuns(path)))
        }
        cases += try seekTableCases(bytes: bytes, frameCount: frames.count)
        // Truncation at every frame boundary: after frame k of n, the stream ends between frames
        // with the data incomplete (k < n), or without its seek table (k = n, still valid).
        for (index, frame) in frames.enumerated() {
            let end = frame.offset + frame.size
            let path = try write(Array(bytes[..<end]), case: "zstd-cut-after-frame-\(index + 1)", name: "ckpt-010.bin")
            if index == frames.count - 1 {
                cases.append(Case(structure, "cut after the last frame (seek table gone: a valid stream)", culprits: [path],
                                  runs: checkpointRuns(path, readers: .files, expectation: .refusedOrUnchanged),
                                  unchangedCheck: (path, base.zstd)))
            } else {
                cases.append(Case(structure, "cut after frame \(index + 1) of \(frames.count)", culprits: [path], runs: checkpointRuns(path)))
            }
        }
        for (name, length) in [("empty file", 0), ("cut inside frame 1", frames[0].size / 2), ("cut inside the seek table", bytes.count - 5)] {
            let path = try write(Array(bytes[..<length]), case: "zstd-\(name.replacingOccurrences(of: " ", with: "-"))", name: "ckpt-010.bin")
            cases.append(Case(structure, name, culprits: [path], runs: checkpointRuns(path)))
        }
        let appended = try write(bytes + Array("trailing garbage".utf8), case: "zstd-trailing-garbage", name: "ckpt-010.bin")
        cases.append(Case(structure, "bytes after the seek table", culprits: [appended], runs: checkpointRuns(appended)))
        return cases
    }

    /// A bit flipped in each field of the seek table (a skippable frame libzstd never checks).
    /// Readers ignore the table, so what they read is unchanged; `--verify` must see every flip
    /// but the one in the descriptor's unused bits, which the format leaves free.
    private func seekTableCases(bytes: [UInt8], frameCount: Int) throws -> [Case] {
        let structure = "zstd checkpoint"
        let tableStart = bytes.count - (8 + frameCount * 8 + 9)
        let fields: [(String, Int, Int, Bool)] = [
            // name, byte offset, bit, whether --verify must refuse it
            ("seek table: skippable frame magic", tableStart, 1, true),
            ("seek table: frame size", tableStart + 4, 3, true),
            ("seek table: entry 1 compressed size", tableStart + 8, 2, true),
            ("seek table: last entry decompressed size", tableStart + 8 + (frameCount - 1) * 8 + 4, 0, true),
            ("seek table: number of frames", bytes.count - 9, 0, true),
            ("seek table: descriptor checksum flag", bytes.count - 5, 7, true),
            ("seek table: descriptor reserved bit", bytes.count - 5, 4, true),
            ("seek table: descriptor unused bit", bytes.count - 5, 0, false),
            ("seek table: footer magic", bytes.count - 2, 5, true),
        ]
        return try fields.enumerated().map { index, field in
            let (name, offset, bit, verifyRefuses) = field
            let path = try write(Self.flipping(bytes, at: offset, bit: bit), case: "zstd-seek-table-\(index)", name: "ckpt-010.bin")
            var runs = checkpointRuns(path, readers: [.average, .inspect, .convert], expectation: .refusedOrUnchanged)
            runs += checkpointRuns(path, readers: .verify, expectation: verifyRefuses ? .refused : .succeeds(mentioning: "OK"))
            return Case(structure, "bit flip in the \(name)", culprits: [path], runs: runs, unchangedCheck: (path, base.zstd),
                        quick: index == 2)
        }
    }
}
