import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The strict RFC 8259 parser that reads safetensors headers and graphs, and its serialiser.
@Suite("JSON parser")
struct JSONParserTests {
    // MARK: - Valid documents

    @Test("Nested objects and arrays keep their order and values")
    func nestedDocument() throws {
        let value = try JSONValue.parse(#" { "b" : [1, {"x": null, "y": [true, false]}, []], "a": {}, "c": "text" } "#)
        let expected = JSONValue.object([
            ("b", .array([.number("1"), .object([("x", .null), ("y", .array([.bool(true), .bool(false)]))]), .array([])])),
            ("a", .object([])),
            ("c", .string("text")),
        ])
        #expect(value == expected)
        #expect(value.objectMembers?.map(\.0) == ["b", "a", "c"])
        #expect(value["c"]?.stringValue == "text")
        #expect(value["b"]?.arrayValue?.count == 3)
        #expect(value["missing"] == nil)
        // Order is part of equality: the same members in another order are another document.
        #expect(try JSONValue.parse(#"{"a":1,"b":2}"#) != JSONValue.parse(#"{"b":2,"a":1}"#))
    }

    @Test("Any value may stand alone at the top level, surrounded by whitespace")
    func topLevelScalars() throws {
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse(" \t\r\nnull\n") == .null)
        #expect(try JSONValue.parse(#""x""#) == .string("x"))
        #expect(try JSONValue.parse("0") == .number("0"))
    }

    @Test("Escapes decode, \\u surrogate pairs included")
    func escapes() throws {
        let value = try JSONValue.parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9\u00C9 \ud83d\ude00 \u0000""#)
        #expect(value == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t éÉ 😀 \u{0}"))
    }

    @Test("Raw UTF-8 in strings is kept as is")
    func rawUTF8() throws {
        #expect(try JSONValue.parse(#"{"ключ": "värde 😀"}"#)["ключ"]?.stringValue == "värde 😀")
    }

    @Test("Numbers keep their literal text; integers stay exact up to UInt64.max")
    func numbers() throws {
        let value = try JSONValue.parse("[-0, 1e5, 1.5E-3, 18446744073709551615, 0.25, -12, 2e+2]")
        let items = try #require(value.arrayValue)
        #expect(items == ["-0", "1e5", "1.5E-3", "18446744073709551615", "0.25", "-12", "2e+2"].map { JSONValue.number($0) })
        #expect(items[0].doubleValue == 0)
        #expect(items[0].doubleValue?.sign == .minus)
        #expect(items[1].doubleValue == 100_000)
        #expect(items[2].doubleValue == 0.0015)
        #expect(items[3].unsignedIntegerValue == UInt64.max)
        #expect(items[6].doubleValue == 200)
    }

    @Test("unsignedIntegerValue is nil for anything but a plain integer that fits in UInt64")
    func unsignedIntegerValue() throws {
        #expect(try JSONValue.parse("42").unsignedIntegerValue == 42)
        #expect(try JSONValue.parse("18446744073709551616").unsignedIntegerValue == nil)
        #expect(try JSONValue.parse("-1").unsignedIntegerValue == nil)
        #expect(try JSONValue.parse("1.0").unsignedIntegerValue == nil)
        #expect(try JSONValue.parse("1e5").unsignedIntegerValue == nil)
        #expect(try JSONValue.parse(#""7""#).unsignedIntegerValue == nil)
    }

    @Test("64 levels of nested containers are accepted")
    func sixtyFourLevels() throws {
        let arrays = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try depth(of: JSONValue.parse(arrays)) == 64)
        let objects = String(repeating: #"{"k":"#, count: 63) + "{}" + String(repeating: "}", count: 63)
        #expect(try depth(of: JSONValue.parse(objects)) == 64)
    }

