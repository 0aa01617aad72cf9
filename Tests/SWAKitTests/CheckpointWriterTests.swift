import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The writer: exact round trips through the reader, the frame and seek-table layout of
/// docs/FORMAT.md checked with the stock `zstd` CLI, and files that appear whole or not at all.
@Suite("Checkpoint writer")
struct CheckpointWriterTests {
    // MARK: - Round trips

    @Test("Every dtype round-trips byte for byte", arguments: DType.allCases)
    func roundTripsDType(dtype: DType) throws {
        try TestSupport.withTemporaryDirectory { folder in
            var generator = SeededGenerator(seed: UInt64(dtype.byteSize * 31 + dtype.name.utf8.count))
            let tensors = [[], [0], [7], [3, 5, 2]].enumerated().map { index, shape in
                tensor("t\(index).\(dtype.name)", dtype, shape, using: &generator)
            }
            let path = folder + "/out.safetensors.zst"
            try CheckpointWriter.write(tensors, metadata: ["swa.epoch": "4"], to: path, overwrite: false)
            let (header, read) = try TestSupport.readAll(path)
            #expect(header.tensors.map(\.name) == tensors.map(\.spec.name))
            for (spec, bytes) in tensors {
                let info = try #require(read[spec.name]?.0)
                #expect(info.dtype == dtype)
                #expect(info.shape == spec.shape)
                #expect(read[spec.name]?.1 == bytes, "tensor '\(spec.name)' differs")
            }
            #expect(header.metadata == ["swa.epoch": "4"])
        }
    }

    @Test("All dtypes in one file, with metadata that needs escaping, round-trip exactly")
    func roundTripsEverythingTogether() throws {
        try TestSupport.withTemporaryDirectory { folder in
            #expect(DType.allCases.count == 10)
            var generator = SeededGenerator(seed: 99)
            let tensors = DType.allCases.map { tensor("layer.\($0.name.lowercased())", $0, [4, 3], using: &generator) }
            let metadata = [
                "note": "say \"hi\"\nsecond line\twith tab, back\\slash, ключ, 平均, 🎉, bell \u{07}",
                "swa.graph": #"{"version":1,"nodes":[]}"#,
                "ключ": "значение",
                "empty": "",
            ]
            let path = folder + "/all.safetensors.zst"
            try CheckpointWriter.write(tensors, metadata: metadata, to: path, overwrite: false)
            let (header, read) = try TestSupport.readAll(path)
            #expect(header.metadata == metadata)
            #expect(header.tensors.map(\.name) == tensors.map(\.spec.name))
            for (spec, bytes) in tensors {
                #expect(read[spec.name]?.1 == bytes, "tensor '\(spec.name)' differs")
            }
        }
    }

