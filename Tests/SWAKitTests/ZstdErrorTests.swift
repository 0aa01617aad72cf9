import CZstd
import Foundation
import Testing
@testable import SWAData
@testable import SWAFormats
import SWATestSupport
import ZIPFoundation

/// Errors told apart by their typed codes, never by their text: libzstd's `ZSTD_ErrorCode`
/// behind the zstd reader's messages, ZIPFoundation's error types behind the `.npz` reader's.
@Suite("Typed errors")
struct ZstdErrorTests {
    // MARK: - libzstd

    @Test("ZstdError carries ZSTD_getErrorCode of the result and libzstd's text for it")
    func zstdErrorCarriesTheCode() {
        for code in [ZSTD_error_checksum_wrong, ZSTD_error_frameParameter_windowTooLarge, ZSTD_error_memory_allocation, ZSTD_error_prefix_unknown] {
            // libzstd returns error `e` as the size_t -e.
            let error = ZstdError(result: 0 &- Int(code.rawValue))
            #expect(error.code == code)
            #expect(error.name == String(cString: ZSTD_getErrorString(code)))
            #expect(error.description == error.name)
        }
    }

    @Test("A frame whose checksum does not match its content: the checksum message, with libzstd's text")
    func corruptChecksum() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let plain = try TestSupport.write(Self.payload, to: folder, name: "m.safetensors")
            let path = plain + ".zst"
            #expect(try TestSupport.run(TestSupport.zstd, ["-q", "--check", plain, "-o", path]).status == 0)
            var bytes = try TestSupport.bytes(of: path)
            bytes[bytes.count - 1] ^= 0xFF  // the last byte of the frame's 4-byte XXH64 checksum
            try TestSupport.write(bytes, to: folder, name: "m.safetensors.zst")
            let name = String(cString: ZSTD_getErrorString(ZSTD_error_checksum_wrong))
            #expect(TestSupport.errorDescription { _ = try LoadedCheckpoint(path: path) }
                == "\(path): corrupt zstd stream: frame checksum does not match its content (\(name))")
        }
    }

    @Test("A frame that needs a 256 MiB window is refused with the window message; 128 MiB is read",
          arguments: [(27, true), (28, false)])
    func windowLimit(windowLog: Int, accepted: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = try TestSupport.write(Self.rawFrame(Self.payload, windowLog: windowLog), to: folder, name: "wide.zst")
            // The stock CLI reads the frame once allowed the memory: the frame itself is sound.
            #expect(try TestSupport.run(TestSupport.zstd, ["-t", "-q", "--memory=512MB", path]).status == 0)
            #expect(try TestSupport.run(TestSupport.zstd, ["-t", "-q", path]).status == (accepted ? 0 : 1))
            let message = TestSupport.errorDescription { _ = try LoadedCheckpoint(path: path) }
            if accepted {
                #expect(message == nil)
            } else {
                let name = String(cString: ZSTD_getErrorString(ZSTD_error_frameParameter_windowTooLarge))
                #expect(message == "\(path): zstd frame needs a window larger than 128 MiB (\(name)); recompress it without --long")
            }
        }
    }

    // MARK: - ZIPFoundation

    @Test("ZIPFoundation's errors are described by type and case")
    func zipErrors() {
        #expect(NpzArchive.describe(Archive.ArchiveError.missingEndOfCentralDirectoryRecord)
            == "no end-of-central-directory record (the file is truncated or not a zip)")
        #expect(NpzArchive.describe(Archive.ArchiveError.invalidCRC32) == "CRC-32 mismatch")
        #expect(NpzArchive.describe(Archive.ArchiveError.invalidCentralDirectorySize) == "bad central directory")
        #expect(NpzArchive.describe(Data.DataError.unreadableFile) == "read error")
        #expect(NpzArchive.describe(POSIXError(.ENOENT)) == "No such file or directory")
        #expect(NpzArchive.describe(CocoaError(.fileReadNoPermission)) == "permission denied")
        // Reading a deflated member, the one error ZIPFoundation does not make public is its inflater's.
        #expect(NpzArchive.describe(Unrecognised(), inflating: true) == "the deflate stream is corrupt")
        #expect(NpzArchive.describe(Unrecognised(), inflating: false) == "\(Unrecognised())")
    }

    @Test("A damaged deflate stream in an .npz member is named as such")
    func corruptDeflateStream() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/d.npz"
            let values = (0..<4096).map { Float($0 % 97) }
            try NpzWriter.write([(key: "x", array: .init(float32: values, shape: [4096]))], to: path, compressed: true)
            var bytes = try TestSupport.bytes(of: path)
            // The member's deflate stream starts after the 30-byte local header and "x.npy";
            // 0xFF 0xFF there is a block of the reserved type 3, which zlib rejects at once.
            bytes[35] = 0xFF
            bytes[36] = 0xFF
            try TestSupport.write(bytes, to: folder, name: "d.npz")
            let archive = try NpzArchive(path: path)
            let message = TestSupport.errorDescription { try archive.streamElements(of: "x") { _ in .more } }
            #expect(message == "\(path): member 'x.npy': corrupt zip data: the deflate stream is corrupt")
        }
    }

    // MARK: - Helpers

    private struct Unrecognised: Error {}

    /// A plain safetensors payload of one U8 tensor.
    static let payload: [UInt8] = {
        var json = Array(#"{"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#.utf8)
        json += [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        return TestSupport.safetensors(json: json, data: [1, 2, 3, 4])
    }()

    /// One zstd frame holding `content` as a single raw block, declaring a window of
    /// 2^`windowLog` bytes and no content size (RFC 8878 §3.1.1: Frame_Header_Descriptor 0,
    /// Window_Descriptor exponent `windowLog - 10`, mantissa 0).
    static func rawFrame(_ content: [UInt8], windowLog: Int) -> [UInt8] {
        let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        let blockHeader = UInt32(content.count) << 3 | 1  // Last_Block, Block_Type 0 (raw), Block_Size
        return magic + [0x00, UInt8((windowLog - 10) << 3)]
            + [UInt8(blockHeader & 0xFF), UInt8(blockHeader >> 8 & 0xFF), UInt8(blockHeader >> 16)] + content
    }
}
