import SWAData
import SWAEngine
import SWAFormats
import Foundation
import ZIPFoundation

/// Writes `.npy` bytes and `.npz` archives that `numpy.load` reads: for tests and for tools
/// that hand arrays to Python.
public enum NpzWriter {
    /// One array: its `descr` (e.g. `"<f4"`), shape, and raw little-endian elements in C order.
    public struct ArrayData: Sendable {
        /// NumPy dtype string, e.g. `"<f4"`; written as given, so tests can write unsupported ones.
        public var descr: String
        /// Dimensions, outermost first.
        public var shape: [Int]
        /// Raw little-endian elements in C order (not checked against `shape`).
        public var bytes: [UInt8]

        /// An array of any dtype from its raw bytes.
        public init(descr: String, shape: [Int], bytes: [UInt8]) {
            self.descr = descr
            self.shape = shape
            self.bytes = bytes
        }

        /// A float32 array.
        public init(float32 values: [Float], shape: [Int]) {
            self.init(descr: "<f4", shape: shape, bytes: values.withUnsafeBytes { Array($0) })
        }

        /// An int64 array.
        public init(int64 values: [Int64], shape: [Int]) {
            self.init(descr: "<i8", shape: shape, bytes: values.withUnsafeBytes { Array($0) })
        }

        /// A uint8 array.
        public init(uint8 values: [UInt8], shape: [Int]) {
            self.init(descr: "|u1", shape: shape, bytes: values)
        }

        /// The complete `.npy` file: version 1.0 header as NumPy writes it, then the elements.
        public var npyBytes: [UInt8] { NpzWriter.npyHeader(descr: descr, shape: shape) + bytes }
    }

    /// A version 1.0 `.npy` header as NumPy writes it: keys sorted, padded with spaces and a
    /// newline so the data starts at a multiple of 64 bytes.
    public static func npyHeader(descr: String, shape: [Int], fortranOrder: Bool = false) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
        let unpadded = NpyHeader.magic.count + 2 + 2 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return NpyHeader.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    /// Writes `arrays` to a new `.npz` at `path`, member `key.npy` for each key.
    /// - Parameter compressed: deflate the members, like `numpy.savez_compressed`; else store them, like `numpy.savez`.
    public static func write(_ arrays: [(key: String, array: ArrayData)], to path: String, compressed: Bool) throws {
        try writeMembers(arrays.map { (name: $0.key + ".npy", bytes: $0.array.npyBytes) }, to: path, compressed: compressed)
    }

    /// Writes arbitrary member bytes to a new zip at `path`: the tool for malformed test files.
    public static func writeMembers(_ members: [(name: String, bytes: [UInt8])], to path: String, compressed: Bool) throws {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        } catch {
            throw SWAError(file: path, "cannot create the archive: \(error)")
        }
        for (name, bytes) in members {
            do {
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count),
                                     compressionMethod: compressed ? .deflate : .none) { position, size in
                    Data(bytes[Int(position)..<Int(position) + size])
                }
            } catch {
                throw SWAError(file: path, "cannot add member '\(name)': \(error)")
            }
        }
    }
}
