import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The streaming zstd reader against files made by the stock `zstd` CLI: every valid stream
/// reads back byte-identical tensors; every broken one is an error naming the file.
///
/// The payload is about 400 KB, so each stream spans several of the reader's 128 KiB input chunks.
@Suite("zstd stream reader")
struct ZstdStreamTests {
    // MARK: - Valid streams

    @Test("One frame with its content size (zstd FILE)")
    func singleFrameWithContentSize() throws {
        try withSample { sample, folder in
            let path = folder + "/one.zst"
            try zstd(["-q", sample.path, "-o", path])
            let bytes = try TestSupport.bytes(of: path)
            let descriptor = try frameHeaderDescriptor(bytes, at: 0)
            #expect(hasContentSize(descriptor), "zstd did not record the content size; the test no longer covers that case")
            #expect(try readBack(path, expecting: sample) == 1)
        }
    }

    @Test("One frame without a content size (zstd from a pipe)")
    func frameWithoutContentSize() throws {
        try withSample { sample, folder in
            let path = folder + "/piped.zst"
            let status = try TestSupport.run("/bin/sh", ["-c", "cat '\(sample.path)' | \(TestSupport.zstd) -q -c > '\(path)'"]).status
            #expect(status == 0)
            let descriptor = try frameHeaderDescriptor(TestSupport.bytes(of: path), at: 0)
            #expect(!hasContentSize(descriptor), "zstd recorded a content size; the test no longer covers that case")
            #expect(try readBack(path, expecting: sample) == 1)
        }
    }

    @Test("Two frames: the two halves compressed separately and concatenated")
    func twoFrames() throws {
        try withSample { sample, folder in
            let half = sample.payload.count / 2 + 3
            let first = try TestSupport.write(Array(sample.payload[..<half]), to: folder, name: "first")
            let second = try TestSupport.write(Array(sample.payload[half...]), to: folder, name: "second")
            try zstd(["-q", first, "-o", first + ".zst"])
            try zstd(["-q", second, "-o", second + ".zst"])
            let firstFrame = try TestSupport.bytes(of: first + ".zst")
            let path = try TestSupport.write(firstFrame + TestSupport.bytes(of: second + ".zst"), to: folder, name: "two.zst")
            #expect(try frameMagic(TestSupport.bytes(of: path), at: firstFrame.count) == ZstdMagic.frame)
            #expect(try readBack(path, expecting: sample) == 2)
        }
    }

    @Test("A skippable frame before the data frame")
    func skippableFrameFirst() throws {
        try withSample { sample, folder in
            try zstd(["-q", sample.path, "-o", folder + "/data.zst"])
            let skipped = Array("metadata a zstd reader must skip".utf8)
            var bytes = littleEndian(UInt32(0x184D_2A53)) + littleEndian(UInt32(skipped.count)) + skipped
            bytes += try TestSupport.bytes(of: folder + "/data.zst")
            let path = try TestSupport.write(bytes, to: folder, name: "skippable.zst")
            #expect(try TestSupport.run(TestSupport.zstd, ["-t", "-q", path]).status == 0)
            let frames = try readBack(path, expecting: sample)
            #expect(frames == 2, "the skippable frame counts as a frame (CheckpointReader.finish docs)")
        }
    }

    @Test("A frame without a checksum (zstd --no-check)")
    func frameWithoutChecksum() throws {
        try withSample { sample, folder in
            let path = folder + "/nocheck.zst"
            try zstd(["-q", "--no-check", sample.path, "-o", path])
            let descriptor = try frameHeaderDescriptor(TestSupport.bytes(of: path), at: 0)
            #expect(descriptor & 0x04 == 0, "zstd wrote a checksum; the test no longer covers that case")
            #expect(try readBack(path, expecting: sample) == 1)
        }
    }

    // MARK: - Broken streams

    @Test("A truncated stream is rejected", arguments: [1, 4, 10, 50_000])
    func truncated(cut: Int) throws {
        try withSample { sample, folder in
            try zstd(["-q", sample.path, "-o", folder + "/whole.zst"])
            let whole = try TestSupport.bytes(of: folder + "/whole.zst")
            let path = try TestSupport.write(Array(whole.dropLast(cut)), to: folder, name: "cut.zst")
            let message = try #require(failure(readingThrough: path))
            #expect(message.hasPrefix(path + ": truncated"), "\(message)")
        }
    }

    @Test("A corrupt frame checksum is rejected", arguments: [1, 2, 3, 4])
    func corruptChecksum(fromEnd: Int) throws {
        try withSample { sample, folder in
            try zstd(["-q", "--check", sample.path, "-o", folder + "/whole.zst"])
            var bytes = try TestSupport.bytes(of: folder + "/whole.zst")
            #expect(try frameHeaderDescriptor(bytes, at: 0) & 0x04 != 0, "zstd wrote no checksum")
            bytes[bytes.count - fromEnd] ^= 0x5A
            let path = try TestSupport.write(bytes, to: folder, name: "corrupt.zst")
            let message = try #require(failure(readingThrough: path))
            #expect(message.hasPrefix(path + ": corrupt zstd stream: frame checksum does not match"), "\(message)")
        }
    }

