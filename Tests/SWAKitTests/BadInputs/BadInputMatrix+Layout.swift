import Foundation
@testable import SWAFormats

// MARK: - The safetensors layout, plain and inside zstd

extension BadInputMatrix {
    /// One tensor's header entry as text, so that any field can lie.
    struct Entry {
        var name: String
        var dtype: String
        var shape: String
        var offsets: String
    }

    /// The base header's entries.
    var entries: [Entry] {
        base.header.tensors.map {
            Entry(name: $0.name, dtype: $0.dtype.name, shape: "[" + $0.shape.map(String.init).joined(separator: ",") + "]",
                  offsets: "[\($0.dataOffsets.lowerBound),\($0.dataOffsets.upperBound)]")
        }
    }

    /// A header's JSON from `entries` and the base metadata.
    func headerJSON(_ entries: [Entry]) -> String {
        let metadata = base.header.metadata.keys.sorted().map { key in
            "\(JSONValue.string(key).serialized):\(JSONValue.string(base.header.metadata[key]!).serialized)"
        }.joined(separator: ",")
        let tensors = entries.map { "\"\($0.name)\":{\"dtype\":\"\($0.dtype)\",\"shape\":\($0.shape),\"data_offsets\":\($0.offsets)}" }
        return "{\"__metadata__\":{\(metadata)}," + tensors.joined(separator: ",") + "}"
    }

    /// The base data section.
    var data: [UInt8] { Array(base.payload[(8 + base.header.jsonByteCount)...]) }

    /// Damaged safetensors payloads, each written as plain safetensors and as a zstd stream
    /// (one checksummed frame: the container is sound, the payload is not).
    func safetensorsLayoutCases() throws -> [Case] {
        let tensor = 4  // block.bn1.bias, F32 [16], 64 bytes: an ordinary float tensor
        func with(_ change: (inout [Entry]) -> Void) -> String {
            var copy = entries
            change(&copy)
            return headerJSON(copy)
        }
        let good = headerJSON(entries)
        let jsonLength = UInt64(Self.payload(json: good, data: []).count - 8)
        let lastEnd = base.header.dataByteCount
        var payloads: [(String, [UInt8])] = [
            ("header length 0", Self.payload(json: good, data: data, declaredLength: 0)),
            ("header length past the end", Self.payload(json: good, data: data, declaredLength: jsonLength + UInt64(data.count) + 1000)),
            ("header length 2^63", Self.payload(json: good, data: data, declaredLength: 1 << 63)),
            ("header length 2^64 - 1", Self.payload(json: good, data: data, declaredLength: .max)),
            ("header not JSON", Self.payload(json: "{\"a\": [1, 2" + String(repeating: " ", count: 40), data: data)),
            ("header bad UTF-8", Self.payload(json: good, data: data).enumerated().map { $0.offset == 20 ? 0xFF : $0.element }),
            ("duplicate tensor name", Self.payload(json: with { $0[tensor + 1].name = $0[tensor].name }, data: data)),
            ("unknown dtype", Self.payload(json: with { $0[tensor].dtype = "F8_E4M3" }, data: data)),
            ("overlapping offsets", Self.payload(json: with {
                $0[tensor + 1].offsets = "[\(base.header.tensors[tensor].dataOffsets.lowerBound + 32),\(base.header.tensors[tensor + 1].dataOffsets.upperBound)]"
            }, data: data)),
            ("offsets out of range", Self.payload(json: with {
                $0[$0.count - 1].offsets = "[\(base.header.tensors.last!.dataOffsets.lowerBound),\(lastEnd + 4096)]"
            }, data: data)),
            ("offset past 2^63", Self.payload(json: with { $0[tensor].offsets = "[0,9223372036854775808]" }, data: data)),
            ("negative offset", Self.payload(json: with { $0[tensor].offsets = "[-64,0]" }, data: data)),
            ("hole between tensors", Self.payload(json: with {
                let range = base.header.tensors[tensor].dataOffsets
                $0[tensor].offsets = "[\(range.lowerBound),\(range.upperBound - 4)]"
            }, data: data)),
            ("huge shape", Self.payload(json: with { $0[tensor].shape = "[4611686018427387904,4]" }, data: data)),
            ("shape product overflows", Self.payload(json: with { $0[tensor].shape = "[4294967296,4294967296,16]" }, data: data)),
            ("negative shape", Self.payload(json: with { $0[tensor].shape = "[-16]" }, data: data)),
            ("shape x dtype size is not the byte length", Self.payload(json: with { $0[tensor].shape = "[15]" }, data: data)),
            ("dtype size x shape is not the byte length", Self.payload(json: with { $0[tensor].dtype = "F64" }, data: data)),
            ("cut inside the header", Array(Self.payload(json: good, data: data)[..<(8 + Int(jsonLength) / 2)])),
            ("cut at a tensor boundary", Array(Self.payload(json: good, data: data)[..<(8 + Int(jsonLength) + base.header.tensors[tensor].dataOffsets.upperBound)])),
            ("cut inside a tensor", Array(Self.payload(json: good, data: data).dropLast(10))),
            ("bytes after the last tensor", Self.payload(json: good, data: data + [0, 0, 0, 0])),
            ("seven bytes", Array(base.payload[..<7])),
        ]
        // A bit flip in the plain header's length field and in its JSON syntax (plain files have
        // no checksum: a flip that keeps the JSON valid, in a name or a digit of the data, is
        // the data the file now holds, and no reader can tell).
        payloads.append(("bit flip in the header length", Self.flipping(base.payload, at: 3, bit: 2)))
        payloads.append(("bit flip in the header's opening brace", Self.flipping(base.payload, at: 8, bit: 2)))
        var cases: [Case] = []
        for (index, (damage, payload)) in payloads.enumerated() {
            let slug = "layout-\(index)"
            let plain = try write(payload, case: slug, name: "ckpt-010.safetensors")
            let zstd = try write(try BaseInputs.compressed(payload), case: slug, name: "ckpt-010.safetensors.zst")
            let quick = index == 2
            cases.append(Case("plain safetensors", damage, culprits: [plain], runs: checkpointRuns(plain), quick: quick))
            cases.append(Case("zstd checkpoint (payload)", damage, culprits: [zstd], runs: checkpointRuns(zstd)))
        }
        cases.append(Case("plain safetensors", "none (control)", culprits: [base.plain],
                          runs: checkpointRuns(base.plain, expectation: .succeeds(mentioning: nil))))
        return cases
    }
}
