/// The element types a checkpoint may hold, named as safetensors names them.
///
/// All multi-byte types are little-endian in the file (safetensors rule); this toolkit
/// runs on little-endian machines only, so bytes are used as they are.
public enum DType: String, CaseIterable, Sendable, Codable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes of one element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// Whether tensors of this type are averaged (integers and booleans never are).
    public var isFloatingPoint: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: true
        default: false
        }
    }

    /// The safetensors name, e.g. `"BF16"`.
    public var name: String { rawValue }
}

#if _endian(big)
#error("swa reads and writes little-endian tensor data in place; big-endian hosts are not supported")
#endif
