import Foundation
import Testing
@testable import SWAEngine
@testable import SWAFormats

/// The docs say what the tools do: their commands print what they show, their JSON examples
/// have exactly the keys printed, their graph is one the tools take.
@Suite struct DocumentationTests {
    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: TestSupport.root + "/" + path, encoding: .utf8)
    }

    /// The body of the first fenced block of `language` after `marker` in `text`.
    static func block(_ language: String, after marker: String, in text: String) throws -> String {
        let start = try #require(text.range(of: marker), "no '\(marker)'")
        let open = try #require(text.range(of: "```\(language)\n", range: start.upperBound..<text.endIndex))
        let close = try #require(text.range(of: "\n```", range: open.upperBound..<text.endIndex))
        return String(text[open.upperBound..<close.lowerBound])
    }

    /// Every key path of a JSON value: `data.normalization.mean`, `ensemble.members[].path`.
    static func keyPaths(_ value: JSONValue, _ prefix: String = "") -> Set<String> {
        if let members = value.objectMembers {
            return members.reduce(into: Set<String>()) { paths, member in
                let path = prefix.isEmpty ? member.0 : prefix + "." + member.0
                paths.insert(path)
                paths.formUnion(keyPaths(member.1, path))
            }
        }
        if let items = value.arrayValue { return items.reduce(into: Set<String>()) { $0.formUnion(keyPaths($1, prefix + "[]")) } }
        return []
    }

    /// Timings differ from run to run: `0.05 s` becomes `X s`.
    static func withoutTimings(_ text: String) -> String {
        text.replacingOccurrences(of: #"[0-9]+\.[0-9]+ (s\b|points/s)"#, with: "X $1", options: .regularExpression)
    }

    /// Runs a shell script from a fresh folder that sees the repository's fixtures, with the built tools on PATH.
    static func runScript(_ script: String, in folder: String) throws -> TestSupport.ProcessResult {
        try FileManager.default.createSymbolicLink(atPath: folder + "/fixtures", withDestinationPath: TestSupport.fixtures)
        try FileManager.default.createSymbolicLink(atPath: folder + "/scripts", withDestinationPath: TestSupport.root + "/scripts")
        let path = folder + "/commands.sh"
        try ("set -euo pipefail\nexport PATH='\(ToolRunner.binaries)':\"$PATH\"\n" + script + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return try TestSupport.run("/bin/bash", [path], directory: folder)
    }

    // MARK: - README

    @Test func bringYourOwnRunPrintsWhatTheREADMEShows() throws {
        let readme = try Self.read("README.md")
        let commands = try Self.block("sh", after: "## Bring your own PyTorch run", in: readme)
        let shown = try Self.block("text", after: "## Bring your own PyTorch run", in: readme)
        #expect(commands.contains("RUN=fixtures/newcomer/"))
        try TestSupport.withTemporaryDirectory { folder in
            let result = try Self.runScript(commands, in: folder)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty, "no warning on the documented path: \(result.stderr)")
            let printed = String(decoding: result.stdout, as: UTF8.self)
            #expect(Self.withoutTimings(printed) == Self.withoutTimings(shown + "\n"), "\(printed)")
        }
    }

    @Test func demoPrintsWhatTheREADMEShows() throws {
        let readme = try Self.read("README.md")
        let shown = try Self.block("", after: "`make demo` ends with", in: readme)
        try TestSupport.withTemporaryDirectory { folder in
            let result = try Self.runScript("bash scripts/demo.sh '\(ToolRunner.binaries)'", in: folder)
            #expect(result.status == 0, "\(result.stderr)")
            let printed = Self.withoutTimings(String(decoding: result.stdout, as: UTF8.self))
            #expect(printed.hasSuffix(Self.withoutTimings(shown + "\n")), "\(printed)")
        }
    }

    // MARK: - docs/CLI.md's JSON examples have exactly the keys the tools print

    @Test func cliJSONExamplesListExactlyThePrintedKeys() throws {
        let cli = try Self.read("docs/CLI.md")
        try TestSupport.withTemporaryDirectory { folder in
            let run = "fixtures/newcomer/safetensors", data = "fixtures/newcomer/data"
            let average = try ToolRunner.run("swa-avg", [run, "--start", "7", "-o", folder + "/swa.bin", "--json"])
            let update = try ToolRunner.run("swa-bn-update", [folder + "/swa.bin", "--graph", "fixtures/newcomer/graph.json", "--mean", "0.3054",
                                                              "--std", "0.3758", "--data", data + "/train.npz", "-o", folder + "/bn.bin", "--json"])
            let eval = try ToolRunner.run("swa-eval", [folder + "/bn.bin", "--ensemble", run, "--start", "7", "--data", data + "/test.npz", "--json"])
            for (tool, result) in [("swa-avg", average), ("swa-bn-update", update), ("swa-eval", eval)] {
                #expect(result.status == 0, "\(tool): \(result.stderr)")
                let documented = try JSONValue.parse(Self.block("json", after: "## \(tool)\n", in: cli))
                let printed = try JSONValue.parse(result.stdout)
                #expect(Self.keyPaths(documented) == Self.keyPaths(printed),
                        "\(tool): only documented \(Self.keyPaths(documented).subtracting(Self.keyPaths(printed))), only printed \(Self.keyPaths(printed).subtracting(Self.keyPaths(documented)))")
            }
        }
    }

    @Test func docsCiteNoDocumentThatDoesNotShip() throws {
        for path in ["README.md", "fixtures/README.md"] + (try FileManager.default.contentsOfDirectory(atPath: TestSupport.root + "/docs")
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 }) {
            #expect(!(try Self.read(path)).contains("DESIGN"), "\(path)")
        }
    }

    // MARK: - docs/GRAPH.md

    @Test func graphDocsSmallCNNIsTheFixtureGraphAndLoads() throws {
        let text = try Self.block("json", after: "## A small CNN, complete", in: Self.read("docs/GRAPH.md"))
        #expect(!text.contains("..."))
        #expect(try JSONValue.parse(text) == JSONValue.parse(Self.read("fixtures/newcomer/graph.json")))
        let graph = try ModelGraph(json: text, source: "docs/GRAPH.md")
        #expect(graph.inputShape == [1, 8, 8])
        #expect(graph.outputShape == [10])
        #expect(graph.batchNormNodes.count == 2)
    }

    // MARK: - --help

    @Test func helpExamplesAreWholeCommands() throws {
        var checked = 0
        for tool in ["swa-avg", "swa-bn-update", "swa-eval", "swa-inspect"] {
            let result = try TestSupport.run("/usr/bin/env", ["COLUMNS=80", ToolRunner.binaries + "/" + tool, "--help"])
            let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(of: "Examples:") else { continue }
            checked += 1
            var previous = ""
            for line in lines[(start + 1)...].prefix(while: { !$0.isEmpty }) {
                #expect(line.count <= 80, "\(tool): \(line)")
                let continues = previous.hasSuffix(" \\")
                #expect(continues ? line.hasPrefix("      --") : line.hasPrefix("  \(tool) "), "\(tool): '\(line)' after '\(previous)'")
                previous = String(line)
            }
        }
        #expect(checked == 3, "swa-avg, swa-bn-update and swa-eval show examples")
    }
}
