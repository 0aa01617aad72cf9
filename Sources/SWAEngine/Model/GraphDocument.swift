#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SWAFormats

/// Graph JSON as written (docs/GRAPH.md, versions 1 and 2): the document's shape, before any op,
/// attribute or edge is checked.
///
/// `ModelGraph(json:source:)` decodes one and `ModelGraph.json` encodes one (see
/// ModelGraph+JSON.swift). Attributes stay `AnyJSONValue`s here, so that the op that reads
/// them can say which one is wrong and what it must be.
struct GraphDocument: Codable, Equatable {
    /// The value of `format`.
    static let formatName = "swa.graph"

    var format: String = Self.formatName
    var version: Int = ModelGraph.formatVersion
    var input: Input
    var nodes: [Node]
    var output: String

    /// The graph's input: its name and one sample's shape, `[C, H, W]` or `[F]`.
    struct Input: Codable, Equatable {
        var name: String
        var shape: [Int]
    }

    /// One node as written; `inputs`, `attrs` and `tensors` may be left out when empty.
    struct Node: Codable, Equatable {
        var name: String
        var op: String
        var inputs: [String]?
        /// PyTorch's constructor arguments (`kernel_size`, `eps`, ...), checked by the op.
        var attrs: [String: AnyJSONValue]?
        /// Checkpoint keys by role (`"weight"`, `"running_mean"`, ...).
        var tensors: [String: String]?
    }

    enum CodingKeys: String, CodingKey {
        case format, version, input, nodes, output
    }
}

// MARK: - Decoding

extension GraphDocument {
    /// Decodes graph JSON; every error is an `SWAError` whose message starts with `graph`.
    ///
    /// A document of the wrong shape gets one line naming the place and what belongs there:
    /// `graph: nodes[3].inputs: expected a list of node names (node 'layer1.0.conv1')`.
    init(json text: String) throws {
        do {
            self = try JSONCoding.decode(GraphDocument.self, from: text)
        } catch let error as DecodingError {
            if let syntax = JSONCoding.syntaxFailure(in: error) { throw SWAError("graph is \(syntax)") }
            throw SWAError("graph: \(Self.explain(error, in: text))")
        }
    }

    /// Reads `format` and `version` before anything else: another version may change the rest
    /// (docs/GRAPH.md, Versioning), and then "not supported" is the message that helps.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard try container.decodeIfPresent(AnyJSONValue.self, forKey: .format) == .string(Self.formatName) else {
            throw SWAError("graph: \"format\" must be \"\(Self.formatName)\"")
        }
        let written = try container.decodeIfPresent(AnyJSONValue.self, forKey: .version)
        let versions = ModelGraph.readableVersions
        guard let version = written?.integerValue, versions.contains(version) else {
            if let newer = written?.integerValue, newer > versions.upperBound {
                throw SWAError("graph: version \(newer) is newer than this build reads (versions \(versions.lowerBound) to \(versions.upperBound)); use a newer swa")
            }
            throw SWAError("graph: version \(written?.description ?? "missing") is not supported (this build reads versions \(versions.lowerBound) to \(versions.upperBound))")
        }
        self.version = version
        input = try container.decode(Input.self, forKey: .input)
        nodes = try container.decode([Node].self, forKey: .nodes)
        output = try container.decode(String.self, forKey: .output)
    }

    // MARK: - Messages

    /// `nodes[3].inputs: expected a list of node names (node 'b')` for an error of shape.
    private static func explain(_ error: DecodingError, in text: String) -> String {
        let codingPath: [any CodingKey]
        let isMissing: Bool
        switch error {
        case let .keyNotFound(key, context):
            (codingPath, isMissing) = (context.codingPath + [key], true)
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            (codingPath, isMissing) = (context.codingPath, false)
        @unknown default:
            return JSONCoding.describe(error)
        }
        var message: String
        if let (field, expected) = expectation(at: codingPath) {
            let place = JSONCoding.path(field)
            message = (place.isEmpty ? "" : "\(place): ") + (isMissing ? "missing, expected " : "expected ") + expected
        } else {
            message = JSONCoding.describe(error)  // a place the schema leaves open, such as inside an attribute
        }
        if let name = nodeName(at: codingPath, in: text) { message += " (node '\(name)')" }
        return message
    }

    /// What the schema puts at `codingPath`, and the part of the path that names the field:
    /// a bad item of a list of names is reported as the list (`nodes[3].inputs`).
    private static func expectation(at codingPath: [any CodingKey]) -> (field: [any CodingKey], expected: String)? {
        // "nodes[].tensors.*": positions as "[]", the role or attribute names under a node as "*".
        let pattern = codingPath.enumerated().map { position, key in
            if JSONCoding.arrayIndex(key) != nil { return "[]" }
            return (position == 0 ? "" : ".") + (position == 3 ? "*" : key.stringValue)
        }.joined()
        switch pattern {
        case "": return (codingPath, #"an object {"format": "swa.graph", "version": 2, "input", "nodes", "output"}"#)
        case "input": return (codingPath, #"an object {"name": ..., "shape": [C, H, W] or [F]}"#)
        case "input.name": return (codingPath, "a string, the name of the graph's input")
        case "input.shape", "input.shape[]": return (Array(codingPath.prefix(2)), "a list of sizes, [C, H, W] or [F]")
        case "nodes": return (codingPath, "a list of nodes")
        case "nodes[]": return (codingPath, #"an object {"name", "op", "inputs", "attrs", "tensors"}"#)
        case "nodes[].name": return (codingPath, "a string, the node's name")
        case "nodes[].op": return (codingPath, #"a string naming an op, such as "conv2d""#)
        case "nodes[].inputs", "nodes[].inputs[]": return (Array(codingPath.prefix(3)), "a list of node names")
        case "nodes[].attrs": return (codingPath, "an object of attributes")
        case "nodes[].tensors": return (codingPath, "an object mapping tensor roles to checkpoint keys")
        case "nodes[].tensors.*": return (codingPath, "a checkpoint key (a string)")
        case "output": return (codingPath, "a string, the name of the output node")
        default: return nil
        }
    }

    /// The name of the node `codingPath` points into, read again without a schema; a list
    /// position alone is hard to find in a graph of hundreds of nodes.
    private static func nodeName(at codingPath: [any CodingKey], in text: String) -> String? {
        guard codingPath.count > 2, codingPath[0].stringValue == CodingKeys.nodes.stringValue,
              let index = JSONCoding.arrayIndex(codingPath[1]),
              case let .object(document)? = try? JSONCoding.decode(AnyJSONValue.self, from: text),
              let nodes = document[CodingKeys.nodes.stringValue]?.listValue, nodes.indices.contains(index),
              case let .object(node) = nodes[index] else { return nil }
        return node["name"]?.stringValue
    }
}
