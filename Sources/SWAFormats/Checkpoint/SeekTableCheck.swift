/// The seek table held against the frames actually found in the file (`swa-inspect --verify`).
///
/// Readers never use the seek table: they decode the stream front to back, and libzstd skips
/// the table's skippable frame. A flipped bit in it therefore changes no result, but a tool
/// that seeks with it (facebook/zstd `contrib/seekable_format`) would land in the wrong place,
/// so `--verify` compares every field with what the frames are.
enum SeekTableCheck {
    /// Checks the seek table at the end of `file` against `frames` (every frame of the file,
    /// decoded); returns the table, or `nil` when the file has none.
    /// - Throws: naming the file and the field at fault.
    static func verify(file: InputFile, frames: [ZstdFrameRecord]) throws -> SeekTable? {
        let path = file.path
        let footer = try file.bytes(at: file.size - 9, count: 9)
        let hasFooter = footer.map { u32($0, 5) == ZstdMagic.seekableFooter } ?? false
        let last = frames.last
        let endsWithTableFrame = last?.magic == ZstdMagic.seekTableFrame
        switch (hasFooter, endsWithTableFrame) {
        case (false, false): return nil
        case (false, true):
            throw SWAError(file: path, "corrupt seek table: the file ends with a seek table frame whose footer magic is not 0x8F92EAB1")
        case (true, false):
            throw SWAError(file: path, "corrupt seek table: the file ends with the seek table footer but not inside a skippable frame of magic 0x184D2A5E")
        case (true, true): break
        }
        let descriptor = footer![4]
        guard descriptor & 0x7C == 0 else {
            throw SWAError(file: path, "corrupt seek table: reserved bits of its descriptor are set (0x\(String(descriptor, radix: 16)))")
        }
        guard let table = try SeekTable.read(from: file) else {
            throw SWAError(file: path, "corrupt seek table: unreadable")
        }
        let tableFrame = last!
        let dataFrames = frames.dropLast().filter { !$0.isSkippable }
        let entrySize = descriptor & 0x80 != 0 ? 12 : 8
        guard tableFrame.compressedByteCount == 8 + table.entries.count * entrySize + 9 else {
            throw SWAError(file: path, "corrupt seek table: its frame holds \(tableFrame.compressedByteCount) bytes, \(table.entries.count) entries need \(8 + table.entries.count * entrySize + 9)")
        }
        guard table.entries.count == dataFrames.count else {
            throw SWAError(file: path, "corrupt seek table: it lists \(table.entries.count) frames, the file holds \(dataFrames.count)")
        }
        for (index, (entry, frame)) in zip(table.entries, dataFrames).enumerated() {
            guard entry.compressedByteCount == frame.compressedByteCount else {
                throw SWAError(file: path, "corrupt seek table: entry \(index + 1) says \(entry.compressedByteCount) compressed bytes, frame \(index + 1) has \(frame.compressedByteCount)")
            }
            guard entry.decompressedByteCount == frame.decompressedByteCount else {
                throw SWAError(file: path, "corrupt seek table: entry \(index + 1) says \(entry.decompressedByteCount) decompressed bytes, frame \(index + 1) gives \(frame.decompressedByteCount)")
            }
        }
        return table
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
