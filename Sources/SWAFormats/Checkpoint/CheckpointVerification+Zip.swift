// MARK: - PyTorch zip files: every member against its CRC-32

extension CheckpointVerification {
    /// Checks every member of the PyTorch zip file `archive` against the CRC-32 its central
    /// directory records. Readers take tensors in place by offset and never see whole members,
    /// so this is where a flipped bit inside a storage shows.
    /// - Returns: the members checked.
    /// - Throws: naming the file, the member and the first tensor whose storage it holds.
    static func verifyZipMembers(of archive: PyTorchArchive) throws -> Int {
        let file = try InputFile(path: archive.path)
        let directory = try ZipDirectory(file: file)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let members = directory.names.compactMap { directory.members[$0] }.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }
        for member in members {
            var crc = CRC32()
            var offset = member.dataRange.lowerBound
            while offset < member.dataRange.upperBound {
                let count = min(buffer.count, member.dataRange.upperBound - offset)
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
                try file.read(at: offset, into: chunk)
                crc.update(UnsafeRawBufferPointer(chunk))
                offset += count
            }
            guard crc.value == member.crc32 else {
                let tensor = archive.placements.first { $0.byteCount > 0 && member.dataRange.contains($0.firstElementOffset) }
                let holder = tensor.map { ", which holds tensor '\($0.name)'" } ?? ""
                throw SWAError(file: archive.path, "zip member '\(member.name)'\(holder) does not match its CRC-32 "
                    + "(recorded \(hex(member.crc32)), computed \(hex(crc.value))): its bytes changed after it was written")
            }
        }
        return members.count
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
