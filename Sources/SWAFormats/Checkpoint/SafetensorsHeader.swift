/// The parsed and validated header of a safetensors payload.
///
/// Layout (huggingface/safetensors): 8-byte little-endian length `N`, `N` bytes of UTF-8 JSON
/// mapping tensor names to `{dtype, shape, data_offsets}` plus an optional `__metadata__`
/// string map, then the data section, covered exactly by the tensors' byte ranges.
public struct SafetensorsHeader: Sendable {
    /// Tensors in payload order (by data offset).
    public var tensors: [TensorInfo]
    /// The `__metadata__` map (string to string).
    public var metadata: [String: String]
    /// `N`: bytes of JSON (with its padding) after the 8-byte length.
    public var jsonByteCount: Int

    /// Largest header accepted, as in the safetensors reference reader (`MAX_HEADER_SIZE`).
    public static let maximumJSONByteCount = 100_000_000

    /// Bytes of the data section: the end of the last tensor.
    public var dataByteCount: Int { tensors.last?.dataOffsets.upperBound ?? 0 }

    /// Bytes of the whole safetensors payload: length field, JSON and data.
    public var payloadByteCount: Int { 8 + jsonByteCount + dataByteCount }

    /// The tensor called `name`, if any.
    public func tensor(named name: String) -> TensorInfo? {
        tensors.first { $0.name == name }
    }
}

// MARK: - Laying out a new header

extension SafetensorsHeader {
    /// A header for `specs` stored back to back in the given order, with `metadata`.
    public init(laying specs: [TensorSpec], metadata: [String: String]) {
        var offset = 0
        tensors = specs.map { spec in
            defer { offset += spec.byteCount }
            return TensorInfo(name: spec.name, dtype: spec.dtype, shape: spec.shape, dataOffsets: offset..<offset + spec.byteCount)
        }
        self.metadata = metadata
        jsonByteCount = 0
        jsonByteCount = encodedJSON().count
    }

    /// The JSON text padded with spaces so the data section starts 8-byte aligned.
    /// `__metadata__` comes first, its keys sorted; tensors follow in payload order.
    public func encodedJSON() -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            let sorted = metadata.keys.sorted().map { ($0, JSONValue.string(metadata[$0]!)) }
            members.append(("__metadata__", .object(sorted)))
        }
        for tensor in tensors {
            members.append((tensor.name, .object([
                ("dtype", .string(tensor.dtype.name)),
                ("shape", .array(tensor.shape.map { .number(String($0)) })),
                ("data_offsets", .array([.number(String(tensor.dataOffsets.lowerBound)), .number(String(tensor.dataOffsets.upperBound))])),
            ])))
        }
        var bytes = Array(JSONValue.object(members).serialized.utf8)
        let padding = (8 - bytes.count % 8) % 8
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        return bytes
    }

    /// The 8-byte length followed by `encodedJSON()`: the first bytes of the payload.
    public func encodedPrefix() -> [UInt8] {
        let json = encodedJSON()
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
        bytes.append(contentsOf: json)
        return bytes
    }
}
