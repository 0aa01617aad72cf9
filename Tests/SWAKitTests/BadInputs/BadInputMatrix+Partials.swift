import Foundation
@testable import SWAFormats

// MARK: - Partial results of sharded runs

extension BadInputMatrix {
    /// The two partials of `swa-avg --last 4 --shard I/2` (made by the built tool), damaged,
    /// mixed with another run's, repeated or missing, through `swa-avg --merge`.
    func partialResultCases() throws -> [Case] {
        let folder = try caseFolder("partials")
        func shard(_ index: Int, last: Int, name: String) throws -> String {
            let path = folder + "/" + name
            let result = try ToolRunner.run("swa-avg", [TestSupport.checkpoints, "--last", "\(last)", "--shard", "\(index)/2", "--partial", path, "-q"])
            guard result.status == 0 else { throw SWAError(file: path, "could not make the partial: \(result.stderr)") }
            return path
        }
        let first = try shard(0, last: 4, name: "avg-0.swa"), second = try shard(1, last: 4, name: "avg-1.swa")
        let otherRun = try shard(1, last: 6, name: "other-1.swa")
        func merge(_ partials: [String], expectation: Expectation = .refused) -> [Run] {
            [Run(tool: "swa-avg", label: "swa-avg --merge", arguments: ["--merge"] + partials + ["-o", "{OUT}/merged.bin"], expectation: expectation)]
        }
        var cases = [Case("partial result", "none (control)", culprits: [first], runs: merge([first, second], expectation: .succeeds(mentioning: nil)))]
        let bytes = try TestSupport.bytes(of: first)
        let loaded = try LoadedCheckpoint(path: first)
        var damagedRecord = loaded.header.metadata
        damagedRecord["swa.partial"] = "{\"version\": 1, \"kind\": "
        let brokenRecord = try caseFolder("partial-record") + "/avg-0.swa"
        try CheckpointWriter.write(loaded.header.tensors.map { (spec: TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), bytes: loaded.tensors[$0.name]!) },
                                   metadata: damagedRecord, to: brokenRecord, overwrite: false)
        let variants: [(String, [String], [String])] = [
            ("a bit flip in a partial", [try write(Self.flipping(bytes, at: bytes.count / 2, bit: 4), case: "partial-flip", name: "avg-0.swa"), second], []),
            ("a partial cut in half", [try write(Array(bytes[..<(bytes.count / 2)]), case: "partial-cut", name: "avg-0.swa"), second], []),
            ("the same shard twice", [first, first], [first]),
            ("a shard missing", [first], [first]),
            ("a partial of another run", [first, otherRun], [otherRun, first]),
            ("a checkpoint given as a partial", [first, base.zstd], [base.zstd]),
            ("swa.partial not JSON", [brokenRecord, second], []),
        ]
        for (index, (damage, partials, alsoNamed)) in variants.enumerated() {
            let culprits = alsoNamed + partials.filter { $0 != first && $0 != second }
            cases.append(Case("partial result", damage, culprits: culprits.isEmpty ? partials : culprits, runs: merge(partials), quick: index == 0))
        }
        return cases
    }
}

// MARK: - Graph JSON

extension BadInputMatrix {
    /// The fixture model's graph, damaged, through every command that takes `--graph`.
    func graphCases() throws -> [Case] {
        let graph = try String(contentsOfFile: base.graph, encoding: .utf8)
        func runs(_ path: String, expectation: Expectation = .refused) -> [Run] {
            [
                Run(tool: "swa-bn-update", label: "swa-bn-update", arguments: [base.zstd, "--graph", path, "--data", base.test, "-o", "{OUT}/bn.bin", "-q"], expectation: expectation),
                Run(tool: "swa-eval", label: "swa-eval", arguments: [base.zstd, "--graph", path, "--data", base.test, "-q"], expectation: expectation),
                Run(tool: "swa-convert", label: "swa-convert", arguments: [base.zstd, "--graph", path, "-o", "{OUT}/converted.bin"], expectation: expectation),
                Run(tool: "swa-landscape", label: "swa-landscape", arguments: ["line", base.zstd, base.zstd, "--graph", path, "--train", base.test,
                                                                              "--test", base.test, "--steps=0.5", "--bn", "keep"], expectation: expectation),
            ]
        }
        var cases = [Case("graph JSON", "none (control)", culprits: [base.graph], runs: runs(base.graph, expectation: .succeeds(mentioning: nil)))]
        let variants: [(String, String)] = [
            ("cut in half", String(graph.prefix(graph.count / 2))),
            ("empty", ""),
            ("an unknown op", graph.replacingOccurrences(of: "\"op\": \"relu\"", with: "\"op\": \"swish9\"")),
            ("an input that no node produces", graph.replacingOccurrences(of: "\"inputs\": [\"stem.0\"]", with: "\"inputs\": [\"stem.9\"]")),
            ("a cycle", graph.replacingOccurrences(of: "\"inputs\": [\"x\"]", with: "\"inputs\": [\"stem.2\"]")),
            ("version 99", graph.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 99")),
            ("channels that disagree with the weights", graph.replacingOccurrences(of: "\"out_channels\": 16, \"kernel_size\": [3, 3], \"stride\": [1, 1], \"padding\": [1, 1], \"dilation\": [1, 1], \"groups\": 1, \"bias\": false}, \"tensors\": {\"weight\": \"stem.0.weight\"}",
                                                                                          with: "\"out_channels\": 32, \"kernel_size\": [3, 3], \"stride\": [1, 1], \"padding\": [1, 1], \"dilation\": [1, 1], \"groups\": 1, \"bias\": false}, \"tensors\": {\"weight\": \"stem.0.weight\"}")),
            ("a kernel of 2^40", graph.replacingOccurrences(of: "\"kernel_size\": [3, 3]", with: "\"kernel_size\": [1099511627776, 3]")),
            ("a negative input shape", graph.replacingOccurrences(of: "\"shape\": [1, 8, 8]", with: "\"shape\": [1, -8, 8]")),
            ("two nodes with one name", graph.replacingOccurrences(of: "\"name\": \"stem.2\"", with: "\"name\": \"stem.1\"")),
        ]
        for (index, (damage, text)) in variants.enumerated() {
            let path = try caseFolder("graph-\(index)") + "/graph.json"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            cases.append(Case("graph JSON", damage, culprits: [path], runs: runs(path), quick: index == 6))
        }
        return cases
    }
}
