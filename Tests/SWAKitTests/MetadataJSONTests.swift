import Foundation
import Testing
@testable import SWAFormats

/// `swa.preprocess` through JSONDecoder/JSONEncoder (docs/FORMAT.md), and the shared pieces:
/// `AnyJSONValue` and `JSONCoding`. The parse cases of DataTests stay as they were.
@Suite struct MetadataJSONTests {
    // MARK: - swa.preprocess

    @Test func preprocessingIsWrittenCompactWithSortedKeys() {
        let preprocessing = Preprocessing(layout: .nhwc, mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201], scale: 1.0 / 255)
        #expect(preprocessing.metadataJSON
            == #"{"layout":"nhwc","mean":[0.4914,0.4822,0.4465],"scale":0.00392156862745098,"std":[0.2023,0.1994,0.201]}"#)
        #expect(Preprocessing(mean: [0], std: [1]).metadataJSON == #"{"layout":"nchw","mean":[0],"std":[1]}"#)
    }

    @Test(arguments: [
        Preprocessing(mean: [0.30536583533653844], std: [0.3759227772412325], scale: 1),
        Preprocessing(layout: .nf, mean: [-1e-300, .leastNonzeroMagnitude, 1e300], std: [1e-3, 0.1, 1.0000000000000002], scale: nil),
        Preprocessing(layout: .nhwc, mean: [0.1, 0.2, 0.30000000000000004], std: [0.7], scale: 0.1),
    ])
    func preprocessingRoundTripsExactly(_ preprocessing: Preprocessing) throws {
        let again = try Preprocessing.parse(metadataJSON: preprocessing.metadataJSON)
        #expect(again == preprocessing)
        #expect(again.mean.map(\.bitPattern) == preprocessing.mean.map(\.bitPattern))
        #expect(again.std.map(\.bitPattern) == preprocessing.std.map(\.bitPattern))
    }

    @Test func preprocessingDecodesInsideOtherDocuments() throws {
        struct Manifest: Codable, Equatable {
            var name: String
            var preprocess: Preprocessing
        }
        let manifest = Manifest(name: "cifar10", preprocess: Preprocessing(mean: [0.5], std: [0.25]))
        #expect(try JSONCoding.decode(Manifest.self, from: JSONCoding.encode(manifest)) == manifest)
        let error = try #require(throws: SWAError.self) {
            try JSONCoding.decode(Manifest.self, from: #"{"name": "a", "preprocess": {"mean": [0], "std": [-1]}}"#)
        }
        #expect(error.message == "'std' holds -1; expected positive numbers")
    }

    @Test("More swa.preprocess errors, each one line quoting what it found", arguments: [
        (#"{"mean": [0], "std": [1], "layout": null}"#, #"'layout' is null; expected "nchw", "nhwc" or "nf""#),
        (#"{"mean": [0], "std": [1], "layout": 4}"#, #"'layout' is 4; expected "nchw", "nhwc" or "nf""#),
        (#"{"mean": null, "std": [1]}"#, "'mean' is null; expected a non-empty list of numbers"),
        (#"{"mean": [0], "std": {"a": 1}}"#, #"'std' is {"a":1}; expected a non-empty list of numbers"#),
        (#"{"mean": [0, [1]], "std": [1]}"#, "'mean' holds [1]; expected finite numbers"),
        (#"{"mean": [0], "std": [1, 0.5, -0.25]}"#, "'std' holds -0.25; expected positive numbers"),
        (#"{"mean": [0], "std": [1], "scale": "1"}"#, #"'scale' is "1"; expected a positive number"#),
        (#"{"mean": [0], "std": [1], "scale": 0}"#, "'scale' is 0; expected a positive number"),
        (#""nchw""#, #"expected a JSON object, found "nchw""#),
        (#"{"mean": [0], "std": [1]"#, "not valid JSON: unexpected end of JSON inside an object at byte 24"),
        (#"{"mean": [0] "std": [1]}"#, "not valid JSON: expected ',' or '}' in an object at byte 13"),
    ])
    func preprocessingErrorsQuoteWhatTheyFound(_ json: String, _ message: String) throws {
        let error = try #require(throws: SWAError.self) { try Preprocessing.parse(metadataJSON: json, file: "m.bin") }
        #expect(error.description == "m.bin: swa.preprocess: \(message)")
    }

    @Test func preprocessingWithoutFileNamesNoFile() throws {
        let error = try #require(throws: SWAError.self) { try Preprocessing.parse(metadataJSON: "{}") }
        #expect(error.file == nil)
        #expect(error.description == "swa.preprocess: 'mean' is missing")
    }

    @Test func dataLayoutIsItsName() throws {
        #expect(JSONCoding.encode(DataLayout.allCases) == #"["nchw","nhwc","nf"]"#)
        #expect(try JSONCoding.decode([DataLayout].self, from: #"["nf", "nchw"]"#) == [.nf, .nchw])
    }

    // MARK: - AnyJSONValue

    @Test func anyJSONValueTakesEveryKind() throws {
        let value = try JSONCoding.decode(AnyJSONValue.self, from: #"{"n": null, "b": false, "i": -3, "w": 2.0, "d": 1e-05, "s": "a/\"b\"", "l": [1, [2.5]], "o": {}}"#)
        #expect(value == .object(["n": .null, "b": .bool(false), "i": .integer(-3), "w": .integer(2), "d": .number(1e-05),
                                  "s": .string("a/\"b\""), "l": .list([.integer(1), .list([.number(2.5)])]), "o": .object([:])]))
        #expect(value.description == #"{"b":false,"d":1e-05,"i":-3,"l":[1,[2.5]],"n":null,"o":{},"s":"a/\"b\"","w":2}"#)
        #expect(try JSONCoding.decode(AnyJSONValue.self, from: "18446744073709551615") == .number(Double(UInt64.max)))
        #expect(AnyJSONValue.integer(3).doubleValue == 3)
        #expect(AnyJSONValue.number(3).integerValue == nil)
    }

    @Test func nonFiniteNumbersAreWrittenAsStrings() {
        #expect(JSONCoding.encode([AnyJSONValue.number(.nan), .number(.infinity), .number(-.infinity)]) == #"["nan","inf","-inf"]"#)
        let error = TestSupport.errorDescription {
            _ = try Preprocessing.parse(metadataJSON: Preprocessing(mean: [0], std: [.infinity]).metadataJSON)
        }
        #expect(error == #"swa.preprocess: 'std' holds "inf"; expected positive numbers"#)
    }

    // MARK: - JSONCoding

    @Test func pathsReadLikeJavaScript() throws {
        struct Inner: Decodable { var value: Int }
        struct Outer: Decodable { var items: [[String: Inner]] }
        let error = try #require(throws: DecodingError.self) {
            try JSONCoding.decode(Outer.self, from: #"{"items": [{}, {"3": {"value": "x"}}]}"#)
        }
        #expect(JSONCoding.describe(error).hasPrefix("items[1].3.value: "))
        #expect(JSONCoding.syntaxFailure(in: error) == nil)
    }
}
