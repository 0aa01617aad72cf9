/// The central directory of a zip archive, read in place: member names and where their stored
/// bytes lie in the file. Only what `torch.save` writes is accepted: stored (uncompressed)
/// members, zip64 when the archive needs it.
///
/// Layout (PKWARE APPNOTE 4.3): the end-of-central-directory record (`PK\5\6`, 22 bytes plus
/// a comment) at the end, optionally preceded by a zip64 locator (`PK\6\7`) pointing at a zip64
/// end record (`PK\6\6`); it gives the central directory's offset and entry count. Each
/// central entry (`PK\1\2`) names a member and its local header (`PK\3\4`), after which,
/// past the local name and extra field, the member's bytes start.
struct ZipDirectory {
    /// One member: its name, compression method and the byte range of its data in the file.
    struct Member {
        var name: String
        var method: UInt16
        var dataRange: Range<Int>
        /// The CRC-32 the central directory records for the member's uncompressed bytes.
        var crc32: UInt32 = 0
    }

    /// Members by name.
    let members: [String: Member]
    /// Member names in directory order.
    let names: [String]

    /// Most members accepted (a state dict of a million tensors has a million storages at most).
    static let maximumMemberCount = 1 << 22

    /// Reads the directory of `file`.
    /// - Throws: naming the file for a truncated or damaged archive.
    init(file: InputFile) throws {
        let path = file.path
        func fail(_ message: String) -> SWAError { SWAError(file: path, "damaged or truncated zip archive: \(message)") }
        let tailCount = min(file.size, 22 + 0xFFFF)
        guard tailCount >= 22, let tail = try file.bytes(at: file.size - tailCount, count: tailCount) else {
            throw fail("too short for an end-of-directory record")
        }
        guard let endIndex = stride(from: tail.count - 22, through: 0, by: -1).first(where: { tail.le32($0) == 0x0605_4B50 }) else {
            throw fail("no end-of-directory record (the file was cut short?)")
        }
        var entryCount = Int(tail.le16(endIndex + 10))
        var directorySize = Int(tail.le32(endIndex + 12))
        var directoryOffset = Int(tail.le32(endIndex + 16))
        let endOffset = file.size - tailCount + endIndex
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64: the locator sits just before the end record.
            guard endOffset >= 20, let locator = try file.bytes(at: endOffset - 20, count: 20), locator.le32(0) == 0x0706_4B50 else {
                throw fail("zip64 sizes without a zip64 locator")
            }
            let recordOffset = locator.le64(8)
            guard file.size >= 56, recordOffset <= UInt64(file.size - 56), let record = try file.bytes(at: Int(recordOffset), count: 56),
                  record.le32(0) == 0x0606_4B50 else {
                throw fail("the zip64 end record is missing")
            }
            guard record.le64(32) <= UInt64(Self.maximumMemberCount), record.le64(40) <= UInt64(file.size), record.le64(48) <= UInt64(file.size) else {
                throw fail("the zip64 end record claims more than the file holds")
            }
            entryCount = Int(record.le64(32))
            directorySize = Int(record.le64(40))
            directoryOffset = Int(record.le64(48))
        }
        guard entryCount <= Self.maximumMemberCount, directoryOffset + directorySize <= file.size,
              let directory = try file.bytes(at: directoryOffset, count: directorySize) else {
            throw fail("the central directory lies outside the file")
        }
        var members: [String: Member] = [:]
        var names: [String] = []
        var at = 0
        for _ in 0..<entryCount {
            guard at + 46 <= directory.count, directory.le32(at) == 0x0201_4B50 else { throw fail("central directory entry \(names.count) is damaged") }
            let method = directory.le16(at + 10)
            let crc32 = directory.le32(at + 16)
            var compressedSize = UInt64(directory.le32(at + 20))
            var size = UInt64(directory.le32(at + 24))
            let nameLength = Int(directory.le16(at + 28))
            let extraLength = Int(directory.le16(at + 30))
            let commentLength = Int(directory.le16(at + 32))
            var localOffset = UInt64(directory.le32(at + 42))
            let end = at + 46 + nameLength + extraLength + commentLength
            guard end <= directory.count else { throw fail("central directory entry \(names.count) is damaged") }
            let name = String(decoding: directory[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            // Zip64 extra field (id 1): the 64-bit values, in this order, for those saturated above.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = directory.le16(extra)
                let length = Int(directory.le16(extra + 2))
                guard extra + 4 + length <= extraEnd else { break }
                if id == 1 {
                    var field = extra + 4
                    func next() -> UInt64? {
                        guard field + 8 <= extra + 4 + length else { return nil }
                        defer { field += 8 }
                        return directory.le64(field)
                    }
                    if size == 0xFFFF_FFFF { size = next() ?? size }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = next() ?? compressedSize }
                    if localOffset == 0xFFFF_FFFF { localOffset = next() ?? localOffset }
                }
                extra += 4 + length
            }
            guard localOffset <= UInt64(file.size), UInt64(file.size) - localOffset >= 30, compressedSize <= UInt64(file.size),
                  let local = try file.bytes(at: Int(localOffset), count: 30), local.le32(0) == 0x0403_4B50 else {
                throw fail("member '\(name)' has no local header where the directory says")
            }
            let dataStart = Int(localOffset) + 30 + Int(local.le16(26)) + Int(local.le16(28))
            guard dataStart + Int(compressedSize) <= file.size else {
                throw fail("member '\(name)' ends past the end of the file")
            }
            if members[name] == nil { names.append(name) }
            members[name] = Member(name: name, method: method, dataRange: dataStart..<(dataStart + Int(compressedSize)), crc32: crc32)
            at = end
        }
        self.members = members
        self.names = names
    }
}

extension Array where Element == UInt8 {
    /// Little-endian integers at a byte offset (the caller has checked the bounds).
    func le16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func le32(_ at: Int) -> UInt32 { UInt32(le16(at)) | UInt32(le16(at + 2)) << 16 }
    func le64(_ at: Int) -> UInt64 { UInt64(le32(at)) | UInt64(le32(at + 4)) << 32 }
}
