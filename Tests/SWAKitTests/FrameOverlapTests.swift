import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The two ways the checkpoint code avoids work on the caller's thread (issue 14, averaging):
/// zstd frames decoded straight into the reader's buffer when they fit (`ZstdPayloadSource`),
/// and frames compressed on a thread of their own while the writer's caller fills the next
/// (`FrameSpooler`). Both must be invisible in the bytes: checked against the plain paths.
@Suite("zstd frames decoded in place and compressed beside the caller")
struct FrameOverlapTests {
    /// Frames of 100 kB: above the in-place threshold (64 KiB), several per tensor.
    static let frameByteCount = 100_000

    // MARK: - Decoding in place

    @Test("A read covering whole frames decodes them in place; the bytes equal a read in small pieces")
    func inPlaceMatchesStreaming() throws {
        try withSample { path, data in
            let whole = try readData(path, pieces: [data.count])
            #expect(whole.bytes == data)
            // Data frames: 6 of 100 kB in place, the last one (1,000 bytes) below the threshold.
            #expect(whole.inPlace == 6)

            let small = try readData(path, pieces: Array(repeating: 7000, count: data.count / 7000) + [data.count % 7000])
            #expect(small.bytes == data)
            #expect(small.inPlace == 0)
            #expect(small.frames == whole.frames)

            // Reads of random sizes: some start inside a frame (streamed), some cover whole ones.
            var generator = SeededGenerator(seed: 14)
            var pieces: [Int] = []
            while pieces.reduce(0, +) < data.count {
                pieces.append(min(Int.random(in: 1...300_000, using: &generator), data.count - pieces.reduce(0, +)))
            }
            let mixed = try readData(path, pieces: pieces)
            #expect(mixed.bytes == data)
            #expect(mixed.inPlace > 0 && mixed.inPlace < 6, "pieces \(pieces) decoded \(mixed.inPlace) frames in place")
            #expect(mixed.frames == whole.frames)
        }
    }

    @Test("A frame whose checksum is wrong fails the same way decoded in place as streamed")
    func corruptChecksumInPlace() throws {
        try withSample { path, data in
            var bytes = try TestSupport.bytes(of: path)
            let frames = try #require(try SeekTable.read(from: InputFile(path: path))).entries
            // The last byte of the third frame (the second data frame) is its checksum's last byte.
            let end = frames[0..<3].reduce(0) { $0 + $1.compressedByteCount }
            bytes[end - 1] ^= 0x5A
            let corrupt = try TestSupport.write(bytes, to: (path as NSString).deletingLastPathComponent, name: "corrupt.safetensors.zst")
            let inPlace = try #require(TestSupport.errorDescription { _ = try readData(corrupt, pieces: [data.count]) })
            let streamed = try #require(TestSupport.errorDescription {
                _ = try readData(corrupt, pieces: Array(repeating: 5000, count: data.count / 5000) + [data.count % 5000])
            })
            #expect(inPlace == streamed)
            #expect(inPlace.hasPrefix("\(corrupt): corrupt zstd stream: frame checksum does not match its content"), "\(inPlace)")
        }
    }

    @Test("A file cut inside a frame decoded in place is a truncated stream, as when streamed")
    func truncatedInPlace() throws {
        try withSample { path, data in
            let bytes = try TestSupport.bytes(of: path)
            let frames = try #require(try SeekTable.read(from: InputFile(path: path))).entries
            let cut = frames[0..<3].reduce(0) { $0 + $1.compressedByteCount } + frames[3].compressedByteCount / 2
            let folder = (path as NSString).deletingLastPathComponent
            let truncated = try TestSupport.write(Array(bytes[..<cut]), to: folder, name: "cut.safetensors.zst")
            let inPlace = try #require(TestSupport.errorDescription { _ = try readData(truncated, pieces: [data.count]) })
            let streamed = try #require(TestSupport.errorDescription {
                _ = try readData(truncated, pieces: Array(repeating: 5000, count: data.count / 5000) + [data.count % 5000])
            })
            #expect(inPlace == "\(truncated): truncated zstd stream: the file ends inside a frame")
            #expect(streamed == inPlace)
        }
    }

    // MARK: - Compressing beside the caller

    @Test("The file equals every frame compressed on the calling thread, in order, then the seek table")
    func backgroundFramesAreTheSynchronousOnes() throws {
        try withSample { path, data in
            let written = try TestSupport.bytes(of: path)
            let specs = sampleSpecs()
            let prefix = SafetensorsHeader(laying: specs, metadata: ["swa.epoch": "14"]).encodedPrefix()
            let encoder = try ZstdFrameEncoder(level: 3)
            var expected: [UInt8] = []
            var table = SeekTable()
            for part in [prefix, data] {
                for start in stride(from: 0, to: part.count, by: Self.frameByteCount) {
                    let slice = Array(part[start..<min(part.count, start + Self.frameByteCount)])
                    try slice.withUnsafeBytes { bytes in
                        try encoder.compressFrame(bytes) { frame in
                            expected += frame
                            table.entries.append(.init(compressedByteCount: frame.count, decompressedByteCount: slice.count))
                        }
                    }
                }
            }
            expected += table.encoded()
            #expect(table.entries.count == 8)
            #expect(written.count == expected.count)
            #expect(written == expected)
        }
    }

    @Test("Discarding with a frame still being compressed leaves nothing behind")
    func discardWhileCompressing() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let spec = TensorSpec(name: "w", dtype: .u8, shape: [1_000_000])
            let writer = try CheckpointWriter(destination: folder + "/out.safetensors.zst", tensors: [spec], overwrite: false,
                                              frameByteCount: Self.frameByteCount)
            var generator = SeededGenerator(seed: 3)
            let bytes = TestSupport.randomBytes(450_000, using: &generator)
            try bytes.withUnsafeBytes { try writer.writeData($0) }
            writer.discard()
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }
}