    @Test("write() rejects bytes that do not match a tensor's shape, naming it, and writes nothing")
    func byteCountMismatch() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/out.zst"
            let spec = TensorSpec(name: "fc.bias", dtype: .f32, shape: [3])
            let message = try #require(TestSupport.errorDescription {
                try CheckpointWriter.write([(spec, [0, 0, 0, 0])], metadata: [:], to: path, overwrite: false)
            })
            #expect(message == "\(path): tensor 'fc.bias': 4 bytes given, F32 [3] needs 12")
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    // MARK: - Frames and seek table

    @Test("Small frames: seek table adds up, zstd -d gives the safetensors payload, zstd -t passes")
    func multiFrameLayout() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var generator = SeededGenerator(seed: 7)
            let frameByteCount = 1000
            // A header of several frames too: the long metadata value pushes it past 2 KB.
            let metadata = ["swa.epoch": "20", "swa.long": String(repeating: "average weights, wider optima. ", count: 80)]
            let tensors = [
                tensor("conv.weight", .f32, [16, 3, 3, 3], using: &generator),
                tensor("bn.num_batches_tracked", .i64, [], using: &generator),
                tensor("fc.weight", .bf16, [10, 250], using: &generator),
                tensor("fc.empty", .f16, [0, 4], using: &generator),
                tensor("fc.bias", .f64, [10], using: &generator),
            ]
            let data = tensors.flatMap(\.bytes)
            let path = folder + "/multi.safetensors.zst"
            let writer = try CheckpointWriter(destination: path, tensors: tensors.map(\.spec), overwrite: false, frameByteCount: frameByteCount)
            // Odd-sized pieces, so frame boundaries fall inside tensors.
            for start in stride(from: 0, to: data.count, by: 777) {
                try data[start..<min(data.count, start + 777)].withUnsafeBytes { try writer.writeData($0) }
            }
            let (fileByteCount, frameCount) = try writer.finish(metadata: metadata)

            let file = try TestSupport.bytes(of: path)
            #expect(fileByteCount == file.count)

            // The payload as stock zstd decodes it: 8-byte length, space-padded JSON, data.
            let decoded = try TestSupport.run(TestSupport.zstd, ["-d", "-q", "-c", path])
            #expect(decoded.status == 0, "\(decoded.stderr)")
            let payload = decoded.stdout
            let jsonLength = Int(payload[..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            #expect(jsonLength % 8 == 0, "the data section must start 8-byte aligned")
            #expect(payload.count == 8 + jsonLength + data.count)
            #expect(Array(payload[(8 + jsonLength)...]) == data)
            let json = Array(payload[8..<(8 + jsonLength)])
            #expect(try JSONValue.parse(json) == expectedHeader(tensors, metadata: metadata))
            let trimmed = json.lastIndex { $0 != UInt8(ascii: " ") }.map { json[...$0] } ?? []
            #expect(trimmed.last == UInt8(ascii: "}"), "padding must be trailing spaces only")
            #expect(payload == SafetensorsHeader(laying: tensors.map(\.spec), metadata: metadata).encodedPrefix() + data)

            #expect(try TestSupport.run(TestSupport.zstd, ["-t", "-q", path]).status == 0)

            // Header and data are framed separately, each in pieces of at most frameByteCount.
            let headerFrames = (8 + jsonLength + frameByteCount - 1) / frameByteCount
            let dataFrames = (data.count + frameByteCount - 1) / frameByteCount
            let table = try #require(try SeekTable.read(from: InputFile(path: path)))
            #expect(table.entries.count == headerFrames + dataFrames)
            #expect(table.entries.allSatisfy { $0.decompressedByteCount <= frameByteCount && $0.decompressedByteCount > 0 })
            #expect(table.entries.reduce(0) { $0 + $1.decompressedByteCount } == payload.count)
            let tableFrameBytes = 8 + table.entries.count * 8 + 9
            #expect(table.entries.reduce(0) { $0 + $1.compressedByteCount } + tableFrameBytes == file.count)
            #expect(frameCount == table.entries.count + 1)
            try checkFrames(file, table: table)

            let inspection = try CheckpointInspection.inspect(path: path)
            #expect(inspection.container == "zstd")
            #expect(inspection.seekTable)
            #expect(inspection.seekTableFrames == table.entries.count)
            #expect(inspection.frames == table.entries.count + 1)
            #expect(inspection.payloadBytes == payload.count)
            #expect(inspection.headerBytes == 8 + jsonLength)
            #expect(inspection.fileBytes == file.count)
            #expect(inspection.metadata == metadata)
            #expect(inspection.elements == tensors.reduce(0) { $0 + $1.spec.shape.reduce(1, *) })
        }
    }

    @Test("The header is padded with trailing spaces to a multiple of 8 bytes, whatever its length")
    func headerPadding() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var generator = SeededGenerator(seed: 5)
            let tensors = [tensor("w", .f32, [3], using: &generator)]
            var paddings = Set<Int>()
            for extra in 0..<8 {
                let path = folder + "/pad\(extra).zst"
                let metadata = ["k": String(repeating: "x", count: extra)]
                try CheckpointWriter.write(tensors, metadata: metadata, to: path, overwrite: false)
                let payload = try TestSupport.run(TestSupport.zstd, ["-d", "-q", "-c", path]).stdout
                let jsonLength = Int(payload[..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                let json = Array(payload[8..<(8 + jsonLength)])
                let end = try #require(json.lastIndex(of: UInt8(ascii: "}")))
                #expect(jsonLength % 8 == 0, "metadata of \(extra) bytes: header of \(jsonLength) bytes")
                #expect(json[(end + 1)...].allSatisfy { $0 == UInt8(ascii: " ") })
                #expect(json.count - end - 1 < 8, "no more padding than needed")
                #expect(try JSONValue.parse(json) == expectedHeader(tensors, metadata: metadata))
                #expect(Array(payload[(8 + jsonLength)...]) == tensors[0].bytes)
                paddings.insert(json.count - end - 1)
            }
            #expect(paddings.count == 8, "eight lengths in a row need eight different paddings")
        }
    }

    @Test("The default frame size writes a small checkpoint as one header and one data frame")
    func defaultFrames() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var generator = SeededGenerator(seed: 8)
            let path = folder + "/small.zst"
            try CheckpointWriter.write([tensor("w", .f32, [100], using: &generator)], metadata: [:], to: path, overwrite: false)
            let table = try #require(try SeekTable.read(from: InputFile(path: path)))
            #expect(table.entries.count == 2)
            try checkFrames(TestSupport.bytes(of: path), table: table)
        }
    }

    // MARK: - Atomic output

    @Test("An existing file is refused without overwrite, before anything is written")
    func refusesExistingFile() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let old = Array("precious checkpoint".utf8)
            let path = try TestSupport.write(old, to: folder, name: "swa.bin")
            var generator = SeededGenerator(seed: 1)
            let message = try #require(TestSupport.errorDescription {
                try CheckpointWriter.write([tensor("w", .f32, [4], using: &generator)], metadata: [:], to: path, overwrite: false)
            })
            #expect(message == "\(path): already exists; pass --force to replace it")
            #expect(try TestSupport.bytes(of: path) == old)
            #expect(TestSupport.contents(of: folder) == ["swa.bin"])
            #expect(throws: SWAError.self) {
                try CheckpointWriter(destination: path, tensors: [], overwrite: false)
            }
        }
    }

    @Test("overwrite: true replaces an existing file")
    func overwriteReplaces() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Array("old".utf8), to: folder, name: "swa.bin")
            var generator = SeededGenerator(seed: 2)
            let new = tensor("w", .f32, [4], using: &generator)
            try CheckpointWriter.write([new], metadata: ["swa.n_averaged": "5"], to: path, overwrite: true)
            let (header, read) = try TestSupport.readAll(path)
            #expect(read["w"]?.1 == new.bytes)
            #expect(header.metadata == ["swa.n_averaged": "5"])
            #expect(TestSupport.contents(of: folder) == ["swa.bin"])
        }
    }

    @Test("discard() midway leaves no file and no temporary file, and keeps an old file")
    func discardMidway() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let old = Array("old".utf8)
            let kept = try TestSupport.write(old, to: folder, name: "kept.bin")
            for (destination, overwrite) in [(folder + "/new.bin", false), (kept, true)] {
                let writer = try CheckpointWriter(destination: destination, tensors: [TensorSpec(name: "w", dtype: .u8, shape: [5000])],
                                                  overwrite: overwrite, frameByteCount: 1000)
                try Array(repeating: UInt8(3), count: 2500).withUnsafeBytes { try writer.writeData($0) }
                // Unnamed (O_TMPFILE) while it is written; else a hidden temporary file beside it.
                #expect(TestSupport.contents(of: folder).count == (AtomicOutputFileTests.unnamedFilesWork ? 1 : 2))
                writer.discard()
                #expect(TestSupport.contents(of: folder) == ["kept.bin"])
            }
            #expect(try TestSupport.bytes(of: kept) == old)
        }
    }

    @Test("A writer released without finish leaves no file and no temporary file")
    func releasedWithoutFinish() throws {
        try TestSupport.withTemporaryDirectory { folder in
            func abandon() throws {
                let writer = try CheckpointWriter(destination: folder + "/out.zst", tensors: [TensorSpec(name: "w", dtype: .u8, shape: [5000])],
                                                  overwrite: false, frameByteCount: 1000)
                try Array(repeating: UInt8(3), count: 2500).withUnsafeBytes { try writer.writeData($0) }
            }
            try abandon()
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    @Test("finish() with missing tensor data fails and leaves nothing behind")
    func finishWithMissingData() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/out.zst"
            let message = try #require(TestSupport.errorDescription {
                let writer = try CheckpointWriter(destination: path, tensors: [TensorSpec(name: "w", dtype: .f32, shape: [10])], overwrite: false)
                try Array(repeating: UInt8(0), count: 12).withUnsafeBytes { try writer.writeData($0) }
                try writer.finish(metadata: [:])
            })
            #expect(message == "\(path): internal: 12 of 40 bytes of tensor data written")
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    @Test("Writing into a folder that does not exist is a clear error naming the path")
    func missingFolder() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/no/such/folder/out.zst"
            var generator = SeededGenerator(seed: 3)
            let message = try #require(TestSupport.errorDescription {
                try CheckpointWriter.write([tensor("w", .f32, [4], using: &generator)], metadata: [:], to: path, overwrite: false)
            })
            #expect(message == path + ": the output folder '\(folder)/no/such/folder' does not exist; create it first (mkdir -p \(folder)/no/such/folder)")
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    @Test("A destination that is a folder is refused, even with overwrite")
    func destinationIsFolder() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let message = try #require(TestSupport.errorDescription {
                try CheckpointWriter.write([], metadata: [:], to: folder, overwrite: true)
            })
            #expect(message == "\(folder): is a directory; give an output file name")
        }
    }
}