    /// A scalar is no container: 64 arrays around a number are nested as deep as 64 empty ones.
    @Test("A scalar inside 64 nested arrays is 64 levels deep, not 65")
    func scalarInsideSixtyFourLevels() throws {
        let text = String(repeating: "[", count: 64) + "0" + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(text) }
    }

    // MARK: - Rejections

    @Test("Duplicate keys are rejected, naming the key and pointing at it")
    func duplicateKey() {
        let error = parseError(#"{"a":1,"b":2,"a":3}"#)
        #expect(error?.reason == "duplicate key 'a'")
        #expect(error?.offset == 13)
        #expect(parseError(#"{"x":{"k":1,"k":[]}}"#)?.reason == "duplicate key 'k'")
        // Keys are compared after unescaping.
        #expect(parseError(#"{"k":1,"\u006b":2}"#)?.reason == "duplicate key 'k'")
    }

    @Test("Text after the value is rejected", arguments: ["{} x", "[1]]", "1 2", "\"a\"\"b\"", "{}\u{0}"])
    func trailingText(text: String) {
        #expect(parseError(text)?.reason == "unexpected text after the JSON value")
    }

    @Test("Numbers with leading zeros are rejected", arguments: ["01", "[-01]", "00", "{\"a\":007}"])
    func leadingZeros(text: String) {
        #expect(parseError(text)?.reason == "number with a leading zero")
    }

    @Test("Malformed numbers are rejected", arguments: ["1.", ".5", "1e", "1e+", "+1", "-", "-a", "NaN", "Infinity"])
    func malformedNumbers(text: String) {
        #expect(parseError(text) != nil)
    }

    @Test("Bad escapes are rejected", arguments: [#""\x""#, #""\u12G4""#, #""\u12""#, #""\'""#, #""\"#])
    func badEscape(text: String) {
        let reason = parseError(text)?.reason ?? "accepted"
        #expect(reason.contains("escape"), "\(text): \(reason)")
    }

    @Test("Unpaired surrogates are rejected", arguments: [#""\ud800""#, #""\ud800x""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800\ud800""#])
    func unpairedSurrogate(text: String) {
        #expect(parseError(text)?.reason == "unpaired surrogate in a string")
    }

    @Test("Raw control characters in strings are rejected", arguments: [0x00, 0x01, 0x09, 0x0A, 0x1F] as [UInt8])
    func controlCharacter(byte: UInt8) {
        let bytes: [UInt8] = [0x22, 0x61, byte, 0x62, 0x22]
        let error = parseError(bytes)
        #expect(error?.reason == "control character in a string")
        #expect(error?.offset == 2)
    }

    @Test("Invalid UTF-8 in strings is rejected", arguments: [
        [0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x61, 0x80],
    ] as [[UInt8]])
    func invalidUTF8(inner: [UInt8]) {
        #expect(parseError([0x22] + inner + [0x22])?.reason == "invalid UTF-8 in a string")
        #expect(parseError(Array(#"{"k":"#.utf8) + [0x22] + inner + [0x22, 0x7D])?.reason == "invalid UTF-8 in a string")
    }

    @Test("Unterminated strings, arrays and objects are rejected", arguments: [
        #""abc"#, #"["a"#, "[1,2", "[1,", "[", #"{"a":1"#, #"{"a""#, #"{"a":"#, "{", #"{"a":{"b":[]"#,
    ])
    func unterminated(text: String) {
        let error = parseError(text)
        #expect(error != nil, "accepted \(text)")
        if let error { #expect(error.offset <= text.utf8.count) }
    }

    @Test("Other syntax errors are rejected", arguments: ["", "[1,]", #"{"a":1,}"#, #"{"a":[1}"#, "{a:1}", "['a']", "tru", "nul", "[1 2]", #"{"a" 1}"#, "{1:2}"])
    func otherSyntaxErrors(text: String) {
        #expect(parseError(text) != nil, "accepted \(text)")
    }

    @Test("Nesting deeper than 64 levels is rejected")
    func tooDeep() {
        let arrays = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(parseError(arrays)?.reason == "JSON nested deeper than 64 levels")
        let objects = String(repeating: #"{"k":"#, count: 64) + "{}" + String(repeating: "}", count: 64)
        #expect(parseError(objects)?.reason == "JSON nested deeper than 64 levels")
        // Hostile depth fails fast instead of exhausting the stack.
        #expect(parseError(String(repeating: "[", count: 100_000))?.reason == "JSON nested deeper than 64 levels")
    }

    @Test("The error's description gives the reason and the byte offset")
    func errorDescription() {
        #expect(parseError("[1,]").map(String.init(describing:)) == "unexpected character ']' at byte 3")
    }

    // MARK: - Serialisation

    @Test("Serialisation is compact and escapes what JSON requires")
    func serializedText() {
        let value = JSONValue.object([
            ("a", .array([.number("1"), .bool(true), .null, .number("-2.5e3")])),
            ("b", .string("x\"y\\z\n\r\t\u{01}\u{1F}/é😀")),
        ])
        #expect(value.serialized == #"{"a":[1,true,null,-2.5e3],"b":"x\"y\\z\n\r\t\u0001\u001f/é😀"}"#)
    }

    @Test("Every control character is escaped and parses back")
    func controlCharactersEscaped() throws {
        let text = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) })) + "\u{7F}\"\\"
        let value = JSONValue.object([(text, .string(text))])
        let serialized = value.serialized
        #expect(!serialized.utf8.contains { $0 < 0x20 })
        #expect(try JSONValue.parse(serialized) == value)
    }

    @Test("parse(serialized) gives back the same value")
    func roundTrip() throws {
        let value = JSONValue.object([
            ("__metadata__", .object([("swa.epoch", .string("7")), ("note", .string("say \"hi\"\nsecond line ключ 😀"))])),
            ("empty", .object([])),
            ("list", .array([.array([]), .number("18446744073709551615"), .number("-0"), .number("1.5E-3"), .bool(false), .null])),
            ("", .string("")),
        ])
        #expect(try JSONValue.parse(value.serialized) == value)
        let compact = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"s":"\u0001\\"}"#
        #expect(try JSONValue.parse(compact).serialized == compact)
    }
}

// MARK: - Helpers

/// The error `JSONValue.parse` throws for `bytes`, or `nil` if it accepts them.
private func parseError(_ bytes: [UInt8]) -> JSONParseError? {
    do {
        _ = try JSONValue.parse(bytes)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String) -> JSONParseError? {
    parseError(Array(text.utf8))
}

/// Containers nested in `value`, counting itself.
private func depth(of value: JSONValue) -> Int {
    switch value {
    case let .array(items): 1 + (items.map(depth(of:)).max() ?? 0)
    case let .object(members): 1 + (members.map { depth(of: $0.1) }.max() ?? 0)
    default: 0
    }
}
