import SWAFormats
/// A Python literal as `ast.literal_eval` reads it, limited to what `.npy` headers hold.
///
/// NumPy writes the header of a `.npy` file as the `repr` of a dict
/// (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`), not as JSON: single
/// quotes, tuples, `True`/`False`, trailing commas. Structured dtypes add lists of tuples.
public indirect enum PythonLiteral: Equatable, Sendable {
    /// `'<f4'` or `"<f4"`.
    case string(String)
    /// A decimal integer, Python 2's `10L` included.
    case integer(Int)
    /// `True` or `False`.
    case bool(Bool)
    /// `None`.
    case none
    /// `(3, 4)`, `(3,)`, `()`.
    case tuple([PythonLiteral])
    /// `[...]`, as structured dtypes use.
    case list([PythonLiteral])
    /// Keys and values in the order written.
    case dict([(PythonLiteral, PythonLiteral)])

    /// Structural equality; dict members compare in order.
    public static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case (.none, .none): true
        case let (.tuple(a), .tuple(b)), let (.list(a), .list(b)): a == b
        case let (.dict(a), .dict(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The text Python's `repr` would print, for error messages: `'<f4'`, `(3,)`, `[('a', '<f4')]`.
    public var repr: String {
        switch self {
        case let .string(text): "'" + text + "'"
        case let .integer(value): String(value)
        case let .bool(flag): flag ? "True" : "False"
        case .none: "None"
        case let .tuple(items): items.count == 1 ? "(" + items[0].repr + ",)" : "(" + items.map(\.repr).joined(separator: ", ") + ")"
        case let .list(items): "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case let .dict(members): "{" + members.map { $0.repr + ": " + $1.repr }.joined(separator: ", ") + "}"
        }
    }
}

// MARK: - Parsing

extension PythonLiteral {
    /// Parses `text`, which must hold exactly one literal (surrounding white space allowed).
    /// - Throws: a description of the first problem and its character offset.
    public static func parse(_ text: String) throws(PythonLiteralError) -> PythonLiteral {
        var parser = PythonLiteralParser(scalars: Array(text.unicodeScalars))
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.scalars.count else { throw parser.failure("unexpected text after the literal") }
        return value
    }
}

/// Why a Python literal could not be read, and where.
public struct PythonLiteralError: Error, Equatable, CustomStringConvertible {
    /// What was wrong, e.g. `"expected ',' or '}'"`.
    public var reason: String
    /// Offset in Unicode scalars from the start of the text.
    public var offset: Int
    /// `"REASON at character OFFSET"`.
    public var description: String { "\(reason) at character \(offset)" }
}

private struct PythonLiteralParser {
    let scalars: [Unicode.Scalar]
    var position = 0

    /// Deep enough for any structured dtype NumPy writes; shallow enough that a hostile header cannot overflow the stack.
    static let maximumDepth = 32

    func failure(_ reason: String) -> PythonLiteralError { PythonLiteralError(reason: reason, offset: position) }

    var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    mutating func skipWhitespace() {
        while let scalar = current, scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" { position += 1 }
    }

    mutating func parseValue(depth: Int) throws(PythonLiteralError) -> PythonLiteral {
        guard depth < Self.maximumDepth else { throw failure("nested too deeply") }
        skipWhitespace()
        guard let scalar = current else { throw failure("unexpected end of text") }
        switch scalar {
        case "'", "\"": return .string(try parseString())
        case "(":
            let (items, sawComma) = try parseSequence(closing: ")", depth: depth)
            // `(3)` is just 3 in Python; only `(3,)` is a one-element tuple.
            if items.count == 1 && !sawComma { return items[0] }
            return .tuple(items)
        case "[": return .list(try parseSequence(closing: "]", depth: depth).items)
        case "{": return try parseDict(depth: depth)
        case "-", "+", "0"..."9": return .integer(try parseInteger())
        default:
            let word = parseWord()
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case "": throw failure("unexpected character '\(scalar)'")
            default: throw failure("unknown name '\(word)'")
            }
        }
    }

    mutating func parseWord() -> String {
        var word = ""
        while let scalar = current, scalar.properties.isAlphabetic || scalar == "_" || ("0"..."9").contains(scalar) {
            word.unicodeScalars.append(scalar)
            position += 1
        }
        return word
    }

    /// Items up to `closing`, comma separated, a trailing comma allowed.
    mutating func parseSequence(closing: Unicode.Scalar, depth: Int) throws(PythonLiteralError) -> (items: [PythonLiteral], sawComma: Bool) {
        position += 1
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if current == closing { position += 1; return (items, sawComma) }
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if current == "," { position += 1; sawComma = true; continue }
            guard current == closing else { throw failure("expected ',' or '\(closing)'") }
        }
    }

    mutating func parseDict(depth: Int) throws(PythonLiteralError) -> PythonLiteral {
        position += 1
        var members: [(PythonLiteral, PythonLiteral)] = []
        while true {
            skipWhitespace()
            if current == "}" { position += 1; return .dict(members) }
            let key = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard current == ":" else { throw failure("expected ':' after a dict key") }
            position += 1
            let value = try parseValue(depth: depth + 1)
            members.append((key, value))
            skipWhitespace()
            if current == "," { position += 1; continue }
            guard current == "}" else { throw failure("expected ',' or '}'") }
        }
    }

    /// A decimal integer; Python 2 writers appended `L` to longs (`10L`).
    mutating func parseInteger() throws(PythonLiteralError) -> Int {
        let start = position
        var text = ""
        if let sign = current, sign == "-" || sign == "+" { text.unicodeScalars.append(sign); position += 1 }
        while let scalar = current, ("0"..."9").contains(scalar) || scalar == "_" {
            if scalar != "_" { text.unicodeScalars.append(scalar) }
            position += 1
        }
        if current == "L" || current == "l" { position += 1 }
        guard let value = Int(text) else {
            position = start
            throw failure("'\(text)' is not an integer that fits in 64 bits")
        }
        return value
    }

    /// A quoted string with the simple backslash escapes; enough for dtype names and field names.
    mutating func parseString() throws(PythonLiteralError) -> String {
        let quote = scalars[position]
        position += 1
        var text = ""
        while let scalar = current {
            position += 1
            if scalar == quote { return text }
            if scalar == "\n" { throw failure("line break inside a string") }
            if scalar == "\\" {
                guard let escaped = current else { break }
                position += 1
                switch escaped {
                case "n": text += "\n"
                case "t": text += "\t"
                case "r": text += "\r"
                case "0": text += "\0"
                default: text.unicodeScalars.append(escaped)
                }
                continue
            }
            text.unicodeScalars.append(scalar)
        }
        throw failure("unterminated string")
    }
}
