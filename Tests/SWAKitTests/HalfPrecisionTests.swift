import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// `float16Bits(rounding:)` and `bfloat16Bits(rounding:)` against a brute-force oracle: every one
/// of the 65,536 bit patterns decoded exactly, and the nearest of them picked by hand, ties to
/// even, overflowing to infinity exactly where IEEE 754 says (|x| ≥ max + ½ ulp(max)).
@Suite("Half precision rounding")
struct HalfPrecisionTests {
    // MARK: - Decoding and round trips

    @Test("Decoding gives the exact value of every bit pattern", arguments: HalfFormat.allCases)
    func decodesEveryPattern(format: HalfFormat) {
        var mismatches: [String] = []
        for bits in UInt16.min ... UInt16.max {
            let decoded = format.decode(bits)
            if let exact = format.exactValue(of: bits) {
                if decoded.bitPattern != exact.bitPattern { mismatches.append("\(hex(bits)) -> \(decoded), expected \(exact)") }
            } else if !decoded.isNaN || (decoded.sign == .minus) != (bits & format.signBit != 0) {
                mismatches.append("\(hex(bits)) is a NaN, decoded as \(decoded)")
            }
        }
        #expect(mismatches.count == 0, "first: \(mismatches.prefix(5))")
    }

    @Test("Every non-NaN pattern survives bits -> Double -> bits", arguments: HalfFormat.allCases)
    func roundTripsEveryPattern(format: HalfFormat) {
        var mismatches: [String] = []
        for bits in UInt16.min ... UInt16.max where !format.isNaN(bits) {
            let back = format.round(format.decode(bits))
            if back != bits { mismatches.append("\(hex(bits)) -> \(hex(back))") }
        }
        #expect(mismatches.count == 0, "first: \(mismatches.prefix(5))")
    }

    // MARK: - Edge values

    /// Guards the oracle itself: its table must agree with the published constants.
    @Test("The oracle's table has the textbook constants")
    func oracleConstants() {
        let half = RoundingOracle(format: .binary16)
        #expect(half.positives.count == 0x7C00)
        #expect(half.positives[1] == 0x1p-24)
        #expect(half.positives[0x400] == 0x1p-14)
        #expect(half.positives[0x3C00] == 1)
        #expect(half.positives.last == 65504)
        #expect(half.firstValueBeyondMax == 65536)
        let brain = RoundingOracle(format: .bfloat16)
        #expect(brain.positives.count == 0x7F80)
        #expect(brain.positives[1] == 0x1p-133)
        #expect(brain.positives[0x80] == 0x1p-126)
        #expect(brain.positives[0x3F80] == 1)
        #expect(brain.positives.last == 0x1.FEp127)
        #expect(brain.nearestBits(to: 0x1.FFp127) == 0x7F80, "max + ½ ulp overflows")
        #expect(brain.nearestBits(to: 0x1.FFp127.nextDown) == 0x7F7F)
        #expect(half.nearestBits(to: 65520) == 0x7C00)
        #expect(half.nearestBits(to: -65519.99) == 0xFBFF)
        #expect(half.nearestBits(to: 1 + 0x1p-11) == 0x3C00, "tie between 1 and 1 + 2^-10 goes to 1 (even)")
        #expect(half.nearestBits(to: 1 + 3 * 0x1p-11) == 0x3C02, "tie between odd 0x3C01 and 0x3C02 goes up")
    }

    @Test("Zeros, subnormals, max finite, overflow threshold, infinities", arguments: HalfFormat.allCases)
    func edgeValues(format: HalfFormat) {
        let oracle = RoundingOracle(format: format)
        let values = oracle.positives
        let largestSubnormal = values[(1 << format.fractionBitCount) - 1]
        let smallestNormal = values[1 << format.fractionBitCount]
        let maxFinite = values[values.count - 1]
        let overflowThreshold = (maxFinite + oracle.firstValueBeyondMax) / 2
        let cases: [(Double, UInt16)] = [
            (0, 0),
            (values[1], 1),
            (largestSubnormal, UInt16((1 << format.fractionBitCount) - 1)),
            (smallestNormal, UInt16(1 << format.fractionBitCount)),
            (1, oracle.bits(ofExact: 1)),
            (maxFinite, format.infinityBits - 1),
            (overflowThreshold, format.infinityBits),
            (overflowThreshold.nextDown, format.infinityBits - 1),
            (overflowThreshold.nextUp, format.infinityBits),
            (.greatestFiniteMagnitude, format.infinityBits),
            (.infinity, format.infinityBits),
            (values[1] / 4, 0),
            (.leastNonzeroMagnitude, 0),
        ]
        for (value, expected) in cases {
            for sign in [1.0, -1.0] {
                let signedExpected = sign < 0 ? expected | format.signBit : expected
                let got = format.round(sign * value)
                #expect(got == signedExpected, "\(format) of \(sign * value): \(hex(got)), expected \(hex(signedExpected))")
                #expect(got == oracle.nearestBits(to: sign * value), "oracle disagrees at \(sign * value)")
            }
        }
    }

