import CZstd

/// A libzstd failure: the `size_t` code and libzstd's own text for it.
public struct ZstdError: Error, CustomStringConvertible {
    public let code: Int
    public let name: String

    init(code: Int) {
        self.code = code
        self.name = String(cString: ZSTD_getErrorName(code))
    }

    public var description: String { name }

    /// Returns `result` unless it is a libzstd error code. The corresponding C function is `ZSTD_isError`.
    static func check(_ result: Int) throws(ZstdError) -> Int {
        if ZSTD_isError(result) != 0 { throw ZstdError(code: result) }
        return result
    }
}

/// Byte-level constants of the zstd frame format (RFC 8878) and the seekable format.
enum ZstdMagic {
    /// First four bytes of every zstd frame, little-endian `0xFD2FB528`.
    static let frame: UInt32 = 0xFD2F_B528
    /// Skippable frames use `0x184D2A50 ... 0x184D2A5F`.
    static let skippableMask: UInt32 = 0xFFFF_FFF0
    static let skippableBase: UInt32 = 0x184D_2A50
    /// The skippable-frame magic the seekable format uses for its seek table.
    static let seekTableFrame: UInt32 = 0x184D_2A5E
    /// The last four bytes of a file that ends with a seek table.
    static let seekableFooter: UInt32 = 0x8F92_EAB1

    /// Whether `prefix` starts like a zstd stream (a frame or a skippable frame).
    static func isZstd(prefix: [UInt8]) -> Bool {
        guard prefix.count >= 4 else { return false }
        let magic = UInt32(prefix[0]) | UInt32(prefix[1]) << 8 | UInt32(prefix[2]) << 16 | UInt32(prefix[3]) << 24
        return magic == frame || (magic & skippableMask) == skippableBase
    }
}
