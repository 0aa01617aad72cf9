import Crypto
import SWAFormats

extension SHA256 {
    /// Adds the bytes of the file at `path`, read 1 MiB at a time.
    /// - Throws: naming the file when it cannot be opened or read.
    public mutating func update(fileAt path: String) throws {
        let file = try InputFile(path: path)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        try buffer.withUnsafeMutableBytes { chunk in
            while true {
                let count = try file.read(into: chunk)
                if count == 0 { break }
                update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            }
        }
    }
}

extension SHA256.Digest {
    /// The digest in lowercase hex (64 characters).
    public var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
