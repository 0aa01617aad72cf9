import SWAFormats
import Foundation
import ZIPFoundation

/// An `.npz` file: a zip archive of `.npy` arrays, read one member at a time as a stream.
///
/// `numpy.savez` stores members uncompressed, `numpy.savez_compressed` deflates them; both
/// always write ZIP64 records (numpy gh-10776). Member `x.npy` is the array with key `x`.
/// ZIPFoundation reads the central directory and pushes each member's bytes through a
/// consumer closure in chunks, so memory is bounded by a chunk, never by a member.
public final class NpzArchive: ArrayContainer {
    /// The path as the user gave it.
    public let path: String
    /// Array keys (member names without `.npy`), in archive order.
    public let keys: [String]

    private let archive: Archive
    private let entries: [String: Entry]
    private let fileByteCount: Int

    /// Bytes handed to the consumer at a time (and read from disk at a time).
    static let chunkByteCount = 1 << 16

    /// Opens `path` and reads the zip's central directory.
    /// - Throws: if the file cannot be opened or is not a readable zip (truncated or corrupt).
    public init(path: String) throws {
        self.path = path
        fileByteCount = try InputFile(path: path).size
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw SWAError(file: path, "not a readable .npz (zip) archive: \(Self.describe(error))")
        }
        var keys: [String] = []
        var entries: [String: Entry] = [:]
        for entry in archive where entry.type == .file && entry.path.hasSuffix(".npy") {
            let key = String(entry.path.dropLast(4))
            guard entries[key] == nil else { continue }
            keys.append(key)
            entries[key] = entry
        }
        self.keys = keys
        self.entries = entries
    }

    /// The array `key`'s dtype and shape, from its `.npy` header (the member's first chunk).
    public func info(of key: String) throws -> ArrayInfo {
        let header = try header(of: key)
        return ArrayInfo(key: key, dtype: header.dtype, shape: header.shape, source: source(of: key))
    }

    /// The `.npy` header of member `key.npy`, reading only the member's first chunk.
    /// - Throws: if there is no such member, the header is unsupported, or the member's size
    ///   in the zip directory is not header plus `prod(shape) · itemsize` bytes.
    public func header(of key: String) throws -> NpyHeader {
        var found: NpyHeader?
        try stream(key: key, onHeader: { found = $0 }, onElements: { _ in .stop })
        guard let found else { throw SWAError(file: path, "internal: no header for '\(key)'") }
        return found
    }

    /// Streams the elements of member `key.npy` in chunks of at most `chunkByteCount` bytes;
    /// read to the end, the member's size and CRC-32 are checked.
    public func streamElements(of key: String, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        try stream(key: key, onHeader: { _ in }, onElements: body)
    }

    func source(of key: String) -> ArraySource {
        ArraySource(file: path, member: key + ".npy")
    }
}

// MARK: - Streaming a member

extension NpzArchive {
    /// Thrown from the consumer to end ZIPFoundation's extraction early.
    private struct StopReading: Error {}
    /// Carries an error of the caller's closures through ZIPFoundation untouched.
    private struct Forwarded: Error { var error: any Error }

