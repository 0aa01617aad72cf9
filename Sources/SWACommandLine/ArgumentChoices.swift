import ArgumentParser
import SWAData
import SWAFormats
import SWAKit

// Fixed-choice flags parse straight into the library's types, so a bad value exits 2 with the
// list of choices (swift-argument-parser's own message), and comma lists parse in one place.

extension BufferPolicy: ExpressibleByArgument {}
extension BatchNormWeighting: ExpressibleByArgument {}
extension DataLayout: ExpressibleByArgument {}

extension OutputDType: ExpressibleByArgument {
    /// `keep`, `f32`, `f16`, `bf16` or `f64`, in any case.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "keep": self = .keep
        case "f32": self = .convert(.f32)
        case "f16": self = .convert(.f16)
        case "bf16": self = .convert(.bf16)
        case "f64": self = .convert(.f64)
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["keep", "f32", "f16", "bf16", "f64"] }

    public var defaultValueDescription: String {
        switch self {
        case .keep: "keep"
        case let .convert(dtype): dtype.name.lowercased()
        }
    }
}

/// Parses `1,2.5,3` (spaces allowed around items) for `@Option(transform:)`.
/// - Throws: `ValidationError` naming the text when an item is not a number.
public func commaSeparatedNumbers(_ text: String) throws -> [Double] {
    let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
        throw ValidationError("expected numbers separated by commas, got '\(text)'")
    }
    return values.map { $0! }
}

/// Parses `--augment` (`crop:P`, `flip`, `crop:P,flip`) for `@Option(transform:)`.
public func augmentationArgument(_ text: String) throws -> Augmentation {
    do {
        return try Augmentation.parse(text)
    } catch let error as SWAError {
        throw ValidationError(error.message)
    }
}

import Foundation

/// Parses `--max-shard-size` (`5GB`, `500MB`, `2GiB`, bytes) for `@Option(transform:)`.
public func byteSizeArgument(_ text: String) throws -> Int {
    guard let bytes = parseByteSize(text), bytes > 0 else {
        throw ValidationError("expected a positive size such as 5GB, 500MB, 2GiB or a number of bytes, got '\(text)'")
    }
    return bytes
}
