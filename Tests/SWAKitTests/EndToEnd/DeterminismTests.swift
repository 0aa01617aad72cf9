import Foundation
import Testing
@testable import SWAData
@testable import SWAFormats

/// Every output of the tools is bit for bit the same at 1, 2 and 8 threads (`SWA_THREADS`, and
/// `OMP_NUM_THREADS` for oneDNN) and on a repeated run (issue 15, docs/RELIABILITY.md,
/// "Determinism"): averaged checkpoints (zstd, `--ema`, PyTorch `.pt` and Hugging Face inputs,
/// tensors large enough that the averager splits them across threads), BN-updated checkpoints
/// (an `.npz` and an image folder, whose images are decoded on every thread), and the `--json`
/// of `swa-eval` (with an ensemble) and `swa-landscape` (line and width), compared without
/// the fields that measure time or name the thread count (`excludedKeys`).
///
/// Each configuration runs in its own empty folder with the same relative output names, so the
/// paths the outputs record are the same in every configuration.
@Suite(.serialized) struct DeterminismTests {
    static let threadCounts = [1, 2, 8]
    static let runs = 2
    /// What `pipeline` compares: 13 files (the Hugging Face folder's weights and the side files
    /// it copies) and 3 JSON reports.
    static let expectedOutputs = ["avg.bin", "bn.bin", "ema.bin", "hf/config.json", "hf/generation_config.json", "hf/model.safetensors",
                                  "hf/special_tokens_map.json", "hf/tokenizer.json", "hf/tokenizer_config.json",
                                  "images-bn.safetensors", "large-ema-bf16.bin", "large.bin", "pt.safetensors",
                                  "swa-eval --json", "swa-landscape line --json", "swa-landscape width --json"]

    /// JSON members that may differ between runs, at any depth, and why:
    /// - `seconds`: wall time of a pass, a member, a point or the whole command;
    /// - `points_per_second`: landscape throughput, derived from `seconds`;
    /// - `threads`: landscape workers, which this test varies on purpose.
    /// Nothing else is left out: every metric, path, count and the `backend` member must match.
    static let excludedKeys: Set<String> = ["seconds", "points_per_second", "threads"]

    static let root = TestSupport.root
    static let checkpoints = root + "/fixtures/checkpoints"
    static let train = root + "/fixtures/data/train.npz", test = root + "/fixtures/data/test.npz"

