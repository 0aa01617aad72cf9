import SWAFormats

// MARK: - What a partial result says about itself

/// What makes two shards parts of the same run: the kind of work, its inputs and its options.
public struct PartialRunIdentity: Sendable, Equatable, Codable {
    /// `bn`, `eval`, `avg`, `avg-sums` or `landscape`.
    public var kind: String
    /// Every input (checkpoints, data), in a fixed order; compared by SHA-256.
    public var inputs: [InputDigest]
    /// Every option that changes the result (`batch_size`, `weighting`, ...), as text.
    public var options: [String: String]

    public init(kind: String, inputs: [InputDigest], options: [String: String]) {
        self.kind = kind
        self.inputs = inputs
        self.options = options
    }
}

/// The `swa.partial` record of a partial-result file: which run and which shard of it.
public struct PartialResultHeader: Sendable, Equatable, Codable {
    public var identity: PartialRunIdentity
    public var shard: ShardSpec
    /// The tool and version that wrote it (`swa-bn-update 0.4.0`), for messages; not compared.
    public var tool: String?

    public init(identity: PartialRunIdentity, shard: ShardSpec, tool: String? = nil) {
        self.identity = identity
        self.shard = shard
        self.tool = tool
    }

    /// The version of the `swa.partial` record this code writes and reads.
    public static let version = 1

    /// The record as stored: `{"version": 1, "kind": ..., "shard": "I/N", "run": {"inputs": [...], "options": {...}}, "tool": ...}`.
    private struct Record: Codable {
        struct Run: Codable {
            var inputs: [InputDigest]
            var options: [String: String]
        }
        var version: Int
        var kind: String
        var shard: ShardSpec
        var run: Run
        var tool: String?
    }

    /// The JSON text stored under `swa.partial`.
    public var metadataJSON: String {
        JSONCoding.encode(Record(version: Self.version, kind: identity.kind, shard: shard,
                                 run: .init(inputs: identity.inputs, options: identity.options), tool: tool))
    }

    /// Decodes the `swa.partial` text of `file`.
    /// - Throws: `SWAError` naming `file` when the text is not a version-1 record.
    public init(metadataJSON text: String, file: String) throws {
        let record: Record
        do {
            record = try JSONCoding.decode(Record.self, from: text)
        } catch let error as DecodingError {
            throw SWAError(file: file, "damaged partial result: swa.partial is not a partial record (\(JSONCoding.describe(error)))")
        }
        guard record.version == Self.version else {
            throw SWAError(file: file, "partial result version \(record.version) is not supported (this swa reads version \(Self.version))")
        }
        self.init(identity: PartialRunIdentity(kind: record.kind, inputs: record.run.inputs, options: record.run.options),
                  shard: record.shard, tool: record.tool)
    }
}

// MARK: - The tensors of a partial result

/// One tensor of a partial result: Float64 sums or Int64 counts, with a shape (C order).
public struct PartialTensor: Sendable, Equatable {
    /// The elements, in C order.
    public enum Values: Sendable, Equatable {
        case float64([Double])
        case int64([Int64])
    }

    /// Dimensions, outermost first; their product is the element count.
    public var shape: [Int]
    public var values: Values

    /// Float64 values; `shape` defaults to one dimension of `values.count`.
    public init(_ values: [Double], shape: [Int]? = nil) {
        self.shape = shape ?? [values.count]
        self.values = .float64(values)
        precondition(self.shape.reduce(1, *) == values.count, "shape \(self.shape) does not hold \(values.count) values")
    }

    /// Int64 values; `shape` defaults to one dimension of `values.count`.
    public init(_ values: [Int64], shape: [Int]? = nil) {
        self.shape = shape ?? [values.count]
        self.values = .int64(values)
        precondition(self.shape.reduce(1, *) == values.count, "shape \(self.shape) does not hold \(values.count) values")
    }

    /// The Float64 values, or nil for an Int64 tensor.
    public var doubles: [Double]? {
        if case let .float64(values) = values { return values }
        return nil
    }

    /// The Int64 values, or nil for a Float64 tensor.
    public var integers: [Int64]? {
        if case let .int64(values) = values { return values }
        return nil
    }

    var dtype: DType {
        switch values {
        case .float64: .f64
        case .int64: .i64
        }
    }

    var bytes: [UInt8] {
        switch values {
        case let .float64(values): values.withUnsafeBytes { Array($0) }
        case let .int64(values): values.withUnsafeBytes { Array($0) }
        }
    }
}

