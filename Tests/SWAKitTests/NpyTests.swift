import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// `.npy` headers written byte by byte: every variant NumPy and older writers produce reads
/// back; everything this toolkit cannot use is one error naming the file, member and dtype.
@Suite("npy headers")
struct NpyTests {
    static let source = ArraySource(file: "d.npz", member: "x.npy")

    // MARK: - Accepted headers

    @Test("Versions 1.0, 2.0 and 3.0 with 16- and 64-byte padding parse to the same array", arguments: [1, 2, 3], [16, 64])
    func versionsAndPadding(version: Int, alignment: Int) throws {
        let bytes = NpyBytes.file(dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                  version: version, alignment: alignment, data: [UInt8](repeating: 0, count: 24))
        let header = try NpyHeader.parse(bytes, source: Self.source)
        #expect(header.majorVersion == version)
        #expect(header.dtype == .f32)
        #expect(header.descr == "<f4")
        #expect(header.shape == [2, 3])
        #expect(header.elementCount == 6)
        #expect(header.dataByteCount == 24)
        #expect(header.dataOffset % alignment == 0)
        #expect(header.dataOffset == bytes.count - 24)
        #expect(try bytes.withUnsafeBytes { try NpyHeader.byteCount(prefix: $0, source: Self.source) } == header.dataOffset)
    }

    @Test("Keys in any order, extra spaces, no trailing comma, double quotes", arguments: [
        "{'shape': (4,), 'fortran_order': False, 'descr': '<i8'}",
        "{ 'fortran_order' : False ,'descr':'<i8',  'shape' :(4 ,) ,}",
        "{\"descr\": \"<i8\", \"shape\": (4,), \"fortran_order\": False}",
        "{'descr': '<i8', 'fortran_order': False, 'shape': (4L,), }",
    ])
    func keyOrdersAndSpacing(dict: String) throws {
        let header = try NpyHeader.parse(NpyBytes.file(dict: dict, data: [UInt8](repeating: 0, count: 32)), source: Self.source)
        #expect(header.dtype == .i64)
        #expect(header.shape == [4])
    }

    @Test("Shapes: (3,) is one dimension, () a scalar of one element, (0, 5) empty")
    func shapes() throws {
        let vector = try NpyHeader.parse(NpyBytes.file(descr: "<f8", shape: "(3,)"), source: Self.source)
        #expect(vector.shape == [3])
        let scalar = try NpyHeader.parse(NpyBytes.file(descr: "<f8", shape: "()"), source: Self.source)
        #expect(scalar.shape == [])
        #expect(scalar.elementCount == 1)
        #expect(scalar.dataByteCount == 8)
        let empty = try NpyHeader.parse(NpyBytes.file(descr: "|u1", shape: "(0, 5)"), source: Self.source)
        #expect(empty.elementCount == 0)
    }

    @Test("Each supported descr maps to its element type", arguments: [
        ("<f4", DType.f32), ("<f8", .f64), ("|u1", .u8), ("<u1", .u8), ("<i4", .i32), ("<i8", .i64),
    ])
    func supportedDescrs(descr: String, dtype: DType) throws {
        let header = try NpyHeader.parse(NpyBytes.file(descr: descr, shape: "(5,)"), source: Self.source)
        #expect(header.dtype == dtype)
        #expect(header.dataByteCount == 5 * dtype.byteSize)
    }

    @Test("Fortran order is harmless for one dimension")
    func fortranOneDimension() throws {
        let header = try NpyHeader.parse(NpyBytes.file(dict: "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }"), source: Self.source)
        #expect(header.shape == [3])
    }