    @Test("outputs are bit-identical at 1, 2 and 8 threads and across runs")
    func outputsDoNotDependOnThreadsOrRuns() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let large = try Self.writeLargeCheckpoints(in: folder + "/large")
            var reference: [String: [UInt8]]?
            for threads in Self.threadCounts {
                for run in 0..<Self.runs {
                    let workspace = folder + "/t\(threads)-r\(run)"
                    try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: false)
                    let outputs = try Self.pipeline(in: workspace, largeInputs: large, environment: Self.environment(threads: threads))
                    if let reference {
                        Self.expectIdentical(outputs, reference, "\(threads) threads, run \(run + 1)")
                    } else {
                        #expect(outputs.keys.sorted() == Self.expectedOutputs, "\(outputs.keys.sorted())")
                        reference = outputs
                    }
                }
            }
        }
    }

    /// oneDNN's convolutions thread with OpenMP: the BN update and the evaluation through them
    /// (`SWA_CONV_BACKEND=dnnl`) are the same at 1, 2 and 8 OpenMP threads.
    @Test("oneDNN convolutions are bit-identical at 1, 2 and 8 OpenMP threads")
    func oneDNNDoesNotDependOnThreads() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var reference: [String: [UInt8]]?
            for threads in Self.threadCounts {
                let workspace = folder + "/t\(threads)"
                try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: false)
                var environment = Self.environment(threads: threads)
                environment["SWA_CONV_BACKEND"] = "dnnl"
                let run = Runner(directory: workspace, environment: environment)
                try run("swa-avg", [Self.checkpoints, "--start", "10", "--every", "2", "-o", "avg.bin", "-q"])
                try run("swa-bn-update", ["avg.bin", "--data", Self.train, "-o", "bn.bin", "--batch-size", "64", "-q"])
                let eval = try run("swa-eval", ["bn.bin", "--ensemble", Self.checkpoints, "--last", "2", "--data", Self.test, "--json"])
                let outputs = ["bn.bin": try TestSupport.bytes(of: workspace + "/bn.bin"), "swa-eval --json": try Self.comparable(eval)]
                if let reference {
                    Self.expectIdentical(outputs, reference, "oneDNN, \(threads) OpenMP threads")
                } else {
                    reference = outputs
                }
            }
        }
    }

    @Test("SWA_THREADS must be a whole number from 1 to 1024")
    func aBadThreadCountIsUsage() throws {
        for value in ["0", "two", "-3", "100000"] {
            let result = try ToolRunner.run("swa-inspect", ["fixtures/checkpoints/ckpt-001.safetensors.zst"],
                                            environment: ["SWA_THREADS": value])
            #expect(result.status == 2, "\(value): \(result.stderr)")
            #expect(result.stderr == "swa-inspect: SWA_THREADS=\(value) is not a thread count; give a whole number from 1 to 1024\n")
            #expect(result.stdout.isEmpty)
        }
        #expect(try WorkerThreads.requested(environmentValue: " 8 ") == 8)
        #expect(try WorkerThreads.requested(environmentValue: "") == nil)
        #expect(try WorkerThreads.requested(environmentValue: nil) == nil)
    }

    // MARK: - The pipeline

    static func environment(threads: Int) -> [String: String?] {
        ["SWA_THREADS": String(threads), "OMP_NUM_THREADS": String(threads)]
    }

    /// Runs every tool once in `workspace`; returns each output file's bytes by name, and each
    /// `--json` with `excludedKeys` removed, by command.
    static func pipeline(in workspace: String, largeInputs: [String], environment: [String: String?]) throws -> [String: [UInt8]] {
        let run = Runner(directory: workspace, environment: environment)
        let ckpt10 = checkpoints + "/ckpt-010.safetensors.zst", ckpt20 = checkpoints + "/ckpt-020.safetensors.zst"
        let images = root + "/fixtures/images"
        try run("swa-avg", [checkpoints, "--start", "10", "--every", "2", "-o", "avg.bin", "-q"])
        try run("swa-avg", [checkpoints, "--start", "10", "--ema", "0.9", "-o", "ema.bin", "-q"])
        try run("swa-avg", [root + "/fixtures/pytorch/run", "-o", "pt.safetensors", "-q"])
        try run("swa-avg", [root + "/fixtures/hf/output", "-o", "hf/", "-q"])
        try run("swa-avg", largeInputs + ["-o", "large.bin", "-q"])
        try run("swa-avg", largeInputs + ["--ema", "0.5", "--dtype", "bf16", "-o", "large-ema-bf16.bin", "-q"])
        try run("swa-bn-update", ["avg.bin", "--data", train, "-o", "bn.bin", "--batch-size", "64", "-q"])
        try run("swa-bn-update", [images + "/model.safetensors", "--data", images + "/folder", "--preprocess", "cifar10",
                                  "--resize", "36", "--crop", "32", "--batch-size", "4", "-o", "images-bn.safetensors", "-q"])
        let eval = try run("swa-eval", ["bn.bin", "--ensemble", checkpoints, "--start", "10", "--every", "2", "--before-bn", "avg.bin",
                                        "--data", test, "--json"])
        let line = try run("swa-landscape", ["line", ckpt10, ckpt20, "--steps", "0.5", "--train", train, "--test", test, "--json"])
        let width = try run("swa-landscape", ["width", ckpt20, "--directions", "1", "--distances", "5", "--seed", "1",
                                              "--train", train, "--test", test, "--json"])
        var outputs: [String: [UInt8]] = [:]
        for name in TestSupport.contents(of: workspace) where name != "hf" {
            outputs[name] = try TestSupport.bytes(of: workspace + "/" + name)
        }
        for name in TestSupport.contents(of: workspace + "/hf") where name.hasSuffix(".safetensors") || name.hasSuffix(".json") {
            outputs["hf/" + name] = try TestSupport.bytes(of: workspace + "/hf/" + name)
        }
        outputs["swa-eval --json"] = try comparable(eval)
        outputs["swa-landscape line --json"] = try comparable(line)
        outputs["swa-landscape width --json"] = try comparable(width)
        return outputs
    }

    /// Three checkpoints of 200,000 float32 weights and a 3×5 bf16 tensor: the averager splits a
    /// tensor into element ranges only past 16 Ki elements per thread (`combineChunk`), which the
    /// fixture model's tensors (22,074 parameters in all) never reach.
    static func writeLargeCheckpoints(in folder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 15)
        return try (1...3).map { step in
            let weights = (0..<200_000).map { _ in Float.random(in: -1...1, using: &generator) }
            let small = (0..<15).map { _ in Float.random(in: -1...1, using: &generator) }
            let path = folder + "/ckpt-\(step).safetensors.zst"
            try CheckpointWriter.write([(TensorSpec(name: "layer.weight", dtype: .f32, shape: [400, 500]), weights.withUnsafeBytes { Array($0) }),
                                        (TensorSpec(name: "head.weight", dtype: .bf16, shape: [3, 5]), bf16Bytes(small))],
                                       metadata: ["swa.step": String(step)], to: path, overwrite: false)
            return path
        }
    }

    /// bf16 by truncation: any bf16 values will do as an input.
    static func bf16Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value -> [UInt8] in
            let bits = UInt16(truncatingIfNeeded: value.bitPattern >> 16)
            return [UInt8(bits & 0xff), UInt8(bits >> 8)]
        }
    }

    /// A JSON report with `excludedKeys` removed at every depth, as compact text (numbers keep
    /// the literal digits the tool printed, so equal text is equal bits).
    static func comparable(_ json: String) throws -> [UInt8] {
        func strip(_ value: JSONValue) -> JSONValue {
            switch value {
            case let .object(members): .object(members.filter { !excludedKeys.contains($0.0) }.map { ($0.0, strip($0.1)) })
            case let .array(items): .array(items.map(strip))
            default: value
            }
        }
        return Array(strip(try JSONValue.parse(json)).serialized.utf8)
    }

    /// Expects the same names and, for each, the same bytes; names the first differing byte.
    static func expectIdentical(_ outputs: [String: [UInt8]], _ reference: [String: [UInt8]], _ configuration: String) {
        #expect(outputs.keys.sorted() == reference.keys.sorted(), "\(configuration): other outputs")
        for (name, bytes) in outputs.sorted(by: { $0.key < $1.key }) {
            guard let expected = reference[name], bytes != expected else { continue }
            let offset = zip(bytes, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(bytes.count, expected.count)
            Issue.record("\(configuration): \(name) differs from 1 thread's first run at byte \(offset) of \(bytes.count) (\(expected.count))")
        }
    }

    /// Runs a built tool in a folder with environment changes; fails on a non-zero exit.
    struct Runner {
        var directory: String
        var environment: [String: String?]

        @discardableResult
        func callAsFunction(_ tool: String, _ arguments: [String]) throws -> String {
            let result = try TestSupport.run(ToolRunner.binaries + "/" + tool, arguments, directory: directory, environment: environment)
            let stdout = String(decoding: result.stdout, as: UTF8.self)
            guard result.status == 0 else {
                Issue.record("\(tool) \(arguments.joined(separator: " ")) exited with \(result.status): \(result.stderr)")
                throw SWAError("\(tool) failed")
            }
            return stdout
        }
    }
}
