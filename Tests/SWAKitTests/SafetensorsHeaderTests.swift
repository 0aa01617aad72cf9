import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Plain safetensors files written byte by byte and opened with `CheckpointReader`: what the
/// official format allows reads back exactly; everything else is one error naming the file
/// and, where one is to blame, the tensor.
@Suite("Safetensors header")
struct SafetensorsHeaderTests {
    // MARK: - Accepted files

    @Test("Tensors read back byte for byte, in payload order, whatever the JSON order")
    func jsonOrderDiffersFromPayloadOrder() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let json = "{" + entry("b", "I16", [3], 8, 14) + "," + entry("a", "F32", [2], 0, 8) + ","
                + entry("c", "U8", [2], 14, 16) + "}"
            let data: [UInt8] = Array(0..<16)
            let path = try TestSupport.write(TestSupport.safetensors(json: json, data: data), to: folder, name: "m.safetensors")
            let (header, tensors) = try TestSupport.readAll(path)
            #expect(header.tensors.map(\.name) == ["a", "b", "c"])
            #expect(header.tensors.map(\.dataOffsets) == [0..<8, 8..<14, 14..<16])
            #expect(header.tensors.map(\.dtype) == [.f32, .i16, .u8])
            #expect(header.tensor(named: "b")?.shape == [3])
            #expect(tensors["a"]?.1 == Array(0..<8))
            #expect(tensors["b"]?.1 == Array(8..<14))
            #expect(tensors["c"]?.1 == [14, 15])
            #expect(header.dataByteCount == 16)
            #expect(header.jsonByteCount == json.utf8.count)
            #expect(header.payloadByteCount == 8 + json.utf8.count + 16)
        }
    }

    @Test("An empty tensor (a zero dimension) and a rank-0 scalar are valid")
    func emptyTensorAndScalar() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let json = "{" + entry("scalar", "F64", [], 0, 8) + "," + entry("empty", "F32", [0, 3], 8, 8) + ","
                + entry("none", "BOOL", [4, 0], 0, 0) + "}"
            let data = withUnsafeBytes(of: 2.5) { Array($0) }
            let path = try TestSupport.write(TestSupport.safetensors(json: json, data: data), to: folder, name: "m.safetensors")
            let (header, tensors) = try TestSupport.readAll(path)
            let scalar = try #require(header.tensor(named: "scalar"))
            #expect(scalar.shape == [])
            #expect(scalar.elementCount == 1)
            #expect(scalar.shapeDescription == "[]")
            #expect(TestSupport.doubles(tensors["scalar"]!.1, dtype: .f64) == [2.5])
            #expect(header.tensor(named: "empty")?.elementCount == 0)
            #expect(header.tensor(named: "empty")?.shapeDescription == "[0, 3]")
            #expect(tensors["empty"]?.1 == [])
            #expect(tensors["none"]?.1 == [])
            #expect(header.dataByteCount == 8)
        }
    }

    @Test("Metadata reads back as strings; __metadata__ may be null or absent")
    func metadata() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let tensor = entry("w", "U8", [1], 0, 1)
            let withMetadata = try TestSupport.write(TestSupport.safetensors(
                json: #"{"__metadata__":{"swa.epoch":"3","note":"a \"b\"\nc ключ"},"# + tensor + "}", data: [7]),
                to: folder, name: "with.safetensors")
            #expect(try TestSupport.readAll(withMetadata).header.metadata == ["swa.epoch": "3", "note": "a \"b\"\nc ключ"])

            let null = try TestSupport.write(TestSupport.safetensors(json: #"{"__metadata__":null,"# + tensor + "}", data: [7]),
                                             to: folder, name: "null.safetensors")
            let (header, tensors) = try TestSupport.readAll(null)
            #expect(header.metadata.isEmpty)
            #expect(header.tensors.map(\.name) == ["w"])
            #expect(tensors["w"]?.1 == [7])

            let absent = try TestSupport.write(TestSupport.safetensors(json: "{" + tensor + "}", data: [7]), to: folder, name: "absent.safetensors")
            #expect(try TestSupport.readAll(absent).header.metadata.isEmpty)
        }
    }

    @Test("A header padded with whitespace is valid")
    func whitespacePadding() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var json = "{\n  " + entry("w", "I32", [2], 0, 8) + "\n}"
            json += String(repeating: " ", count: (8 - json.utf8.count % 8) % 8 + 8)
            #expect(json.utf8.count % 8 == 0)
            let data: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0]
            let path = try TestSupport.write(TestSupport.safetensors(json: json, data: data), to: folder, name: "m.safetensors")
            let (header, tensors) = try TestSupport.readAll(path)
            #expect(header.jsonByteCount == json.utf8.count)
            #expect(tensors["w"]?.1 == data)
        }
    }

    @Test("A header without tensors is valid")
    func noTensors() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(TestSupport.safetensors(json: #"{"__metadata__":{"k":"v"}}"#), to: folder, name: "m.safetensors")
            let (header, tensors) = try TestSupport.readAll(path)
            #expect(header.tensors.isEmpty)
            #expect(tensors.isEmpty)
            #expect(header.dataByteCount == 0)
            #expect(header.metadata == ["k": "v"])
        }
    }

    // MARK: - The length field

    @Test("An absurd header length is rejected before anything is read")
    func absurdLength() throws {
        try TestSupport.withTemporaryDirectory { folder in
            for length: UInt64 in [1 << 40, UInt64.max, 100_000_001, 0, 1] {
                let path = try TestSupport.write(TestSupport.safetensors(json: "{}", declaredLength: length), to: folder, name: "m.safetensors")
                let message = try #require(failure(reading: path))
                #expect(message.hasPrefix(path + ": "), "\(message)")
                #expect(message.contains("header length \(length) is absurd"), "\(message)")
            }
        }
    }

    @Test("A Git LFS pointer is not mistaken for a checkpoint")
    func gitLFSPointer() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let pointer = """
                version https://git-lfs.github.com/spec/v1
                oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
                size 88421

                """
            let path = try TestSupport.write(Array(pointer.utf8), to: folder, name: "ckpt-001.safetensors")
            let message = try #require(failure(reading: path))
            #expect(message.hasPrefix(path + ": not a checkpoint: safetensors header length"), "\(message)")
            #expect(message.contains("Git LFS"), "\(message)")
        }
    }

    @Test("A header length beyond the file size is rejected")
    func lengthBeyondFile() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(TestSupport.safetensors(json: "{}", declaredLength: 1000), to: folder, name: "m.safetensors")
            let message = try #require(failure(reading: path))
            #expect(message == "\(path): truncated: safetensors header length 1000 exceeds the file size 10")
        }
    }

    @Test("A file shorter than the length field is rejected", arguments: [0, 3, 7])
    func tooShort(byteCount: Int) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Array(repeating: 0x7B, count: byteCount), to: folder, name: "m.safetensors")
            let message = try #require(failure(reading: path))
            #expect(message.hasPrefix(path + ": not a checkpoint: \(byteCount) bytes"), "\(message)")
        }
    }

    // MARK: - The JSON text

    @Test("A header that is not UTF-8 is rejected")
    func badUTF8() throws {
        let json = Array(#"{"w"#.utf8) + [0xFF, 0xFE] + Array(#"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#.utf8)
        let message = try rejection(json: json, data: [0])
        #expect(message.hasSuffix("safetensors header is not valid UTF-8"), "\(message)")
    }

    @Test("A header that is not JSON is rejected, with the parser's reason")
    func badJSON() throws {
        let message = try rejection(json: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},}"#, data: [0])
        #expect(message.contains("safetensors header is not valid JSON: expected a string key at byte"), "\(message)")
    }

    @Test("A header that is JSON but not an object is rejected")
    func notAnObject() throws {
        let message = try rejection(json: #"[{"dtype":"U8","shape":[1],"data_offsets":[0,1]}]"#, data: [0])
        #expect(message.hasSuffix("safetensors header is not a JSON object"), "\(message)")
    }

    @Test("Duplicate tensor names are rejected, naming the tensor")
    func duplicateNames() throws {
        let json = "{" + entry("layer.weight", "U8", [1], 0, 1) + "," + entry("layer.weight", "U8", [1], 1, 2) + "}"
        let message = try rejection(json: json, data: [0, 1])
        #expect(message.contains("duplicate key 'layer.weight'"), "\(message)")
    }

    // MARK: - Tensor entries

    @Test("An unknown dtype is rejected, naming the tensor and the dtype")
    func unknownDType() throws {
        let message = try rejection(json: "{" + entry("fc.weight", "F8_E4M3", [2], 0, 2) + "}", data: [0, 0])
        #expect(message.contains("tensor 'fc.weight': unsupported dtype 'F8_E4M3'"), "\(message)")
        #expect(message.contains("F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL"), "\(message)")
    }

    @Test("A negative or non-integer dimension is rejected, naming the tensor",
          arguments: ["[-1]", "[2.5]", "[2, 1e1]", #"["3"]"#, "[null]"])
    func badShape(shape: String) throws {
        let json = #"{"conv.weight":{"dtype":"U8","shape":\#(shape),"data_offsets":[0,4]}}"#
        let message = try rejection(json: json, data: [0, 0, 0, 0])
        #expect(message.contains("tensor 'conv.weight': shape must hold non-negative integers"), "\(message)")
    }

    @Test("A shape whose element count overflows is rejected, naming the tensor")
    func overflowingShape() throws {
        let message = try rejection(json: #"{"huge":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))
        #expect(message.contains("tensor 'huge': shape [4294967296,4294967296,4] overflows"), "\(message)")
    }

    @Test("A byte count that does not match shape × dtype is rejected, naming the tensor")
    func byteCountMismatch() throws {
        let message = try rejection(json: "{" + entry("bn.running_var", "F32", [3], 0, 8) + "}", data: Array(repeating: 0, count: 8))
        #expect(message.contains("tensor 'bn.running_var': F32 [3] needs 12 bytes, data_offsets give 8"), "\(message)")
    }

    @Test("Offsets that end before they begin are rejected, naming the tensor")
    func reversedOffsets() throws {
        let message = try rejection(json: #"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0])
        #expect(message.contains("tensor 'w': data_offsets [4, 0] end before they begin"), "\(message)")
    }

    @Test("Malformed data_offsets are rejected, naming the tensor",
          arguments: ["[0]", "[0,1,2]", "[-1,0]", "[0,18446744073709551615]", #"["0","1"]"#])
    func malformedOffsets(offsets: String) throws {
        let message = try rejection(json: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":\#(offsets)}}"#, data: [0])
        #expect(message.contains("tensor 'w': data_offsets must be two non-negative integers"), "\(message)")
    }

    @Test("A hole between tensors is rejected, naming both")
    func holeBetweenTensors() throws {
        let json = "{" + entry("a", "F32", [2], 0, 8) + "," + entry("b", "F32", [2], 12, 20) + "}"
        let message = try rejection(json: json, data: Array(repeating: 0, count: 20))
        #expect(message.contains("tensor 'b': hole of 4 bytes after tensor 'a'"), "\(message)")
    }

    @Test("A hole before the first tensor is rejected")
    func holeAtStart() throws {
        let message = try rejection(json: "{" + entry("a", "F32", [2], 8, 16) + "}", data: Array(repeating: 0, count: 16))
        #expect(message.contains("tensor 'a': hole of 8 bytes at the start of the data"), "\(message)")
    }

    @Test("Overlapping tensors are rejected, naming both")
    func overlappingTensors() throws {
        let json = "{" + entry("a", "F32", [2], 0, 8) + "," + entry("b", "F32", [2], 4, 12) + "}"
        let message = try rejection(json: json, data: Array(repeating: 0, count: 12))
        #expect(message.contains("tensor 'b': data_offsets overlap tensor 'a'"), "\(message)")
    }

    @Test("Unknown fields in a tensor entry are rejected, naming the tensor")
    func unknownField() throws {
        let message = try rejection(json: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"stride":[1]}}"#, data: [0])
        #expect(message.contains("tensor 'w': unknown header field 'stride'"), "\(message)")
    }

    @Test("__metadata__ with a non-string value is rejected, naming the key")
    func nonStringMetadata() throws {
        let tensor = entry("w", "U8", [1], 0, 1)
        let number = try rejection(json: #"{"__metadata__":{"swa.epoch":3},"# + tensor + "}", data: [0])
        #expect(number.hasSuffix("__metadata__ value of 'swa.epoch' is not a string"), "\(number)")
        let nested = try rejection(json: #"{"__metadata__":{"ok":"x","graph":{"nodes":[]}},"# + tensor + "}", data: [0])
        #expect(nested.hasSuffix("__metadata__ value of 'graph' is not a string"), "\(nested)")
        let notObject = try rejection(json: #"{"__metadata__":"text","# + tensor + "}", data: [0])
        #expect(notObject.hasSuffix("__metadata__ must be an object of strings"), "\(notObject)")
    }

    // MARK: - Data section coverage

    @Test("Bytes after the last tensor are rejected")
    func extraBytes() throws {
        let message = try rejection(json: "{" + entry("w", "F32", [2], 0, 8) + "}", data: Array(repeating: 0, count: 11))
        #expect(message.hasSuffix("3 bytes after the last tensor are not described by the header"), "\(message)")
    }

    @Test("Missing data bytes are rejected")
    func missingBytes() throws {
        let json = "{" + entry("a", "F32", [2], 0, 8) + "," + entry("b", "F32", [2], 8, 16) + "}"
        let message = try rejection(json: json, data: Array(repeating: 0, count: 10))
        #expect(message.hasSuffix("truncated: the header describes 16 bytes of tensor data, the file holds 10"), "\(message)")
    }

    /// In a zstd stream the data size is unknown until the stream ends, so the reader finds
    /// the missing bytes while reading and names the tensor they belong to.
    @Test("Missing data bytes in a compressed payload are found by readData, naming the tensor")
    func missingBytesCompressed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let json = "{" + entry("a", "F32", [2], 0, 8) + "," + entry("b", "F32", [2], 8, 16) + "}"
            let plain = try TestSupport.write(TestSupport.safetensors(json: json, data: Array(repeating: 1, count: 10)), to: folder, name: "m.safetensors")
            let compressed = folder + "/m.safetensors.zst"
            #expect(try TestSupport.run(TestSupport.zstd, ["-q", plain, "-o", compressed]).status == 0)
            let reader = try CheckpointReader(path: compressed)
            #expect(try reader.readTensorBytes(reader.header.tensors[0]) == Array(repeating: 1, count: 8))
            let message = try #require(TestSupport.errorDescription { _ = try reader.readTensorBytes(reader.header.tensors[1]) })
            #expect(message == "\(compressed): truncated: the data ends at byte 10 of 16, inside tensor 'b'")
        }
    }

    @Test("Extra bytes in a compressed payload are found by finish()")
    func extraBytesCompressed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let json = "{" + entry("w", "F32", [2], 0, 8) + "}"
            let plain = try TestSupport.write(TestSupport.safetensors(json: json, data: Array(repeating: 1, count: 9)), to: folder, name: "m.safetensors")
            let compressed = folder + "/m.safetensors.zst"
            #expect(try TestSupport.run(TestSupport.zstd, ["-q", plain, "-o", compressed]).status == 0)
            let reader = try CheckpointReader(path: compressed)
            #expect(try reader.readTensorBytes(reader.header.tensors[0]) == Array(repeating: 1, count: 8))
            let message = try #require(TestSupport.errorDescription { try reader.finish() })
            #expect(message == "\(compressed): bytes after the last tensor are not described by the header")
        }
    }
}

// MARK: - Helpers

/// One tensor's header entry, e.g. `"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`.
private func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
    #""\#(name)":{"dtype":"\#(dtype)","shape":[\#(shape.map(String.init).joined(separator: ","))],"data_offsets":[\#(begin),\#(end)]}"#
}

/// The error from opening `path`, reading every tensor and finishing, or `nil` if all succeeds.
private func failure(reading path: String) -> String? {
    TestSupport.errorDescription { _ = try TestSupport.readAll(path) }
}

/// Writes a plain file with `json` and `data`, expects reading it to fail, and returns the
/// message after checking that it starts with the file's path.
private func rejection(json: [UInt8], data: [UInt8]) throws -> String {
    try TestSupport.withTemporaryDirectory { folder in
        let path = try TestSupport.write(TestSupport.safetensors(json: json, data: data), to: folder, name: "model.safetensors")
        let message = try #require(failure(reading: path), "accepted \(String(decoding: json, as: UTF8.self))")
        #expect(message.hasPrefix(path + ": "), "\(message)")
        return message
    }
}

private func rejection(json: String, data: [UInt8]) throws -> String {
    try rejection(json: Array(json.utf8), data: data)
}
