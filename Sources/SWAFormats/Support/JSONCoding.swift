#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Foundation's JSON coders as the `swa.*` metadata (docs/FORMAT.md) and graph files
/// (docs/GRAPH.md) use them: one configuration, and decoding errors told in one line.
public enum JSONCoding {
    /// Compact JSON text with sorted keys, so equal values always give equal text.
    ///
    /// `/` is left unescaped (node names and checkpoint keys may hold it). JSON has no NaN or
    /// infinity; they are written as the strings `"nan"`, `"inf"` and `"-inf"`, which every
    /// reader here refuses with a message naming the field, so encoding cannot fail.
    public static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            // JSONEncoder fails only on non-finite floats, which the strategy above writes as strings.
            preconditionFailure("JSON encoding cannot fail here: \(error)")
        }
    }

    /// Decodes `type` from JSON text. Errors are `DecodingError`s, or whatever `type`'s own
    /// `init(from:)` throws; `syntaxFailure(in:)` tells text that is not JSON at all.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty && context.underlyingError == nil {
            // Foundation on Linux does not say where the text stops being JSON; the strict parser
            // does (it stops at the first problem, which may be a duplicate key JSONDecoder allows).
            var located: (any Error)?
            do { _ = try JSONValue.parse(text) } catch { located = error }
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: context.debugDescription, underlyingError: located))
        }
    }

    /// `"not valid JSON: unexpected end of JSON at byte 1"` when `error` says the text is not
    /// JSON at all, with where it stopped when that is known; `nil` for an error of shape.
    ///
    /// `JSONDecoder` reports bad syntax as `dataCorrupted` at the top of the document.
    public static func syntaxFailure(in error: DecodingError) -> String? {
        guard case let .dataCorrupted(context) = error, context.codingPath.isEmpty else { return nil }
        return "not valid JSON" + (context.underlyingError.map { ": \($0)" } ?? "")
    }

    /// One line for any decoding error: the place (see `path(_:)`) and `JSONDecoder`'s own words.
    ///
    /// A fallback; readers that know their schema say what they expected instead.
    public static func describe(_ error: DecodingError) -> String {
        let context: DecodingError.Context
        let codingPath: [any CodingKey]
        switch error {
        case let .typeMismatch(_, found), let .valueNotFound(_, found), let .dataCorrupted(found):
            context = found
            codingPath = found.codingPath
        case let .keyNotFound(key, found):
            context = found
            codingPath = found.codingPath + [key]
        @unknown default:
            return "\(error)"
        }
        let place = path(codingPath)
        return place.isEmpty ? context.debugDescription : "\(place): \(context.debugDescription)"
    }

    /// The place in the document `codingPath` points at, written as in JavaScript:
    /// `nodes[3].inputs`, `nodes[0].attrs.kernel_size`; the empty string for the top.
    public static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = arrayIndex(key) {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }

    /// The position, when `key` is a list's position rather than an object's key.
    ///
    /// A dictionary key such as `"3"` also has an `intValue`; `JSONDecoder` names list positions
    /// `"Index 3"`, which no object key of ours looks like.
    public static func arrayIndex(_ key: any CodingKey) -> Int? {
        guard let index = key.intValue, key.stringValue == "Index \(index)" else { return nil }
        return index
    }
}