// MARK: - Helpers

/// A tensor with random bytes (0 or 1 for BOOL).
private func tensor(_ name: String, _ dtype: DType, _ shape: [Int], using generator: inout SeededGenerator) -> (spec: TensorSpec, bytes: [UInt8]) {
    let spec = TensorSpec(name: name, dtype: dtype, shape: shape)
    var bytes = TestSupport.randomBytes(spec.byteCount, using: &generator)
    if dtype == .bool { bytes = bytes.map { $0 & 1 } }
    return (spec, bytes)
}

/// The header JSON the writer should produce: metadata first (keys sorted), tensors in order.
private func expectedHeader(_ tensors: [(spec: TensorSpec, bytes: [UInt8])], metadata: [String: String]) -> JSONValue {
    var members: [(String, JSONValue)] = [("__metadata__", .object(metadata.keys.sorted().map { ($0, .string(metadata[$0]!)) }))]
    var offset = 0
    for (spec, bytes) in tensors {
        members.append((spec.name, .object([
            ("dtype", .string(spec.dtype.name)),
            ("shape", .array(spec.shape.map { .number(String($0)) })),
            ("data_offsets", .array([.number(String(offset)), .number(String(offset + bytes.count))])),
        ])))
        offset += bytes.count
    }
    return .object(members)
}

/// Walks the frames the seek table lists: each is a zstd frame with its content size and checksum,
/// and the seek table frame follows the last one.
private func checkFrames(_ file: [UInt8], table: SeekTable) throws {
    var offset = 0
    for (index, entry) in table.entries.enumerated() {
        #expect(u32(file, offset) == ZstdMagic.frame, "frame \(index) at byte \(offset) has no zstd magic")
        let descriptor = file[offset + 4]
        #expect(descriptor & 0x04 != 0, "frame \(index) has no checksum")
        #expect(descriptor >> 6 != 0 || descriptor & 0x20 != 0, "frame \(index) has no content size")
        offset += entry.compressedByteCount
    }
    #expect(u32(file, offset) == ZstdMagic.seekTableFrame)
    #expect(u32(file, file.count - 4) == ZstdMagic.seekableFooter)
    #expect(file[file.count - 5] == 0, "seek table descriptor: no per-frame checksums")
    #expect(Int(u32(file, file.count - 9)) == table.entries.count)
}

private func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
}