    @Test("A corrupt byte in the compressed data is rejected")
    func corruptData() throws {
        try withSample { sample, folder in
            try zstd(["-q", sample.path, "-o", folder + "/whole.zst"])
            var bytes = try TestSupport.bytes(of: folder + "/whole.zst")
            bytes[bytes.count / 2] ^= 0xFF
            let path = try TestSupport.write(bytes, to: folder, name: "corrupt.zst")
            let message = try #require(failure(readingThrough: path))
            #expect(message.hasPrefix(path + ": "), "\(message)")
        }
    }

    @Test("Garbage after the last frame is rejected", arguments: ["not a zstd frame.", "xy", "\0\0\0\0\0\0\0\0"])
    func garbageAfterLastFrame(garbage: String) throws {
        try withSample { sample, folder in
            try zstd(["-q", sample.path, "-o", folder + "/whole.zst"])
            let bytes = try TestSupport.bytes(of: folder + "/whole.zst") + Array(garbage.utf8)
            let path = try TestSupport.write(bytes, to: folder, name: "garbage.zst")
            let message = try #require(failure(readingThrough: path))
            #expect(message.hasPrefix(path + ": "), "\(message)")
            #expect(message.contains("zstd stream"), "\(message)")
        }
    }

    @Test("Random bytes after a valid zstd magic are rejected", arguments: 1...8)
    func randomBytesAfterMagic(seed: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            var generator = SeededGenerator(seed: UInt64(seed))
            let bytes = littleEndian(ZstdMagic.frame) + TestSupport.randomBytes(4096, using: &generator)
            let path = try TestSupport.write(bytes, to: folder, name: "random.zst")
            let message = try #require(failure(readingThrough: path))
            #expect(message.hasPrefix(path + ": "), "\(message)")
        }
    }

    @Test("A valid stream too short for a safetensors header is rejected")
    func streamTooShort() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let plain = try TestSupport.write(Array("abc".utf8), to: folder, name: "tiny")
            try zstd(["-q", plain, "-o", plain + ".zst"])
            let message = try #require(failure(readingThrough: plain + ".zst"))
            #expect(message == "\(plain).zst: not a checkpoint: the zstd stream holds 3 bytes, too few for a safetensors header")
        }
    }
}

// MARK: - Sample payload

/// A plain safetensors file of about 400 KB: random (incompressible) and smooth tensors.
private struct Sample {
    var path: String
    var payload: [UInt8]
    var tensors: [String: [UInt8]]
}

/// Writes the sample into a fresh folder and runs `body` with it.
private func withSample(_ body: (Sample, String) throws -> Void) throws {
    try TestSupport.withTemporaryDirectory { folder in
        var generator = SeededGenerator(seed: 2018)
        let noise = TestSupport.randomBytes(60_000 * 4, using: &generator)
        let ramp = (0..<(256 * 160)).flatMap { index in withUnsafeBytes(of: Float(index) * 0.5) { Array($0) } }
        let flag: [UInt8] = [1]
        let json = #"{"__metadata__":{"swa.epoch":"12"},"#
            + #""noise":{"dtype":"F32","shape":[60000],"data_offsets":[0,240000]},"#
            + #""ramp":{"dtype":"F32","shape":[256,160],"data_offsets":[240000,403840]},"#
            + #""flag":{"dtype":"BOOL","shape":[],"data_offsets":[403840,403841]}}"#
        let payload = TestSupport.safetensors(json: json, data: noise + ramp + flag)
        let path = try TestSupport.write(payload, to: folder, name: "sample.safetensors")
        try body(Sample(path: path, payload: payload, tensors: ["noise": noise, "ramp": ramp, "flag": flag]), folder)
    }
}

/// Reads `path` through, checks every tensor and the metadata against `sample`, and returns
/// the frame count `finish()` reports.
private func readBack(_ path: String, expecting sample: Sample) throws -> Int {
    let reader = try CheckpointReader(path: path)
    #expect(reader.isCompressed)
    #expect(reader.header.metadata == ["swa.epoch": "12"])
    #expect(reader.header.tensors.map(\.name) == ["noise", "ramp", "flag"])
    for info in reader.header.tensors {
        let bytes = try reader.readTensorBytes(info)
        #expect(bytes == sample.tensors[info.name], "tensor '\(info.name)' differs")
    }
    let frames = try reader.finish()
    #expect(reader.dataBytesRead == 403_841)
    return frames
}

// MARK: - Helpers

private func zstd(_ arguments: [String]) throws {
    let result = try TestSupport.run(TestSupport.zstd, arguments)
    #expect(result.status == 0, "zstd \(arguments): \(result.stderr)")
}

/// The error from opening `path`, reading all tensors and finishing, or `nil` if all succeeds.
private func failure(readingThrough path: String) -> String? {
    TestSupport.errorDescription { _ = try TestSupport.readAll(path) }
}

private func littleEndian(_ value: UInt32) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

private func frameMagic(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
}

/// The Frame_Header_Descriptor byte of the zstd frame at `offset` (RFC 8878 §3.1.1.1.1).
private func frameHeaderDescriptor(_ bytes: [UInt8], at offset: Int) throws -> UInt8 {
    try #require(frameMagic(bytes, at: offset) == ZstdMagic.frame, "no zstd frame at byte \(offset)")
    return bytes[offset + 4]
}

/// Whether the descriptor announces a Frame_Content_Size field (FCS flag, or Single_Segment).
private func hasContentSize(_ descriptor: UInt8) -> Bool {
    descriptor >> 6 != 0 || descriptor & 0x20 != 0
}
