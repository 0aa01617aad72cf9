import CZstd

/// A libzstd failure: the function's `size_t` result, libzstd's code for it and its text.
///
/// Match on `code`, never on `name`: the text is for people and may change between libzstd
/// versions; the codes below 100 are stable (`zstd_errors.h`).
public struct ZstdError: Error, CustomStringConvertible, Sendable {
    /// The `size_t` result the libzstd function returned (an error when `ZSTD_isError` says so).
    public let result: Int
    /// What went wrong, e.g. `ZSTD_error_checksum_wrong`. The corresponding C function is `ZSTD_getErrorCode`.
    public let code: ZSTD_ErrorCode
    /// libzstd's text for the error, e.g. "Restored data doesn't match checksum". The
    /// corresponding C function is `ZSTD_getErrorName`.
    public let name: String

    init(result: Int) {
        self.result = result
        code = ZSTD_getErrorCode(result)
        name = String(cString: ZSTD_getErrorName(result))
    }

    /// libzstd's text, as messages print the error.
    public var description: String { name }

    /// Returns `result` unless it is a libzstd error code. The corresponding C function is `ZSTD_isError`.
    static func check(_ result: Int) throws(ZstdError) -> Int {
        if ZSTD_isError(result) != 0 { throw ZstdError(result: result) }
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