extension Dictionary where Key == String, Value == PartialTensor {
    /// The Float64 tensor `name` of the partial `file` with `count` elements.
    /// - Throws: `SWAError` naming the file and the tensor when it is absent, Int64, or of another size.
    public func doubles(_ name: String, count: Int? = nil, file: String) throws -> [Double] {
        guard let tensor = self[name] else { throw SWAError(file: file, "damaged partial result: no tensor '\(name)'") }
        guard let values = tensor.doubles else { throw SWAError(file: file, "damaged partial result: tensor '\(name)' is I64, expected F64") }
        if let count, values.count != count {
            throw SWAError(file: file, "partial result: tensor '\(name)' has \(values.count) values, expected \(count)")
        }
        return values
    }

    /// The Int64 tensor `name` of the partial `file` with `count` elements.
    /// - Throws: `SWAError` naming the file and the tensor when it is absent, Float64, or of another size.
    public func integers(_ name: String, count: Int? = nil, file: String) throws -> [Int64] {
        guard let tensor = self[name] else { throw SWAError(file: file, "damaged partial result: no tensor '\(name)'") }
        guard let values = tensor.integers else { throw SWAError(file: file, "damaged partial result: tensor '\(name)' is F64, expected I64") }
        if let count, values.count != count {
            throw SWAError(file: file, "partial result: tensor '\(name)' has \(values.count) values, expected \(count)")
        }
        return values
    }
}

// MARK: - Reading and writing

/// A partial-result file: the checkpoint format (zstd-compressed safetensors, every frame
/// checksummed) holding Float64 sums and Int64 counts, with `swa.partial` metadata naming the
/// run and the shard (docs/SCALE.md).
public enum PartialResultFile {
    /// The metadata key of the record.
    public static let metadataKey = CheckpointMetadata.Key.partial.rawValue

    /// The `__metadata__` a partial carries: `swa.partial` and `extra` (which may not override it).
    public static func metadata(for header: PartialResultHeader, extra: [String: String] = [:]) -> [String: String] {
        var metadata = CheckpointMetadata(extra)
        metadata[.partial] = header.metadataJSON
        return metadata.values
    }

    /// Writes atomically (no partial file on failure); refuses an existing path unless `force`.
    /// Tensors are stored in the order given.
    public static func write(_ tensors: [(name: String, tensor: PartialTensor)], header: PartialResultHeader,
                             to path: String, force: Bool) throws {
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted {
            throw SWAError(file: path, "internal: tensor '\(name)' given twice")
        }
        try CheckpointWriter.write(tensors.map { (spec: TensorSpec(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape), bytes: $0.tensor.bytes) },
                                   metadata: metadata(for: header), to: path, overwrite: force)
    }

    /// Reads only the record of `path` (its header; the data is not read, so not verified).
    /// - Throws: `SWAError` naming the file when it is not a checkpoint or not a partial.
    public static func readHeader(_ path: String) throws -> PartialResultHeader {
        let archive = try TensorArchives.open(path: path)
        return try header(of: archive.header, path: path)
    }

    /// Reads and checks the file is a partial: the record, every tensor F64 or I64, every
    /// frame's checksum verified (a damaged file fails through the reader's own checks).
    /// - Throws: `SWAError` naming the file, e.g. "not a partial result (no swa.partial metadata)".
    public static func read(_ path: String) throws -> (header: PartialResultHeader, tensors: [String: PartialTensor]) {
        let checkpoint = try LoadedCheckpoint(path: path)
        let header = try header(of: checkpoint.header, path: path)
        var tensors: [String: PartialTensor] = [:]
        for info in checkpoint.header.tensors {
            let bytes = checkpoint.tensors[info.name] ?? []
            switch info.dtype {
            case .f64:
                let values = bytes.withUnsafeBytes { raw in (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
                tensors[info.name] = PartialTensor(values, shape: info.shape)
            case .i64:
                let values = bytes.withUnsafeBytes { raw in (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
                tensors[info.name] = PartialTensor(values, shape: info.shape)
            default:
                throw SWAError(file: path, "damaged partial result: tensor '\(info.name)' is \(info.dtype.name); partial results hold F64 and I64")
            }
        }
        return (header, tensors)
    }

    private static func header(of safetensors: SafetensorsHeader, path: String) throws -> PartialResultHeader {
        guard let text = safetensors.checkpointMetadata[.partial] else {
            throw SWAError(file: path, "not a partial result (no \(metadataKey) metadata); give the files written by --partial")
        }
        return try PartialResultHeader(metadataJSON: text, file: path)
    }
}
