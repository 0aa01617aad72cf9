/// A sharded safetensors index, `model.safetensors.index.json`, as Hugging Face `transformers`
/// writes it: which shard file holds each tensor.
///
/// ```json
/// {"metadata": {"total_size": 22976},
///  "weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors", ...}}
/// ```
/// Parsed strictly (`JSONValue`: duplicate keys are errors). `metadata` is optional and only
/// its `total_size` is read (a non-negative integer when present); other top-level keys are
/// ignored, as `transformers` ignores them.
public struct SafetensorsIndex: Sendable, Equatable {
    /// Tensor name → shard file name, in the index's order.
    public var weightMap: [(tensor: String, shard: String)]
    /// `metadata.total_size`: bytes of tensor data over all shards, when the index says.
    public var totalSize: Int?

    /// The shard file names, each once, sorted (`model-00001-of-00003…` first): the order
    /// the shards are read in.
    public var shardNames: [String] { Array(Set(weightMap.map(\.shard))).sorted() }

    public static func == (lhs: SafetensorsIndex, rhs: SafetensorsIndex) -> Bool {
        lhs.totalSize == rhs.totalSize && lhs.weightMap.elementsEqual(rhs.weightMap) { $0 == $1 }
    }

    public init(weightMap: [(tensor: String, shard: String)], totalSize: Int?) {
        self.weightMap = weightMap
        self.totalSize = totalSize
    }

    /// Reads and parses the index at `path`.
    /// - Throws: naming `path` if it cannot be read, is larger than `maximumByteCount`, is not
    ///   JSON, has no `weight_map` object of strings, or names a shard outside its folder.
    public static func read(path: String) throws -> SafetensorsIndex {
        let file = try InputFile(path: path)
        guard file.size <= maximumByteCount else {
            throw SWAError(file: path, "sharded safetensors index of \(file.size) bytes is absurd (limit \(maximumByteCount))")
        }
        return try parse(file.bytes(at: 0, count: file.size) ?? [], file: path)
    }

    /// Largest index accepted: the safetensors header limit (an index lists fewer facts per tensor).
    public static let maximumByteCount = SafetensorsHeader.maximumJSONByteCount

    /// Parses an index's JSON text; errors name `file`.
    public static func parse(_ bytes: [UInt8], file: String) throws -> SafetensorsIndex {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw SWAError(file: file, "sharded safetensors index is not valid JSON: \(error)")
        }
        guard document.objectMembers != nil else {
            throw SWAError(file: file, "sharded safetensors index is not a JSON object")
        }
        var totalSize: Int?
        if let metadata = document["metadata"], metadata != .null {
            guard metadata.objectMembers != nil else { throw SWAError(file: file, "index 'metadata' is not an object") }
            if let total = metadata["total_size"] {
                guard let value = total.unsignedIntegerValue, value <= UInt64(Int.max) else {
                    throw SWAError(file: file, "index 'metadata.total_size' is not a non-negative integer: \(total.serialized)")
                }
                totalSize = Int(value)
            }
        }
        guard let members = document["weight_map"]?.objectMembers else {
            throw SWAError(file: file, "sharded safetensors index has no 'weight_map' object")
        }
        var weightMap: [(tensor: String, shard: String)] = []
        for (tensor, value) in members {
            guard let shard = value.stringValue else {
                throw SWAError(file: file, "index entry of tensor '\(tensor)' is not a shard file name: \(value.serialized)")
            }
            guard isPlainRelativePath(shard) else {
                throw SWAError(file: file, "index puts tensor '\(tensor)' in '\(shard)', outside the index's folder")
            }
            weightMap.append((tensor, shard))
        }
        return SafetensorsIndex(weightMap: weightMap, totalSize: totalSize)
    }

    /// A shard name must stay in the index's folder: relative, no `..`, not empty.
    private static func isPlainRelativePath(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0.isEmpty }
    }
}
