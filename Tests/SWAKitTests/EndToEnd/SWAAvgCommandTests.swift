import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// `swa-avg` and `swa-inspect` run as a user runs them.
@Suite struct SWAAvgCommandTests {
    // MARK: - Success

    @Test func readmeCommandMatchesPyTorchAverage() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/swa.bin"
            let result = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", output, "--start", "10", "--every", "2"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("averaged 6 checkpoints"))
            let ours = try TestSupport.readAll(output)
            let golden = try TestSupport.readAll(TestSupport.golden + "/average.safetensors")
            for (name, (info, bytes)) in ours.tensors where info.dtype == .f32 {
                let (goldenInfo, goldenBytes) = golden.tensors[name]!
                #expect(TestSupport.allClose(TestSupport.doubles(bytes, dtype: .f32), TestSupport.doubles(goldenBytes, dtype: goldenInfo.dtype), rtol: 1e-6), "\(name)")
            }
            #expect(TestSupport.contents(of: folder) == ["swa.bin"])
        }
    }

    @Test func jsonReportsInputsWeightsAndOutput() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/ema.bin"
            let result = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", output, "--last", "3", "--ema", "0.5", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            let inputs = try #require(report["inputs"]?.arrayValue)
            #expect(inputs.compactMap { $0["position"]?.doubleValue } == [18, 19, 20])
            // EMA with D = 0.5 over three inputs: weights 0.25, 0.25, 0.5.
            #expect(inputs.compactMap { $0["weight"]?.doubleValue } == [0.25, 0.25, 0.5])
            #expect(inputs.allSatisfy { $0["sha256"]?.stringValue?.count == 64 })
            #expect(report["output"]?.stringValue == output)
            #expect(report["method"]?.stringValue == "ema:0.5")
            #expect(report["output_bytes"]?.unsignedIntegerValue == UInt64(try FileManager.default.attributesOfItem(atPath: output)[.size] as! Int))
        }
    }

    @Test func dryRunPrintsThePlanAndWritesNothing() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let result = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", folder + "/swa.bin", "--start", "8", "--every", "2", "--dry-run"])
            #expect(result.status == 0)
            for epoch in [8, 10, 12, 14, 16, 18, 20] {
                #expect(result.stdout.contains(String(format: "ckpt-%03d.safetensors.zst", epoch)))
            }
            #expect(!result.stdout.contains("ckpt-009"))
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    @Test func inspectDescribesTheAverage() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/swa.bin"
            #expect(try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", output, "-q"]).status == 0)
            let result = try ToolRunner.run("swa-inspect", [output, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let info = try JSONValue.parse(result.stdout)
            #expect(info["container"]?.stringValue == "zstd")
            #expect(info["seek_table"] == .bool(true))
            #expect(info["tensors"]?.arrayValue?.count == 27)
            #expect(info["metadata"]?["swa.n_averaged"]?.stringValue == "20")
        }
    }

    // MARK: - Bad input: exit 1, one line naming the culprit, nothing written, old output kept

    @Test func shapeMismatchNamesFileAndTensor() throws {
        try expectFailure(culprit: "ckpt-015.safetensors.zst", message: "tensor 'head.4.bias' has shape [11], expected [10]") { folder in
            try copyFixtures(to: folder) { name, info, bytes in
                guard name == "ckpt-015.safetensors.zst", info.name == "head.4.bias" else { return (info.dtype, info.shape, bytes) }
                return (info.dtype, [11], bytes + bytes[0..<4])
            }
        }
    }

    @Test func missingTensorNamesFileAndTensor() throws {
        try expectFailure(culprit: "ckpt-012.safetensors.zst", message: "tensor 'stem.1.running_var' is missing") { folder in
            try copyFixtures(to: folder) { name, info, bytes in
                name == "ckpt-012.safetensors.zst" && info.name == "stem.1.running_var" ? nil : (info.dtype, info.shape, bytes)
            }
        }
    }

    @Test func nanInAnInputNamesFileAndTensor() throws {
        try expectFailure(culprit: "ckpt-013.safetensors.zst", message: "tensor 'block.conv1.weight' holds NaN or Inf") { folder in
            try copyFixtures(to: folder) { name, info, bytes in
                guard name == "ckpt-013.safetensors.zst", info.name == "block.conv1.weight" else { return (info.dtype, info.shape, bytes) }
                var poisoned = bytes
                withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { poisoned.replaceSubrange(40..<44, with: $0) }
                return (info.dtype, info.shape, poisoned)
            }
        }
    }

    @Test func truncatedInputIsNamed() throws {
        try expectFailure(culprit: "ckpt-016.safetensors.zst", message: "truncated") { folder in
            try copyFixtures(to: folder)
            let path = folder + "/ckpt-016.safetensors.zst"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func corruptHeaderIsNamed() throws {
        try expectFailure(culprit: "ckpt-011.safetensors", message: "safetensors header is not valid JSON") { folder in
            try copyFixtures(to: folder)
            var bytes = [UInt8](repeating: 0, count: 8)
            let json = Array("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]".utf8)
            bytes[0] = UInt8(json.count)
            try Data(bytes + json + [0, 0, 0, 0]).write(to: URL(fileURLWithPath: folder + "/ckpt-011.safetensors"))
            try FileManager.default.removeItem(atPath: folder + "/ckpt-011.safetensors.zst")
        }
    }

    @Test func dtypeMismatchNamesFileAndTensor() throws {
        try expectFailure(culprit: "ckpt-014.safetensors.zst", message: "tensor 'head.0.bias' has dtype F64, expected F32") { folder in
            try copyFixtures(to: folder) { name, info, bytes in
                guard name == "ckpt-014.safetensors.zst", info.name == "head.0.bias" else { return (info.dtype, info.shape, bytes) }
                let widened = TestSupport.doubles(bytes, dtype: .f32).flatMap { value in withUnsafeBytes(of: value) { Array($0) } }
                return (.f64, info.shape, widened)
            }
        }
    }

    @Test func corruptChecksumIsNamed() throws {
        try expectFailure(culprit: "ckpt-017.safetensors.zst", message: "checksum") { folder in
            try copyFixtures(to: folder)
            let path = folder + "/ckpt-017.safetensors.zst"
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let table = try #require(try SeekTable.read(from: InputFile(path: path)))
            let checksumAt = table.entries[0].compressedByteCount - 2  // inside the first frame's checksum
            bytes[checksumAt] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func absurdHeaderLengthIsNamed() throws {
        try expectFailure(culprit: "ckpt-018.safetensors", message: "header length") { folder in
            try copyFixtures(to: folder)
            try FileManager.default.removeItem(atPath: folder + "/ckpt-018.safetensors.zst")
            var bytes = withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Array($0) }
            bytes += Array("{\"x\": 1}".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/ckpt-018.safetensors"))
        }
    }

    @Test func emptySelectionSaysWhy() throws {
        try expectFailure(culprit: nil, message: "keeps none of the 20 checkpoints", arguments: ["--start", "100"]) { folder in
            try copyFixtures(to: folder)
        }
    }

    @Test func existingOutputIsKeptWithoutForce() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/swa.bin"
            try Data("precious".utf8).write(to: URL(fileURLWithPath: output))
            let result = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", output])
            #expect(result.status == 1)
            #expect(result.stderr.contains("already exists; pass --force"))
            #expect(try String(contentsOfFile: output, encoding: .utf8) == "precious")
            #expect(TestSupport.contents(of: folder) == ["swa.bin"])
        }
    }

    @Test func emptyDirectoryIsAnError() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try FileManager.default.createDirectory(atPath: folder + "/empty", withIntermediateDirectories: false)
            let result = try ToolRunner.run("swa-avg", [folder + "/empty", "-o", folder + "/out.bin"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("no checkpoints found"))
        }
    }

    @Test(arguments: [["--dtype", "f8"], ["--every", "0"], ["--weights", "1,x"], ["--ema", "1.5"], ["--buffers", "median"]])
    func badUsageExitsWithTwo(_ flags: [String]) throws {
        let result = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", "/tmp/never-written.bin"] + flags)
        #expect(result.status == 2)
        #expect(result.stderr.contains("swa-avg:"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.bin"))
    }

    @Test func badDTypeListsTheChoices() throws {
        let result = try ToolRunner.run("swa-avg", ["fixtures/checkpoints", "-o", "/tmp/never-written.bin", "--dtype", "bogus"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("Please provide one of 'keep', 'f32', 'f16', 'bf16' or 'f64'"), "\(result.stderr)")
    }

    @Test func weightCountMustMatchTheSelection() throws {
        try expectFailure(culprit: nil, message: "--weights gives 2 weights for 20 selected checkpoints", arguments: ["--weights", "1,2"]) { folder in
            try copyFixtures(to: folder)
        }
    }

    // MARK: - Helpers

    /// Runs `swa-avg` over a prepared folder with `--force` onto an existing output, and checks
    /// exit 1, a one-line error naming `culprit` and containing `message`, the old output
    /// unchanged and no stray files.
    private func expectFailure(culprit: String?, message: String, arguments: [String] = [],
                               prepare: (String) throws -> Void) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = folder + "/ckpts"
            try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: false)
            try prepare(inputs)
            let output = folder + "/swa.bin"
            try Data("previous result".utf8).write(to: URL(fileURLWithPath: output))
            let result = try ToolRunner.run("swa-avg", [inputs, "-o", output, "--force"] + arguments)
            #expect(result.status == 1, "stdout: \(result.stdout) stderr: \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("swa-avg: "))
            if let culprit { #expect(result.stderr.contains(culprit), "\(result.stderr)") }
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(try String(contentsOfFile: output, encoding: .utf8) == "previous result")
            #expect(TestSupport.contents(of: folder) == ["ckpts", "swa.bin"])
        }
    }

    /// Copies the fixture checkpoints into `folder`, rewriting each tensor through `edit`
    /// (return nil to drop a tensor, or its new dtype, shape and bytes).
    private func copyFixtures(to folder: String,
                              edit: ((String, TensorInfo, [UInt8]) -> (dtype: DType, shape: [Int], bytes: [UInt8])?)? = nil) throws {
        for name in TestSupport.contents(of: TestSupport.checkpoints) {
            let source = TestSupport.checkpoints + "/" + name, target = folder + "/" + name
            guard let edit else {
                try FileManager.default.copyItem(atPath: source, toPath: target)
                continue
            }
            let checkpoint = try TestSupport.readAll(source)
            let tensors: [(spec: TensorSpec, bytes: [UInt8])] = checkpoint.header.tensors.compactMap { info in
                guard let (dtype, shape, bytes) = edit(name, info, checkpoint.tensors[info.name]!.1) else { return nil }
                return (TensorSpec(name: info.name, dtype: dtype, shape: shape), bytes)
            }
            try CheckpointWriter.write(tensors, metadata: checkpoint.header.metadata, to: target, overwrite: false)
        }
    }
}