    @Test("The header written by NpzWriter is NumPy's: 64-byte aligned, keys sorted")
    func writerHeader() throws {
        let bytes = NpzWriter.npyHeader(descr: "<f4", shape: [1300, 1, 8, 8])
        #expect(bytes.count % 64 == 0)
        #expect(bytes.last == UInt8(ascii: "\n"))
        // numpy.save of a float32 (1300, 1, 8, 8) array begins with exactly these 128 bytes (read once with Python).
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1300, 1, 8, 8), }"
        #expect(bytes == NpyHeader.magic + [1, 0, 0x76, 0] + Array(dict.utf8) + Array(repeating: UInt8(ascii: " "), count: 128 - 10 - dict.utf8.count - 1) + [10])
        let header = try NpyHeader.parse(bytes, source: Self.source)
        #expect(header.shape == [1300, 1, 8, 8])
        #expect(header.dataOffset == 128)
    }

    @Test("The literal parser reads what NumPy writes and prints it back as Python would")
    func pythonLiterals() throws {
        let literal = try PythonLiteral.parse("{'a': (1, -2,), 'b': [('x', '<f4'), ('y', '<i4', (2,))], 'c': (7,), 'd': (), 'e': None, 'f': (3)}")
        #expect(literal.repr == "{'a': (1, -2), 'b': [('x', '<f4'), ('y', '<i4', (2,))], 'c': (7,), 'd': (), 'e': None, 'f': 3}")
        #expect(throws: PythonLiteralError.self) { try PythonLiteral.parse("{'a': 1") }
        #expect(throws: PythonLiteralError.self) { try PythonLiteral.parse("{'a': nope}") }
        #expect(throws: PythonLiteralError.self) { try PythonLiteral.parse("(1, 2) extra") }
        #expect(throws: PythonLiteralError.self) { try PythonLiteral.parse(String(repeating: "(", count: 100)) }
    }

    // MARK: - Rejected headers

    @Test("Unusable headers are one error naming the file, the member and the culprit", arguments: [
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "Fortran order"),
        ("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '>f4' (big-endian)"),
        ("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '<f2' (float16)"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '|O' (Python objects"),
        ("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '|b1' (bool)"),
        ("{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '<u4' (uint32)"),
        ("{'descr': '<V2', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype '<V2' (raw void bytes"),
        ("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (3,), }",
         "unsupported dtype [('a', '<f4'), ('b', '<i4')] (a structured dtype)"),
        ("{'descr': '<f4', 'shape': (3,), }", "key 'fortran_order' is missing"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", "unexpected key 'extra'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,)}", "key 'shape' appears twice"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", "'shape' is [3], expected a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "expected non-negative integers"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", "'fortran_order' is 0, expected True or False"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", "malformed .npy header: expected ',' or '}'"),
        ("['descr']", "expected a dict"),
    ])
    func rejectedHeaders(dict: String, expected: String) {
        let message = TestSupport.errorDescription { _ = try NpyHeader.parse(NpyBytes.file(dict: dict), source: Self.source) }
        #expect(message?.hasPrefix("d.npz: member 'x.npy': ") == true, "\(message ?? "no error")")
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
    }

    @Test("Bad magic, unknown version, absurd or truncated header")
    func rejectedPrefixes() {
        func message(_ bytes: [UInt8]) -> String {
            TestSupport.errorDescription { _ = try NpyHeader.parse(bytes, source: Self.source) } ?? "no error"
        }
        let good = NpyBytes.file(descr: "<f4", shape: "(1,)")
        #expect(message(Array("PK\u{3}\u{4}abcdefgh".utf8)) == "d.npz: member 'x.npy': not a .npy array: the magic bytes \\x93NUMPY are missing")
        var version = good
        version[6] = 4
        #expect(message(version) == "d.npz: member 'x.npy': unsupported .npy format version 4.0 (1.0, 2.0 and 3.0 are supported)")
        let absurd = NpyHeader.magic + [2, 0, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(message(absurd).contains("the .npy header length 2147483647 is absurd"))
        #expect(message(Array(good.prefix(40))) == "d.npz: member 'x.npy': truncated: the data ends inside the .npy header (40 bytes)")
        #expect(message(Array(good.prefix(9))).contains("truncated"))
        // A whole .npy file (no member) names just the file.
        let bare = TestSupport.errorDescription { _ = try NpyHeader.parse(version, source: ArraySource(file: "a.npy")) }
        #expect(bare?.hasPrefix("a.npy: unsupported .npy format version") == true)
    }

    @Test("Too short to tell the header length is not an error yet")
    func prefixNeedsMoreBytes() throws {
        let good = NpyBytes.file(descr: "<f4", shape: "(1,)", version: 2)
        for count in [0, 3, 6, 8, 11] {
            #expect(try Array(good.prefix(count)).withUnsafeBytes { try NpyHeader.byteCount(prefix: $0, source: Self.source) } == nil)
        }
        let dataOffset = try NpyHeader.parse(good, source: Self.source).dataOffset
        #expect(try Array(good.prefix(12)).withUnsafeBytes { try NpyHeader.byteCount(prefix: $0, source: Self.source) } == dataOffset)
    }
}

/// Hand-made `.npy` bytes for the tests.
enum NpyBytes {
    /// Magic, version, length field and `dict` padded with spaces and a newline to `alignment`, then `data`.
    static func file(dict: String, version: Int = 1, alignment: Int = 64, data: [UInt8] = []) -> [UInt8] {
        let lengthFieldCount = version == 1 ? 2 : 4
        let text = Array(dict.utf8)
        let unpadded = 6 + 2 + lengthFieldCount + text.count + 1
        let padded = text + Array(repeating: UInt8(ascii: " "), count: (alignment - unpadded % alignment) % alignment) + [10]
        var bytes = NpyHeader.magic + [UInt8(version), 0]
        let length = UInt32(padded.count)
        bytes += withUnsafeBytes(of: length.littleEndian) { Array($0.prefix(lengthFieldCount)) }
        return bytes + padded + data
    }

    static func file(descr: String, shape: String, version: Int = 1, data: [UInt8] = []) -> [UInt8] {
        file(dict: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }", version: version, data: data)
    }

    static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
}
