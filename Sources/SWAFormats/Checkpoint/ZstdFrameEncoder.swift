import CZstd

/// Compresses independent zstd frames, each with its content size and checksum.
///
/// One frame per call (`ZSTD_compress2`), so frames can be decoded alone: the property the
/// seekable format's seek table relies on.
final class ZstdFrameEncoder {
    private let context: OpaquePointer
    private var scratch: [UInt8] = []

    /// - Parameter level: zstd compression level (1 fastest ... 19 smallest).
    init(level: Int32) throws {
        guard let context = ZSTD_createCCtx() else { throw SWAError("zstd: cannot allocate a compression context") }
        self.context = context
        do {
            _ = try ZstdError.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
            _ = try ZstdError.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
            _ = try ZstdError.check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1))
            // A 512 KiB window: weights gain nothing from a longer one (same size measured, see
            // docs/PERFORMANCE.md), and every reader of the file then needs ~0.8 MiB per open
            // input instead of ~2.6 MiB, which is what bounds swa-avg's memory with many inputs.
            _ = try ZstdError.check(ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, 19))
        } catch {
            ZSTD_freeCCtx(context)
            throw SWAError("zstd: cannot configure compression: \(error)")
        }
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `bytes` into one frame and passes the frame to `sink`.
    /// The corresponding C function is `ZSTD_compress2`.
    func compressFrame(_ bytes: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let bound = ZSTD_compressBound(bytes.count)
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        try scratch.withUnsafeMutableBytes { output in
            let written = ZSTD_compress2(context, output.baseAddress, output.count, bytes.baseAddress, bytes.count)
            do {
                _ = try ZstdError.check(written)
            } catch {
                throw SWAError("zstd compression failed: \(error)")
            }
            try sink(UnsafeRawBufferPointer(rebasing: output[..<written]))
        }
    }
}

/// The seek table of the zstd seekable format (facebook/zstd `contrib/seekable_format`).
///
/// A skippable frame (magic `0x184D2A5E`) listing each frame's compressed and decompressed
/// size, then `Number_Of_Frames`, a descriptor byte (0: no per-frame checksums, every frame
/// carries its own) and the footer magic `0x8F92EAB1` as the file's last four bytes.
public struct SeekTable: Equatable, Sendable {
    /// One frame's sizes.
    public struct Entry: Equatable, Sendable {
        /// Bytes of the frame in the file (`Compressed_Size`).
        public var compressedByteCount: Int
        /// Bytes of payload it decodes to (`Decompressed_Size`).
        public var decompressedByteCount: Int
    }

    /// The frames in file order, the seek table's own skippable frame excluded.
    public var entries: [Entry] = []

    /// The skippable frame that ends a seekable file.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(ZstdMagic.seekTableFrame)
        append(UInt32(entries.count * 8 + 9))
        for entry in entries {
            append(UInt32(entry.compressedByteCount))
            append(UInt32(entry.decompressedByteCount))
        }
        append(UInt32(entries.count))
        bytes.append(0)
        append(ZstdMagic.seekableFooter)
        return bytes
    }

    /// Reads the seek table at the end of `file`, or `nil` if the file does not end with one.
    public static func read(from file: InputFile) throws -> SeekTable? {
        guard let footer = try file.bytes(at: file.size - 9, count: 9) else { return nil }
        func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        guard u32(footer, 5) == ZstdMagic.seekableFooter else { return nil }
        let frameCount = Int(u32(footer, 0))
        let hasChecksums = footer[4] & 0x80 != 0
        let entrySize = hasChecksums ? 12 : 8
        let tableSize = frameCount * entrySize + 9
        guard let frame = try file.bytes(at: file.size - tableSize - 8, count: tableSize + 8),
              u32(frame, 0) == ZstdMagic.seekTableFrame, Int(u32(frame, 4)) == tableSize else {
            throw SWAError(file: file.path, "corrupt seek table: its footer promises \(frameCount) frames that are not there")
        }
        var table = SeekTable()
        for index in 0..<frameCount {
            let at = 8 + index * entrySize
            table.entries.append(Entry(compressedByteCount: Int(u32(frame, at)), decompressedByteCount: Int(u32(frame, at + 4))))
        }
        let described = table.entries.reduce(0) { $0 + $1.compressedByteCount } + tableSize + 8
        guard described == file.size else {
            throw SWAError(file: file.path, "corrupt seek table: it describes \(described) bytes, the file has \(file.size)")
        }
        return table
    }
}
