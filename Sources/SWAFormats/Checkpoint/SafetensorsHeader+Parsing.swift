// MARK: - Strict parsing

extension SafetensorsHeader {
    /// Parses and validates a header's JSON text.
    ///
    /// Checks, each a clear error naming `file` (and the tensor where one is at fault):
    /// UTF-8, JSON syntax, duplicate names, known dtypes, shapes of non-negative integers,
    /// byte counts that match shape times element size, data offsets that start at 0 and
    /// follow each other without holes or overlaps, and, when `dataByteCount` is known,
    /// that the tensors cover the data section exactly.
    public static func parse(json bytes: [UInt8], file: String, dataByteCount: Int?) throws -> SafetensorsHeader {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw SWAError(file: file, "safetensors header is not valid UTF-8")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw SWAError(file: file, "safetensors header is not valid JSON: \(error)")
        }
        guard let members = document.objectMembers else {
            throw SWAError(file: file, "safetensors header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        for (name, entry) in members {
            if name == "__metadata__" {
                metadata = try parseMetadata(entry, file: file)
            } else {
                tensors.append(try parseTensor(name: name, entry: entry, file: file))
            }
        }
        tensors.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        try checkContiguous(tensors, file: file)
        let header = SafetensorsHeader(tensors: tensors, metadata: metadata, jsonByteCount: bytes.count)
        if let dataByteCount, dataByteCount != header.dataByteCount {
            throw SWAError(file: file, dataByteCount < header.dataByteCount
                ? "truncated: the header describes \(header.dataByteCount) bytes of tensor data, the file holds \(dataByteCount)"
                : "\(dataByteCount - header.dataByteCount) bytes after the last tensor are not described by the header")
        }
        return header
    }

    private static func parseMetadata(_ entry: JSONValue, file: String) throws -> [String: String] {
        if entry == .null { return [:] }
        guard let members = entry.objectMembers else {
            throw SWAError(file: file, "__metadata__ must be an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard let text = value.stringValue else {
                throw SWAError(file: file, "__metadata__ value of '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseTensor(name: String, entry: JSONValue, file: String) throws -> TensorInfo {
        guard let fields = entry.objectMembers else {
            throw SWAError(file: file, "tensor '\(name)': header entry is not an object")
        }
        for (field, _) in fields where !["dtype", "shape", "data_offsets"].contains(field) {
            throw SWAError(file: file, "tensor '\(name)': unknown header field '\(field)'")
        }
        guard let dtypeName = entry["dtype"]?.stringValue else {
            throw SWAError(file: file, "tensor '\(name)': missing dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            let known = DType.allCases.map(\.name).joined(separator: " ")
            throw SWAError(file: file, "tensor '\(name)': unsupported dtype '\(dtypeName)' (supported: \(known))")
        }
        guard let shapeItems = entry["shape"]?.arrayValue else {
            throw SWAError(file: file, "tensor '\(name)': missing shape")
        }
        var shape: [Int] = []
        var elementCount = 1
        for item in shapeItems {
            guard let dimension = item.unsignedIntegerValue, dimension <= UInt64(Int.max) else {
                throw SWAError(file: file, "tensor '\(name)': shape must hold non-negative integers, found \(item.serialized)")
            }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow else { throw SWAError(file: file, "tensor '\(name)': shape \(entry["shape"]!.serialized) overflows") }
            elementCount = product
            shape.append(Int(dimension))
        }
        guard let offsets = entry["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].unsignedIntegerValue, let end = offsets[1].unsignedIntegerValue,
              end <= UInt64(Int.max) else {
            throw SWAError(file: file, "tensor '\(name)': data_offsets must be two non-negative integers")
        }
        guard begin <= end else {
            throw SWAError(file: file, "tensor '\(name)': data_offsets [\(begin), \(end)] end before they begin")
        }
        let (byteCount, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, UInt64(byteCount) == end - begin else {
            throw SWAError(file: file, "tensor '\(name)': \(dtype.name) \(shape) needs \(overflow ? "more than Int.max" : String(byteCount)) bytes, data_offsets give \(end - begin)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: Int(begin)..<Int(end))
    }

    private static func checkContiguous(_ tensors: [TensorInfo], file: String) throws {
        var expectedStart = 0
        var previous: TensorInfo?
        for tensor in tensors {
            let start = tensor.dataOffsets.lowerBound
            if start > expectedStart {
                let after = previous.map { "after tensor '\($0.name)'" } ?? "at the start of the data"
                throw SWAError(file: file, "tensor '\(tensor.name)': hole of \(start - expectedStart) bytes \(after) (data_offsets must be contiguous)")
            }
            if start < expectedStart {
                throw SWAError(file: file, "tensor '\(tensor.name)': data_offsets overlap tensor '\(previous!.name)'")
            }
            expectedStart = tensor.dataOffsets.upperBound
            previous = tensor
        }
    }
}
