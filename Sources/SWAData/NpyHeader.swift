import SWAFormats
/// The header of a `.npy` array: element type, shape, and where the data starts.
///
/// Layout (NumPy `numpy/lib/_format_impl.py`, NEP 1): the magic `\x93NUMPY`, a major and a
/// minor version byte, the header length (version 1.0: `UInt16`, 2.0 and 3.0: `UInt32`, little
/// endian), the header — the `repr` of a dict with exactly the keys `descr`, `fortran_order` and
/// `shape`, padded with spaces and a newline — then the raw elements in C order.
/// Writers pad to 64 bytes (NumPy) or 16 (NEP 1 and older writers); readers use the length.
public struct NpyHeader: Sendable, Equatable {
    /// Format version, `1`, `2` or `3` (the minor version is always 0).
    public var majorVersion: Int
    /// The dtype string as written, e.g. `"<f4"`.
    public var descr: String
    /// The element type `descr` names.
    public var dtype: DType
    /// Dimensions, outermost first (C order). `[]` is a scalar holding one element.
    public var shape: [Int]
    /// Bytes before the first element: magic, version, length field and header.
    public var dataOffset: Int

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of element data that must follow the header: `elementCount * dtype.byteSize`.
    public var dataByteCount: Int { elementCount * dtype.byteSize }
    /// `[1300, 1, 8, 8]`, as errors print shapes.
    public var shapeDescription: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    /// `\x93NUMPY`: the first six bytes of every `.npy` file.
    public static let magic: [UInt8] = FileFormat.npyMagic
    /// Longest header accepted. NumPy's own reader stops at 10,000 characters unless told
    /// otherwise; a larger limit keeps odd writers working while a lying length field still
    /// cannot make us allocate gigabytes.
    public static let maximumHeaderByteCount = 1 << 20

    /// The `descr` strings accepted, with their element types. Multi-byte types must be little
    /// endian (`<`); one-byte types have no byte order (`|`, `<` also accepted).
    public static let supportedDescrs: [(descr: String, dtype: DType)] = [
        ("<f4", .f32), ("<f8", .f64), ("|u1", .u8), ("<u1", .u8), ("<i4", .i32), ("<i8", .i64),
    ]

    /// A header with the given fields, as `parse` would return it.
    public init(majorVersion: Int, descr: String, dtype: DType, shape: [Int], dataOffset: Int) {
        self.majorVersion = majorVersion
        self.descr = descr
        self.dtype = dtype
        self.shape = shape
        self.dataOffset = dataOffset
    }
}

/// Where an array comes from, for error messages: the file, and the member inside an `.npz`.
public struct ArraySource: Sendable, Equatable {
    /// The path as the user gave it.
    public var file: String
    /// The archive member (`"x.npy"`) or tensor name, or `nil` for a whole `.npy` file.
    public var member: String?
    /// How messages name `member`: `member 'x.npy'` or `tensor 'x'`.
    public var memberKind: String

    /// - Parameter memberKind: `"member"` inside an `.npz`, `"tensor"` inside a checkpoint.
    public init(file: String, member: String? = nil, memberKind: String = "member") {
        self.file = file
        self.member = member
        self.memberKind = memberKind
    }

    /// An error naming the file and, where there is one, the member: `train.npz: member 'x.npy': MESSAGE`.
    public func error(_ message: String) -> SWAError {
        guard let member else { return SWAError(file: file, message) }
        return SWAError(file: file, "\(memberKind) '\(member)': \(message)")
    }
}

// MARK: - Reading

extension NpyHeader {
    /// The total header size (`dataOffset`) from the first bytes of a `.npy` stream, or `nil`
    /// when `prefix` is still too short to tell (fewer than 10 or 12 bytes).
    public static func byteCount(prefix: UnsafeRawBufferPointer, source: ArraySource) throws -> Int? {
        let magicCount = min(prefix.count, magic.count)
        guard prefix.prefix(magicCount).elementsEqual(magic.prefix(magicCount)) else {
            throw source.error("not a .npy array: the magic bytes \\x93NUMPY are missing")
        }
        guard prefix.count >= 8 else { return nil }
        let major = Int(prefix[6]), minor = Int(prefix[7])
        guard (1...3).contains(major), minor == 0 else {
            throw source.error("unsupported .npy format version \(major).\(minor) (1.0, 2.0 and 3.0 are supported)")
        }
        let lengthFieldCount = major == 1 ? 2 : 4
        guard prefix.count >= 8 + lengthFieldCount else { return nil }
        let length = major == 1
            ? Int(UInt16(prefix[8]) | UInt16(prefix[9]) << 8)
            : Int(UInt32(prefix[8]) | UInt32(prefix[9]) << 8 | UInt32(prefix[10]) << 16 | UInt32(prefix[11]) << 24)
        guard length <= maximumHeaderByteCount else {
            throw source.error("the .npy header length \(length) is absurd (limit \(maximumHeaderByteCount) bytes)")
        }
        return 8 + lengthFieldCount + length
    }

