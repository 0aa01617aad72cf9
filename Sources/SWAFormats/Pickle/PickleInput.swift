/// The bytes a pickle is read from: a range of a file, read in chunks, or bytes in memory.
///
/// Every read is checked against the end of the range before anything is allocated, so a
/// length field claiming gigabytes in a small file fails at once ("the pickle ends early").
public final class PickleInput {
    private let file: InputFile?
    private var chunk: [UInt8]
    private var chunkStart: Int
    private var cursor: Int
    /// The first offset past the pickle's bytes.
    public let end: Int

    /// Bytes read per `pread` from a file.
    static let chunkByteCount = 1 << 16

    /// Reads `file` from `offset` up to `end` (the file's end when nil).
    public init(file: InputFile, offset: Int, end: Int? = nil) {
        self.file = file
        chunk = []
        chunkStart = offset
        cursor = offset
        self.end = min(end ?? file.size, file.size)
    }

    /// Reads `bytes`.
    public init(bytes: [UInt8]) {
        file = nil
        chunk = bytes
        chunkStart = 0
        cursor = 0
        end = bytes.count
    }

    /// The offset of the next byte to read (in the file, or in the bytes).
    public var offset: Int { cursor }
    /// Bytes left before the end.
    public var remaining: Int { end - cursor }

    /// The next byte.
    public func byte() throws -> UInt8 {
        if cursor < chunkStart || cursor >= chunkStart + chunk.count { try refill(atLeast: 1) }
        defer { cursor += 1 }
        return chunk[cursor - chunkStart]
    }

    /// The next `count` bytes.
    public func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= remaining else { throw PickleError("the pickle ends early (\(count) bytes wanted, \(max(0, remaining)) left)") }
        if cursor < chunkStart || cursor + count > chunkStart + chunk.count { try refill(atLeast: count) }
        defer { cursor += count }
        return Array(chunk[(cursor - chunkStart)..<(cursor - chunkStart + count)])
    }

    /// The bytes up to the next newline, without it (text opcodes of protocols 0 and 1).
    public func line(maximum: Int = 1 << 16) throws -> [UInt8] {
        var result: [UInt8] = []
        while true {
            let next = try byte()
            if next == UInt8(ascii: "\n") { return result }
            guard result.count < maximum else { throw PickleError("a text field longer than \(maximum) bytes") }
            result.append(next)
        }
    }

    /// An unsigned little-endian integer of `count` bytes (1, 2, 4 or 8).
    public func unsigned(_ count: Int) throws -> UInt64 {
        let raw = try bytes(count)
        var value: UInt64 = 0
        for (shift, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        return value
    }

    /// A length field of `count` bytes, checked to be at most what is left.
    public func length(_ count: Int) throws -> Int {
        let value = try unsigned(count)
        guard value <= UInt64(max(0, remaining)) else {
            throw PickleError("a length of \(value) bytes where only \(max(0, remaining)) remain")
        }
        return Int(value)
    }

    private func refill(atLeast count: Int) throws {
        guard let file, cursor + count <= end else { throw PickleError("the pickle ends early") }
        let want = min(max(count, Self.chunkByteCount), end - cursor)
        guard let read = try file.bytes(at: cursor, count: want) else { throw PickleError("the pickle ends early") }
        chunk = read
        chunkStart = cursor
    }
}