    /// Streams member `key.npy`: its parsed header to `onHeader`, then its element bytes to
    /// `onElements` until they end or it returns `.stop`. A member read to its end has its
    /// byte count and CRC-32 checked.
    private func stream(key: String, onHeader: (NpyHeader) throws -> Void,
                        onElements: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        guard let entry = entries[key] else { throw missingKeyError(key) }
        let source = source(of: key)
        // A compressed size beyond the file would send zlib past the end of the archive.
        guard entry.compressedSize <= UInt64(fileByteCount) else {
            throw source.error("corrupt zip: the member claims \(entry.compressedSize) compressed bytes, the file has \(fileByteCount)")
        }
        let memberByteCount = Int(clamping: entry.uncompressedSize)
        var state = MemberState()
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry, bufferSize: Self.chunkByteCount, skipCRC32: false) { data in
                try data.withUnsafeBytes { (chunk: UnsafeRawBufferPointer) in
                    try state.consume(chunk, memberByteCount: memberByteCount, isCompressed: entry.isCompressed, source: source, onHeader: onHeader, onElements: onElements)
                }
            }
        } catch is StopReading {
            return
        } catch let forwarded as Forwarded {
            throw forwarded.error
        } catch let error as SWAError {
            throw error
        } catch {
            throw source.error("corrupt zip data: \(Self.describe(error, inflating: entry.isCompressed))")
        }
        guard let header = state.header else {
            throw source.error("truncated: the member holds \(state.prefix.count) bytes, too few for a .npy header")
        }
        guard state.elementBytesSeen == header.dataByteCount else {
            throw source.error(Self.sizeMismatch(header: header, dataBytes: state.elementBytesSeen))
        }
        guard checksum == entry.checksum else {
            throw source.error("corrupt zip: CRC-32 of the member is \(hex(checksum)), the directory says \(hex(entry.checksum))")
        }
    }

    /// What a member's data section is missing or has too much, for messages.
    static func sizeMismatch(header: NpyHeader, dataBytes: Int) -> String {
        let needs = "\(header.descr) \(header.shapeDescription) needs \(header.dataByteCount)"
        return dataBytes < header.dataByteCount
            ? "truncated: \(dataBytes) bytes of data follow the .npy header, \(needs)"
            : "\(dataBytes) bytes of data follow the .npy header, \(needs): the member has bytes after the array"
    }

    /// The header bytes gathered so far, then the count of element bytes passed on.
    private struct MemberState {
        var prefix: [UInt8] = []
        var header: NpyHeader?
        var elementBytesSeen = 0
        var memberBytesSeen = 0

        mutating func consume(_ chunk: UnsafeRawBufferPointer, memberByteCount: Int, isCompressed: Bool, source: ArraySource,
                              onHeader: (NpyHeader) throws -> Void,
                              onElements: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
            if chunk.isEmpty {
                // Stored: the file ended before the member's recorded size (ZIPFoundation counts
                // the bytes it asked for, not those it got). Inflating, an empty chunk is normal:
                // the output buffer filled exactly on the previous call.
                guard isCompressed || memberByteCount == 0 else {
                    throw source.error("corrupt zip: the file ends \(memberBytesSeen) bytes into the member's \(memberByteCount)")
                }
                return
            }
            // zlib may inflate a damaged stream to more bytes than the directory records.
            memberBytesSeen += chunk.count
            guard memberBytesSeen <= memberByteCount else {
                throw source.error("corrupt zip: the member inflates to more than the \(memberByteCount) bytes its directory entry records")
            }
            var rest = chunk
            if header == nil {
                prefix.append(contentsOf: chunk)
                let needed = try prefix.withUnsafeBytes { try NpyHeader.byteCount(prefix: $0, source: source) }
                guard let needed, prefix.count >= needed else { return }
                let parsed = try NpyHeader.parse(prefix, source: source)
                header = parsed
                // The directory's size tells a truncated member before any element is read.
                let dataBytes = memberByteCount - parsed.dataOffset
                guard dataBytes == parsed.dataByteCount else {
                    throw source.error(NpzArchive.sizeMismatch(header: parsed, dataBytes: dataBytes))
                }
                do { try onHeader(parsed) } catch { throw Forwarded(error: error) }
                rest = UnsafeRawBufferPointer(rebasing: chunk[(chunk.count - (prefix.count - needed))...])
                prefix = []
            }
            guard let header, !rest.isEmpty else { return }
            guard elementBytesSeen + rest.count <= header.dataByteCount else {
                throw source.error(NpzArchive.sizeMismatch(header: header, dataBytes: elementBytesSeen + rest.count))
            }
            elementBytesSeen += rest.count
            let step: ReadStep
            do { step = try onElements(rest) } catch { throw Forwarded(error: error) }
            if step == .stop { throw StopReading() }
        }
    }

    /// A sentence for an error ZIPFoundation throws opening the archive or reading a member,
    /// told by its type and case, never by its text.
    /// - Parameter inflating: whether the member being read is deflated. ZIPFoundation's
    ///   inflater reports a damaged stream with its `Data.CompressionError`, which is internal
    ///   to ZIPFoundation and so cannot be matched by type; reading a deflated member, that is
    ///   the only error not matched below (ZIPFoundation 0.9, `Data+Compression.swift`).
    static func describe(_ error: any Error, inflating: Bool = false) -> String {
        switch error {
        case let archiveError as Archive.ArchiveError:
            switch archiveError {
            case .missingEndOfCentralDirectoryRecord: return "no end-of-central-directory record (the file is truncated or not a zip)"
            case .invalidCRC32: return "CRC-32 mismatch"
            case .invalidCompressionMethod: return "unsupported compression method (only stored and deflate are)"
            case .invalidLocalHeaderDataOffset, .invalidLocalHeaderSize: return "bad local file header"
            case .invalidCentralDirectoryOffset, .invalidCentralDirectorySize, .invalidCentralDirectoryEntryCount:
                return "bad central directory"
            case .invalidEntrySize: return "bad member size"
            case .unreadableArchive: return "the archive cannot be read"
            default: return "\(archiveError)"
            }
        case let dataError as Data.DataError:
            switch dataError {
            case .unreadableFile: return "read error"
            case .unwritableFile: return "write error"
            }
        case let posixError as POSIXError:
            return String(cString: strerror(posixError.code.rawValue))
        case let cocoaError as CocoaError:
            switch cocoaError.code {
            case .fileReadNoSuchFile: return "no such file"
            case .fileReadNoPermission: return "permission denied"
            case .fileReadCorruptFile: return "the file is corrupt"
            default: return "\(cocoaError)"
            }
        default:
            return inflating ? "the deflate stream is corrupt" : "\(error)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