    @Test("Named ties round to even; one Double either side rounds to the nearer neighbour", arguments: HalfFormat.allCases)
    func namedTies(format: HalfFormat) {
        let oracle = RoundingOracle(format: format)
        let values = oracle.positives
        let subnormalCount = 1 << format.fractionBitCount
        let one = Int(oracle.bits(ofExact: 1))
        // Index pairs (i, i + 1); the tie goes to the even index.
        let lowerIndices = [0, 1, 2, subnormalCount - 2, subnormalCount - 1, subnormalCount, one, one + 1, values.count - 2]
        for lower in lowerIndices {
            let below = values[lower]
            let above = lower + 1 < values.count ? values[lower + 1] : oracle.firstValueBeyondMax
            let tie = (below + above) / 2
            let even = UInt16(lower % 2 == 0 ? lower : lower + 1)
            for sign in [1.0, -1.0] {
                let signBits: UInt16 = sign < 0 ? format.signBit : 0
                let expectations: [(Double, UInt16)] = [
                    (sign * tie, signBits | even),
                    (sign * tie.nextDown, signBits | UInt16(lower)),
                    (sign * tie.nextUp, signBits | UInt16(lower + 1)),
                ]
                for (value, expected) in expectations {
                    let got = format.round(value)
                    #expect(got == expected, "\(format) of \(value) (tie between \(hex(UInt16(lower))) and \(hex(UInt16(lower + 1)))): \(hex(got)), expected \(hex(expected))")
                }
            }
        }
    }

    @Test("Every tie between neighbours, and nextUp/nextDown of it, matches the oracle", arguments: HalfFormat.allCases)
    func everyTie(format: HalfFormat) {
        let oracle = RoundingOracle(format: format)
        var mismatches: [String] = []
        for lower in 0..<oracle.positives.count {
            let above = lower + 1 < oracle.positives.count ? oracle.positives[lower + 1] : oracle.firstValueBeyondMax
            let tie = (oracle.positives[lower] + above) / 2
            for value in [tie, tie.nextDown, tie.nextUp, -tie, -tie.nextDown, -tie.nextUp] {
                let got = format.round(value), expected = oracle.nearestBits(to: value)
                if got != expected { mismatches.append("\(value): \(hex(got)), expected \(hex(expected))") }
            }
        }
        #expect(mismatches.count == 0, "first: \(mismatches.prefix(5))")
    }

    @Test("NaN stays NaN with its sign", arguments: HalfFormat.allCases)
    func nanKeepsSign(format: HalfFormat) {
        let nans: [Double] = [.nan, -.nan, .signalingNaN, -.signalingNaN, Double(nan: 1, signaling: false),
                              -Double(nan: 0x1234, signaling: false), Double(nan: 1, signaling: true)]
        for value in nans {
            let got = format.round(value)
            #expect(format.isNaN(got), "\(format) of NaN \(hex64(value.bitPattern)) gave \(hex(got)), not a NaN")
            #expect((got & format.signBit != 0) == (value.sign == .minus), "\(format) lost the sign of NaN \(hex64(value.bitPattern)): \(hex(got))")
        }
    }

    // MARK: - Random values

    @Test("20,000 seeded random doubles across the format's exponent range", arguments: HalfFormat.allCases)
    func randomDoubles(format: HalfFormat) {
        let oracle = RoundingOracle(format: format)
        var generator = SeededGenerator(seed: format == .binary16 ? 16 : 0xBF16)
        // From four binades below the smallest subnormal to two above the largest normal.
        let exponents = (format.smallestSubnormalExponent - 4)...(format.bias + 2)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let value = Double(sign: Bool.random(using: &generator) ? .minus : .plus,
                               exponent: Int.random(in: exponents, using: &generator),
                               significand: Double.random(in: 1..<2, using: &generator))
            let got = format.round(value), expected = oracle.nearestBits(to: value)
            if got != expected { mismatches.append("\(value): \(hex(got)), expected \(hex(expected))") }
        }
        #expect(mismatches.count == 0, "first: \(mismatches.prefix(5))")
    }
}