    /// Parses the header at the start of `bytes`, which may go on into the data.
    /// - Throws: an error naming `source` if the header is malformed, truncated, or describes
    ///   an array this toolkit cannot use (unsupported dtype, Fortran order).
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: ArraySource) throws -> NpyHeader {
        guard let total = try byteCount(prefix: bytes, source: source), total <= bytes.count else {
            throw source.error("truncated: the data ends inside the .npy header (\(bytes.count) bytes)")
        }
        let major = Int(bytes[6])
        let dictBytes = UnsafeRawBufferPointer(rebasing: bytes[(major == 1 ? 10 : 12)..<total])
        // Versions 1 and 2 are latin1; 3 is UTF-8 (for non-latin1 structured field names).
        let text = major == 3
            ? String(decoding: dictBytes, as: UTF8.self)
            : String(String.UnicodeScalarView(dictBytes.map { Unicode.Scalar($0) }))
        let literal: PythonLiteral
        do {
            literal = try PythonLiteral.parse(text)
        } catch {
            throw source.error("malformed .npy header: \(error.reason) at character \(error.offset) of \(quoted(text))")
        }
        return try interpret(literal, majorVersion: major, dataOffset: total, source: source)
    }

    /// Parses the header at the start of `bytes`.
    public static func parse(_ bytes: [UInt8], source: ArraySource) throws -> NpyHeader {
        try bytes.withUnsafeBytes { try parse($0, source: source) }
    }

    private static func interpret(_ literal: PythonLiteral, majorVersion: Int, dataOffset: Int, source: ArraySource) throws -> NpyHeader {
        guard case let .dict(members) = literal else {
            throw source.error("malformed .npy header: expected a dict, found \(literal.repr)")
        }
        var values: [String: PythonLiteral] = [:]
        for (key, value) in members {
            guard case let .string(name) = key, ["descr", "fortran_order", "shape"].contains(name) else {
                throw source.error("malformed .npy header: unexpected key \(key.repr) (expected 'descr', 'fortran_order', 'shape')")
            }
            guard values.updateValue(value, forKey: name) == nil else {
                throw source.error("malformed .npy header: key '\(name)' appears twice")
            }
        }
        for name in ["descr", "fortran_order", "shape"] where values[name] == nil {
            throw source.error("malformed .npy header: key '\(name)' is missing")
        }
        let shape = try interpretShape(values["shape"]!, source: source)
        let (descr, dtype) = try interpretDescr(values["descr"]!, source: source)
        guard case let .bool(fortranOrder) = values["fortran_order"]! else {
            throw source.error("malformed .npy header: 'fortran_order' is \(values["fortran_order"]!.repr), expected True or False")
        }
        // One dimension or none: Fortran and C order lay the elements out the same way.
        if fortranOrder && shape.count > 1 {
            throw source.error("array in Fortran order (fortran_order: True) is not supported; save it with numpy.ascontiguousarray first")
        }
        return NpyHeader(majorVersion: majorVersion, descr: descr, dtype: dtype, shape: shape, dataOffset: dataOffset)
    }

    private static func interpretShape(_ value: PythonLiteral, source: ArraySource) throws -> [Int] {
        guard case let .tuple(items) = value else {
            throw source.error("malformed .npy header: 'shape' is \(value.repr), expected a tuple of integers")
        }
        var shape: [Int] = []
        var product = 1
        for item in items {
            guard case let .integer(extent) = item, extent >= 0 else {
                throw source.error("malformed .npy header: 'shape' is \(value.repr), expected non-negative integers")
            }
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            // Eight bytes per element at most: keep the byte count representable too.
            guard !overflow, next <= Int.max / 8 else {
                throw source.error("malformed .npy header: shape \(value.repr) has too many elements")
            }
            product = next
            shape.append(extent)
        }
        return shape
    }

    private static func interpretDescr(_ value: PythonLiteral, source: ArraySource) throws -> (String, DType) {
        let supported = "supported: <f4 (float32), <f8 (float64), |u1 (uint8), <i4 (int32), <i8 (int64)"
        guard case let .string(descr) = value else {
            throw source.error("unsupported dtype \(value.repr) (a structured dtype); \(supported)")
        }
        if let match = supportedDescrs.first(where: { $0.descr == descr }) { return (descr, match.dtype) }
        let why: String
        if descr.hasPrefix(">") && descr.count > 2 {
            why = "big-endian"
        } else if descr.hasSuffix("O") || descr.hasSuffix("O8") || descr.hasSuffix("O4") {
            why = "Python objects, which need pickle"
        } else if descr.dropFirst().hasPrefix("V") {
            why = "raw void bytes, e.g. bfloat16 or a structured dtype"
        } else if let name = numpyName(of: descr) {
            why = name
        } else {
            why = "unknown"
        }
        throw source.error("unsupported dtype '\(descr)' (\(why)); \(supported)")
    }

    /// NumPy's name for a descr such as `<f2`, for messages: `float16`.
    private static func numpyName(of descr: String) -> String? {
        var body = Substring(descr)
        if let first = body.first, "<>|=".contains(first) { body = body.dropFirst() }
        guard let kind = body.first, let size = Int(body.dropFirst()) else { return nil }
        switch kind {
        case "f": return "float\(size * 8)"
        case "i": return "int\(size * 8)"
        case "u": return "uint\(size * 8)"
        case "b": return size == 1 ? "bool" : nil
        case "c": return "complex\(size * 8)"
        case "M": return "datetime64"
        case "m": return "timedelta64"
        case "U": return "unicode string"
        case "S": return "byte string"
        default: return nil
        }
    }

    /// `text` in single quotes, control characters escaped, cut to a readable length.
    private static func quoted(_ text: String) -> String {
        var shown = ""
        for scalar in text.unicodeScalars.prefix(120) {
            switch scalar {
            case "\n": shown += "\\n"
            case _ where scalar.value < 0x20: shown += "\\x" + String(scalar.value, radix: 16)
            default: shown.unicodeScalars.append(scalar)
            }
        }
        return "'" + shown + (text.unicodeScalars.count > 120 ? "…" : "") + "'"
    }
}
