import CSPNG
import SWAFormats

// MARK: - Decompression bombs

extension ImageDecoder {
    /// Deflate's largest expansion: one compressed byte yields at most 1032 bytes (RFC 1951; zlib's
    /// "technical details" derive the 1032:1 limit), so a PNG's pixels cannot outgrow its file by more.
    static let deflateMaximumRatio = 1032

    /// Bytes of filtered scanlines a PNG of `header` holds before inflation: per row one filter
    /// byte plus the row's samples, at the stored bit depth (Adam7 interlacing only adds rows).
    static func minimumInflatedByteCount(_ header: spng_ihdr) -> Int {
        let channels = switch Int(header.color_type) {
        case Int(SPNG_COLOR_TYPE_TRUECOLOR.rawValue): 3
        case Int(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue): 2
        case Int(SPNG_COLOR_TYPE_TRUECOLOR_ALPHA.rawValue): 4
        default: 1  // grayscale, indexed
        }
        let rowBits = Int(header.width) * channels * max(Int(header.bit_depth), 1)
        return Int(header.height) * (1 + (rowBits + 7) / 8)
    }

    /// Refuses a PNG whose header promises more pixels than its file could inflate to, before
    /// allocating them: found by fuzzing (a 281-byte file declaring 3,145,768×40 pixels had the
    /// decoder zero-fill 500 MB before noticing the data was missing).
    /// Call after `checkSize`, which bounds width × height.
    static func checkInflatable(_ header: spng_ihdr, fileByteCount: Int, path: String) throws {
        let needed = minimumInflatedByteCount(header)
        guard needed <= fileByteCount * deflateMaximumRatio else {
            throw SWAError(file: path, "PNG of \(header.width)×\(header.height) pixels needs \(needed) bytes of image data; its \(fileByteCount) bytes cannot hold them (truncated or corrupt)")
        }
    }
}