// MARK: - Formats

/// The two 16-bit float formats, described by their field widths.
enum HalfFormat: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case binary16
    case bfloat16

    var testDescription: String { rawValue }

    var exponentBitCount: Int { self == .binary16 ? 5 : 8 }
    var fractionBitCount: Int { self == .binary16 ? 10 : 7 }
    var bias: Int { (1 << (exponentBitCount - 1)) - 1 }
    var signBit: UInt16 { 0x8000 }
    /// Exponent field all ones, fraction zero; also the count of non-negative finite patterns.
    var infinityBits: UInt16 { UInt16(((1 << exponentBitCount) - 1) << fractionBitCount) }
    var smallestSubnormalExponent: Int { 1 - bias - fractionBitCount }

    /// The function under test.
    func round(_ value: Double) -> UInt16 {
        switch self {
        case .binary16: float16Bits(rounding: value)
        case .bfloat16: bfloat16Bits(rounding: value)
        }
    }

    /// The library's decoder.
    func decode(_ bits: UInt16) -> Double {
        switch self {
        case .binary16: double(fromFloat16Bits: bits)
        case .bfloat16: double(fromBFloat16Bits: bits)
        }
    }

    func isNaN(_ bits: UInt16) -> Bool { bits & 0x7FFF > infinityBits }

    /// The exact value of `bits`, computed from the fields alone; `nil` for NaN.
    func exactValue(of bits: UInt16) -> Double? {
        guard !isNaN(bits) else { return nil }
        let sign: FloatingPointSign = bits & signBit != 0 ? .minus : .plus
        let exponentField = Int(bits & 0x7FFF) >> fractionBitCount
        let fraction = Int(bits) & ((1 << fractionBitCount) - 1)
        if bits & 0x7FFF == infinityBits { return sign == .minus ? -.infinity : .infinity }
        if exponentField == 0 {
            return Double(sign: sign, exponent: smallestSubnormalExponent, significand: Double(fraction))
        }
        return Double(sign: sign, exponent: exponentField - bias - fractionBitCount,
                      significand: Double((1 << fractionBitCount) + fraction))
    }
}

// MARK: - Oracle

/// Rounds by search: the non-negative finite values in bit-pattern order are ascending, so
/// the pattern of the nearest value is its index. The midpoint of two neighbours has one
/// more significant bit than they do, so it and every comparison with it are exact.
struct RoundingOracle {
    let format: HalfFormat
    /// `positives[i]` is the exact value of bit pattern `i`, for every finite `i ≥ 0`.
    let positives: [Double]
    /// `2^(emax+1)`: where the next value would be if the exponent had room; infinity takes
    /// its place, and as its pattern is even, the tie `max + ½ ulp` goes to infinity.
    let firstValueBeyondMax: Double

    init(format: HalfFormat) {
        self.format = format
        positives = (0..<format.infinityBits).map { format.exactValue(of: $0)! }
        firstValueBeyondMax = Double(sign: .plus, exponent: format.bias + 1, significand: 1)
    }

    func bits(ofExact value: Double) -> UInt16 {
        UInt16(positives.firstIndex(of: value)!)
    }

    /// The correctly rounded pattern of a non-NaN `value`, ties to even.
    func nearestBits(to value: Double) -> UInt16 {
        precondition(!value.isNaN)
        let signBits: UInt16 = value.sign == .minus ? format.signBit : 0
        let magnitude = value.magnitude
        guard magnitude < firstValueBeyondMax else { return signBits | format.infinityBits }
        // Largest index whose value is ≤ magnitude.
        var low = 0, high = positives.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if positives[middle] <= magnitude { low = middle } else { high = middle }
        }
        let below = positives[low]
        if below == magnitude { return signBits | UInt16(low) }
        let above = low + 1 < positives.count ? positives[low + 1] : firstValueBeyondMax
        let midpoint = (below + above) / 2
        let nearest: Int
        if magnitude < midpoint {
            nearest = low
        } else if magnitude > midpoint {
            nearest = low + 1
        } else {
            nearest = low % 2 == 0 ? low : low + 1
        }
        // `low + 1 == positives.count` is the infinity pattern.
        return signBits | UInt16(nearest)
    }
}

// MARK: - Formatting

private func hex(_ bits: UInt16) -> String { "0x" + String(bits, radix: 16, uppercase: true) }
private func hex64(_ bits: UInt64) -> String { "0x" + String(bits, radix: 16, uppercase: true) }