// MARK: - Sample

/// Three tensors, 601,000 bytes of data: random, smooth, and a small one.
private func sampleSpecs() -> [TensorSpec] {
    [TensorSpec(name: "noise", dtype: .f32, shape: [100_000]),
     TensorSpec(name: "ramp", dtype: .f32, shape: [250, 200]),
     TensorSpec(name: "flags", dtype: .u8, shape: [1000])]
}

/// Writes the sample with 100 kB frames and runs `body` with its path and data section.
private func withSample(_ body: (String, [UInt8]) throws -> Void) throws {
    try TestSupport.withTemporaryDirectory { folder in
        var generator = SeededGenerator(seed: 2024)
        let noise = TestSupport.randomBytes(400_000, using: &generator)
        let ramp = (0..<50_000).flatMap { index in withUnsafeBytes(of: Float(index) * 0.25) { Array($0) } }
        let flags = (0..<1000).map { UInt8($0 % 7) }
        let data = noise + ramp + flags
        let path = folder + "/sample.safetensors.zst"
        let writer = try CheckpointWriter(destination: path, tensors: sampleSpecs(), overwrite: false,
                                          frameByteCount: FrameOverlapTests.frameByteCount)
        // Written in uneven pieces, so frames fill across calls.
        var offset = 0
        for size in [1, 99_999, 150_000, 3, 200_000, 150_997] {
            try data[offset..<offset + size].withUnsafeBytes { try writer.writeData($0) }
            offset += size
        }
        try writer.finish(metadata: ["swa.epoch": "14"])
        try body(path, data)
    }
}

/// The data section of `path` read in `pieces` (sizes), the frames `finish` counts, and the
/// frames decoded in place.
private func readData(_ path: String, pieces: [Int]) throws -> (bytes: [UInt8], frames: Int, inPlace: Int) {
    let reader = try CheckpointReader(path: path)
    var bytes = [UInt8](repeating: 0, count: pieces.reduce(0, +))
    var offset = 0
    for piece in pieces where piece > 0 {
        try bytes.withUnsafeMutableBytes { buffer in
            try reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + piece]))
        }
        offset += piece
    }
    let frames = try reader.finish()
    return (bytes, frames, reader.framesDecodedInPlace)
}
