/// The NaN and infinite elements of one float tensor: how many, and where the first one is.
///
/// `swa-inspect` reports one per tensor that holds any (docs/CLI.md, "Non-finite values").
/// Counted from the bit patterns, so every NaN payload and both infinities count, in every
/// float dtype: F64, F32, F16 and BF16 (an all-ones exponent).
public struct NonFiniteValues: Codable, Sendable, Equatable {
    /// Elements that are NaN or ±inf.
    public var count = 0
    /// Of these, the NaNs (the rest are infinities).
    public var nan = 0
    /// Flat index of the first such element, in C order (row-major, as the data is stored).
    public var firstIndex = 0

    public init() {}

    /// Counts the non-finite elements among `count` elements of `dtype` at `source`, which are
    /// elements `firstElement ..< firstElement + count` of the tensor; integer and bool
    /// dtypes hold none.
    public mutating func scan(_ source: UnsafeRawPointer, dtype: DType, count elements: Int, firstElement: Int) {
        switch dtype {
        case .f64: scan(source, elements, firstElement, as: UInt64.self, exponent: 0x7FF0_0000_0000_0000, mantissa: 0x000F_FFFF_FFFF_FFFF)
        case .f32: scan(source, elements, firstElement, as: UInt32.self, exponent: 0x7F80_0000, mantissa: 0x007F_FFFF)
        case .f16: scan(source, elements, firstElement, as: UInt16.self, exponent: 0x7C00, mantissa: 0x03FF)
        case .bf16: scan(source, elements, firstElement, as: UInt16.self, exponent: 0x7F80, mantissa: 0x007F)
        case .i64, .i32, .i16, .i8, .u8, .bool: break
        }
    }

    /// An element is non-finite when all its exponent bits are set; NaN when its mantissa is
    /// not zero as well (IEEE 754; bfloat16 is float32's upper half).
    @inline(__always)
    private mutating func scan<Bits: FixedWidthInteger & UnsignedInteger>(
        _ source: UnsafeRawPointer, _ elements: Int, _ firstElement: Int, as _: Bits.Type, exponent: Bits, mantissa: Bits
    ) {
        for index in 0..<elements {
            let bits = source.loadUnaligned(fromByteOffset: index &* MemoryLayout<Bits>.size, as: Bits.self)
            guard bits & exponent == exponent else { continue }
            if count == 0 { firstIndex = firstElement + index }
            count += 1
            if bits & mantissa != 0 { nan += 1 }
        }
    }

    /// `"3 non-finite (2 NaN, 1 inf), first at element 17"`.
    public var summary: String {
        "\(count) non-finite (\(nan) NaN, \(count - nan) inf), first at element \(firstIndex)"
    }
}
