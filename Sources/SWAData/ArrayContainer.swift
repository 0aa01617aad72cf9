import SWAFormats
/// What a data file says about one of its arrays before any element is read.
public struct ArrayInfo: Sendable, Equatable {
    /// The key, e.g. `"x"`.
    public var key: String
    /// Element type as stored.
    public var dtype: DType
    /// Dimensions, outermost first (C order).
    public var shape: [Int]
    /// The file and member, for error messages.
    public var source: ArraySource

    /// An array's description, as a container reports it.
    public init(key: String, dtype: DType, shape: [Int], source: ArraySource) {
        self.key = key
        self.dtype = dtype
        self.shape = shape
        self.source = source
    }

    /// Number of elements: the product of `shape`.
    public var elementCount: Int { shape.reduce(1, *) }
    /// `[1300, 1, 8, 8]`, as errors print shapes.
    public var shapeDescription: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

/// Whether a streaming reader wants more bytes.
public enum ReadStep: Sendable {
    /// Go on with the next chunk.
    case more
    /// Stop reading this array; nothing after it is checked.
    case stop
}

/// A file of named arrays that hands out each array's elements as a stream of byte chunks.
///
/// Implemented by `.npz` archives and checkpoint-format files; `DataSet` reads through it.
public protocol ArrayContainer: AnyObject {
    /// The path as the user gave it.
    var path: String { get }
    /// Names of the arrays, in file order.
    var keys: [String] { get }
    /// Type and shape of the array `key`, reading at most its header.
    /// - Throws: naming the keys present when there is no array `key`.
    func info(of key: String) throws -> ArrayInfo
    /// Calls `body` with consecutive chunks of the raw little-endian elements of `key`, in C
    /// order, until the elements end or `body` returns `.stop`. Chunks may split elements.
    /// - Throws: if the array is truncated or the file corrupt; errors `body` throws pass through unchanged.
    func streamElements(of key: String, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws
    /// `streamElements(of:_:)` from byte `skip` of the elements on: what a shard of a pass needs.
    /// Containers that can start there without producing what comes before (an image folder
    /// decodes only the images from there on) implement it; the default reads and drops.
    func streamElements(of key: String, skippingBytes skip: Int, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws
}

extension ArrayContainer {
    /// Reads the elements from the start and hands `body` those from byte `skip` on.
    public func streamElements(of key: String, skippingBytes skip: Int, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        try streamElementsReadingAndDropping(of: key, skippingBytes: skip, body)
    }

    /// `streamElements(of:_:)`, dropping the first `skip` bytes: the default way to skip.
    public func streamElementsReadingAndDropping(of key: String, skippingBytes skip: Int, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        var toSkip = skip
        try streamElements(of: key) { chunk in
            guard toSkip > 0 else { return try body(chunk) }
            let dropped = min(toSkip, chunk.count)
            toSkip -= dropped
            guard dropped < chunk.count else { return .more }
            return try body(UnsafeRawBufferPointer(rebasing: chunk[dropped...]))
        }
    }
}

extension ArrayContainer {
    /// The error for a missing array, listing what the file does hold.
    func missingKeyError(_ key: String) -> SWAError {
        let present = keys.isEmpty ? "none" : keys.map { "'\($0)'" }.joined(separator: ", ")
        return SWAError(file: path, "no array '\(key)'; arrays present: \(present)")
    }

    /// The error for a missing inputs or labels array: `missingKeyError` and, when the file's
    /// arrays look like inputs and labels under other names, the `--x-key/--y-key` that pick them.
    func missingKeyError(_ key: String, xKey: String, yKey: String) -> SWAError {
        let error = missingKeyError(key)
        return SWAError(file: path, error.message + keySuggestion(xKey: xKey, yKey: yKey))
    }

    /// `; pass --x-key images --y-key labels`: the largest array of 2 or more dimensions with
    /// float or uint8 elements as the inputs, the first 1-D integer array as the labels, each
    /// flag only when it names another array than `xKey`/`yKey`; empty when there is none.
    /// Reads headers only.
    func keySuggestion(xKey: String, yKey: String) -> String {
        let infos = keys.compactMap { try? info(of: $0) }
        let inputs = infos.filter { $0.shape.count >= 2 && [.f32, .f64, .u8].contains($0.dtype) }.max { $0.elementCount < $1.elementCount }
        let labels = infos.first { $0.shape.count == 1 && $0.dtype.isInteger && $0.key != inputs?.key }
        let flags = [inputs.flatMap { $0.key == xKey ? nil : "--x-key \($0.key)" },
                     labels.flatMap { $0.key == yKey ? nil : "--y-key \($0.key)" }].compactMap { $0 }
        return flags.isEmpty ? "" : "; pass " + flags.joined(separator: " ")
    }
}

extension DType {
    /// The NumPy name of the type, as data errors print it: `float32`, `int64`, `uint8`.
    var arrayTypeName: String {
        switch self {
        case .f64: "float64"
        case .f32: "float32"
        case .f16: "float16"
        case .bf16: "bfloat16"
        case .i64: "int64"
        case .i32: "int32"
        case .i16: "int16"
        case .i8: "int8"
        case .u8: "uint8"
        case .bool: "bool"
        }
    }

    /// Whether the type holds integers (class labels may use it).
    var isInteger: Bool {
        switch self {
        case .i64, .i32, .i16, .i8, .u8: true
        default: false
        }
    }
}
