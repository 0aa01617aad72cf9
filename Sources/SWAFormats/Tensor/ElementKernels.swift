import RealModule

// Kernels that move tensor elements between their stored types and Float64.
//
// Averages accumulate in Double and are rounded once, on output (docs/CLI.md, "Arithmetic"). Loads use
// `loadUnaligned` so a chunk may start anywhere; the loops are simple enough to vectorise.

/// `acc[j] = keep * acc[j] + weight * x[j]` for the `count` elements of `source`
/// (stored as `dtype`), or `acc[j] = weight * x[j]` when `first` is true.
///
/// With `keep = 1` this sums weighted inputs; with `keep = D, weight = 1 - D` it is one EMA
/// step. `Double` arithmetic without fused multiply-add, so results never depend on chunking
/// or thread count.
@inlinable
public func accumulate(_ source: UnsafeRawPointer, dtype: DType, count: Int,
                       into acc: UnsafeMutablePointer<Double>, keep: Double, weight: Double, first: Bool) {
    @inline(__always)
    func run(_ load: (Int) -> Double) {
        if first {
            for j in 0..<count { acc[j] = weight * load(j) }
        } else if keep == 1 {
            for j in 0..<count { acc[j] = acc[j] + weight * load(j) }
        } else {
            for j in 0..<count { acc[j] = keep * acc[j] + weight * load(j) }
        }
    }
    switch dtype {
    case .f64: run { source.loadUnaligned(fromByteOffset: $0 &* 8, as: Double.self) }
    case .f32: run { Double(source.loadUnaligned(fromByteOffset: $0 &* 4, as: Float.self)) }
    case .f16: run { double(fromFloat16Bits: source.loadUnaligned(fromByteOffset: $0 &* 2, as: UInt16.self)) }
    case .bf16: run { double(fromBFloat16Bits: source.loadUnaligned(fromByteOffset: $0 &* 2, as: UInt16.self)) }
    case .i64: run { Double(source.loadUnaligned(fromByteOffset: $0 &* 8, as: Int64.self)) }
    case .i32: run { Double(source.loadUnaligned(fromByteOffset: $0 &* 4, as: Int32.self)) }
    case .i16: run { Double(source.loadUnaligned(fromByteOffset: $0 &* 2, as: Int16.self)) }
    case .i8: run { Double(source.loadUnaligned(fromByteOffset: $0, as: Int8.self)) }
    case .u8, .bool: run { Double(source.loadUnaligned(fromByteOffset: $0, as: UInt8.self)) }
    }
}

/// Writes `acc[j] / divisor`, rounded once to nearest-even, as `dtype` floats into `destination`.
/// - Returns: `false` if any value written is NaN or infinite: a quotient that is, or a finite
///   quotient beyond the range of `dtype` (e.g. above 65504 for F16), so nothing overflows silently.
@inlinable
public func encodeAverage(_ acc: UnsafePointer<Double>, count: Int, divisor: Double,
                          as dtype: DType, into destination: UnsafeMutableRawPointer) -> Bool {
    precondition(dtype.isFloatingPoint, "only floating-point tensors are averaged")
    var finiteProbe = 0.0
    /// `store` writes element j and returns the value as stored, widened back to Double.
    @inline(__always)
    func run(_ store: (Int, Double) -> Double) {
        if divisor == 1 {
            for j in 0..<count { finiteProbe = Relaxed.sum(finiteProbe, store(j, acc[j]) * 0) }
        } else {
            for j in 0..<count { finiteProbe = Relaxed.sum(finiteProbe, store(j, acc[j] / divisor) * 0) }
        }
    }
    switch dtype {
    case .f64:
        run { j, value in destination.storeBytes(of: value, toByteOffset: j &* 8, as: Double.self); return value }
    case .f32:
        run { j, value in
            let single = Float(value)
            destination.storeBytes(of: single, toByteOffset: j &* 4, as: Float.self)
            return Double(single)
        }
    case .f16:
        run { j, value in
            let bits = float16Bits(rounding: value)
            destination.storeBytes(of: bits, toByteOffset: j &* 2, as: UInt16.self)
            return double(fromFloat16Bits: bits)
        }
    case .bf16:
        run { j, value in
            let bits = bfloat16Bits(rounding: value)
            destination.storeBytes(of: bits, toByteOffset: j &* 2, as: UInt16.self)
            return double(fromBFloat16Bits: bits)
        }
    default: break
    }
    // x * 0 is 0 for every finite x and NaN for NaN or ±inf, so one NaN poisons the sum.
    return finiteProbe == 0
}

/// The index of the first NaN or infinite element among `count` floats stored as `dtype`, if any.
public func firstNonFiniteElement(_ source: UnsafeRawPointer, dtype: DType, count: Int) -> Int? {
    guard dtype.isFloatingPoint else { return nil }
    let scratch = UnsafeMutablePointer<Double>.allocate(capacity: count)
    defer { scratch.deallocate() }
    accumulate(source, dtype: dtype, count: count, into: scratch, keep: 1, weight: 1, first: true)
    return (0..<count).first { !scratch[$0].isFinite }
}
