// MARK: - bfloat16

/// Rounds a `Double` to the nearest bfloat16 (ties to even), returning its bit pattern.
///
/// bfloat16 is the top half of an IEEE binary32: 1 sign, 8 exponent and 7 fraction bits.
/// Rounding `Double -> Float -> bfloat16` twice with round-to-nearest can be wrong on ties,
/// so the first step rounds to odd (truncate, then set the last bit if anything was lost).
/// With 16 spare bits between binary32 and bfloat16 that makes the second rounding exact:
/// the result is the correctly rounded bfloat16 of `value`. NaN stays NaN (quiet, sign kept).
@inlinable
public func bfloat16Bits(rounding value: Double) -> UInt16 {
    if value.isNaN {
        return value.sign == .minus ? 0xFFC0 : 0x7FC0
    }
    var single = Float(value)
    var lostBits = Double(single) != value
    if lostBits, !single.isInfinite, Double(single).magnitude > value.magnitude {
        // Float(value) rounded away from zero; step back toward zero to truncate.
        single = value > 0 ? single.nextDown : single.nextUp
    } else if single.isInfinite {
        // Beyond binary32's range: the largest finite binary32, marked inexact, rounds to
        // infinity below exactly as the true value would.
        single = value > 0 ? Float.greatestFiniteMagnitude : -Float.greatestFiniteMagnitude
        lostBits = true
    }
    var bits = single.bitPattern
    if lostBits { bits |= 1 }
    let roundingBias = UInt32(0x7FFF) &+ ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
}

/// The exact `Double` value of a bfloat16 bit pattern.
@inlinable
public func double(fromBFloat16Bits bits: UInt16) -> Double {
    Double(Float(bitPattern: UInt32(bits) << 16))
}

// MARK: - binary16

/// Rounds a `Double` to the nearest IEEE binary16 (ties to even), returning its bit pattern.
///
/// A single rounding straight from `Double` (LLVM's `fptrunc`), so no double-rounding error.
@inlinable
public func float16Bits(rounding value: Double) -> UInt16 {
    Float16(value).bitPattern
}

/// The exact `Double` value of an IEEE binary16 bit pattern.
@inlinable
public func double(fromFloat16Bits bits: UInt16) -> Double {
    Double(Float16(bitPattern: bits))
}
