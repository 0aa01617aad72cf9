/// One tensor's entry in a safetensors header: where its bytes lie in the payload.
public struct TensorInfo: Sendable, Equatable {
    /// The state_dict key, e.g. `"layer1.0.conv1.weight"`.
    public var name: String
    public var dtype: DType
    /// Dimensions, outermost first (C order). `[]` is a scalar.
    public var shape: [Int]
    /// Byte range in the data section (after the 8-byte length and the JSON header).
    public var dataOffsets: Range<Int>

    public init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Bytes of data: `elementCount * dtype.byteSize`.
    public var byteCount: Int { dataOffsets.count }

    /// `[16, 3, 3, 3]`, as errors and `swa-inspect` print shapes.
    public var shapeDescription: String { TensorInfo.describe(shape) }
}

/// A tensor's name, type and shape without a place in a file: what a writer lays out.
public struct TensorSpec: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    public var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
}

extension TensorInfo {
    /// A shape as errors print it: `[16, 3, 3, 3]`.
    public static func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
