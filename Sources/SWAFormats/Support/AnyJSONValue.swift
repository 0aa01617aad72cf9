#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Any JSON value, as Foundation's `JSONDecoder` reads it when no type is imposed.
///
/// For fields whose type our own checks decide, so that the message can quote what it found:
/// `attribute 'kernel_size' must be an integer or a list of two integers` (docs/GRAPH.md),
/// `'std' holds 0; expected positive numbers` (docs/FORMAT.md, `swa.preprocess`). Numbers that
/// are whole and fit in `Int` decode as `.integer` (so `3` and `3.0` both do), other numbers as
/// `.number`; `.integer(1)` and `.number(1)` are different values.
///
/// The safetensors header does not use this type: it needs `JSONValue`, whose parser rejects
/// duplicate keys and keeps every number's literal text.
public enum AnyJSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number that fits in `Int`: `3`, `-1`, `3.0`.
    case integer(Int)
    /// Any other number: `1e-05`, `0.5`, `1e20`.
    case number(Double)
    /// A string.
    case string(String)
    /// A JSON array.
    case list([AnyJSONValue])
    /// A JSON object; the order of its keys is not kept.
    case object([String: AnyJSONValue])

    /// Decodes whichever JSON value is there.
    ///
    /// A `Decoder` cannot be asked what kind of value it holds, so each kind is tried in turn;
    /// a kind that does not match is a `typeMismatch` at this level, and any other error is
    /// thrown. (`JSONDecoder` itself refuses a number beyond `Double`'s range as "not valid JSON".)
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        func attempt<T: Decodable>(_ type: T.Type) throws -> T? {
            do {
                return try container.decode(type)
            } catch let DecodingError.typeMismatch(_, context) where context.codingPath.count == container.codingPath.count {
                return nil
            }
        }
        if container.decodeNil() {
            self = .null
        } else if let flag = try attempt(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? container.decode(Int.self) {
            // Any failure here, a fraction or a whole number too large for Int, leaves it to Double.
            self = .integer(integer)
        } else if let number = try attempt(Double.self) {
            self = .number(number)
        } else if let text = try attempt(String.self) {
            self = .string(text)
        } else if let items = try attempt([AnyJSONValue].self) {
            self = .list(items)
        } else {
            self = .object(try container.decode([String: AnyJSONValue].self))
        }
    }

    /// Encodes the value as the JSON it came from (`.number` through `Double`'s shortest exact text).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(flag): try container.encode(flag)
        case let .integer(integer): try container.encode(integer)
        case let .number(number): try container.encode(number)
        case let .string(text): try container.encode(text)
        case let .list(items): try container.encode(items)
        case let .object(members): try container.encode(members)
        }
    }

    // MARK: - Accessors

    /// The value of an `.integer`; `nil` for anything else.
    public var integerValue: Int? {
        if case let .integer(integer) = self { return integer }
        return nil
    }

    /// The value of an `.integer` or a `.number` as a `Double`; `nil` for anything else.
    public var doubleValue: Double? {
        switch self {
        case let .integer(integer): Double(integer)
        case let .number(number): number
        default: nil
        }
    }

    /// The text of a `.string`; `nil` for anything else.
    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    /// The items of a `.list`; `nil` for anything else.
    public var listValue: [AnyJSONValue]? {
        if case let .list(items) = self { return items }
        return nil
    }

    /// Compact JSON text, for quoting the value in a message (`"chw"`, `[0.5, 0]` as `[0.5,0]`).
    public var description: String { JSONCoding.encode(self) }
}
