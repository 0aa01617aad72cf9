import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// The averaging engine against PyTorch's golden values and against a naive Float64 oracle.
@Suite struct AveragingTests {
    // MARK: - Golden values from PyTorch

    @Test func uniformAverageMatchesAveragedModel() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/swa.bin"
            let inputs = try select(CheckpointSelection(start: 10, every: 2))
            #expect(inputs.map(\.position) == [10, 12, 14, 16, 18, 20])
            let report = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(Array(repeating: 1, count: 6)),
                                                                         destination: output)).run()
            #expect(report.strategy == "lockstep")
            try expectMatchesGolden(output, golden: TestSupport.golden + "/average.safetensors", lastInput: inputs.last!.path)
        }
    }

    @Test func emaMatchesPyTorchEMA() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/ema.bin"
            let inputs = try select(CheckpointSelection(start: 10))
            _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .ema(decay: 0.9), destination: output)).run()
            try expectMatchesGolden(output, golden: TestSupport.golden + "/ema.safetensors", lastInput: inputs.last!.path)
        }
    }

    // MARK: - Exact arithmetic

    @Test(arguments: [DType.f16, .bf16, .f32, .f64])
    func outputIsTheCorrectlyRoundedFloat64Average(_ dtype: DType) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/avg.bin"
            let inputs = try select(CheckpointSelection(start: 5, end: 9))
            let weights = [1.0, 2, 0.5, 3, 1.25]
            _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(weights),
                                                                outputDType: .convert(dtype), destination: output)).run()
            let result = try TestSupport.readAll(output)
            let sources = try inputs.map { try TestSupport.readAll($0.path) }
            for (name, (info, bytes)) in result.tensors where !name.hasSuffix("num_batches_tracked") {
                #expect(info.dtype == dtype)
                var expected = [Double](repeating: 0, count: info.elementCount)
                for (source, weight) in zip(sources, weights) {
                    let (sourceInfo, sourceBytes) = source.tensors[name]!
                    for (index, value) in TestSupport.doubles(sourceBytes, dtype: sourceInfo.dtype).enumerated() {
                        expected[index] += weight * value
                    }
                }
                let total = weights.reduce(0, +)
                let expectedBits = expected.map { rounded($0 / total, to: dtype) }
                #expect(storedBits(bytes, dtype: dtype) == expectedBits, "tensor \(name)")
            }
        }
    }

    @Test func resultIsBitIdenticalWhateverThreadsAndChunks() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try select(CheckpointSelection())
            var payloads: [[UInt8]] = []
            for (threads, budget) in [(1, 64 << 20), (2, 64 << 20), (3, 1)] {
                let output = folder + "/avg-\(threads).bin"
                _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(Array(repeating: 1, count: inputs.count)),
                                                                    destination: output, threads: threads, chunkBudget: budget)).run()
                payloads.append(try Data(contentsOf: URL(fileURLWithPath: output)).map { $0 })
            }
            #expect(payloads[0] == payloads[1])
            #expect(payloads[0] == payloads[2])
        }
    }

    @Test func buffersLastTakesTheLastInputsStatistics() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/avg.bin"
            let inputs = try select(CheckpointSelection(start: 10, every: 2))
            _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(Array(repeating: 1, count: inputs.count)),
                                                                buffers: .last, destination: output)).run()
            let result = try TestSupport.readAll(output)
            let last = try TestSupport.readAll(inputs.last!.path)
            let golden = try TestSupport.readAll(TestSupport.golden + "/average.safetensors")
            for (name, (_, bytes)) in result.tensors {
                if name.hasSuffix("running_mean") || name.hasSuffix("running_var") || name.hasSuffix("num_batches_tracked") {
                    #expect(bytes == last.tensors[name]!.1, "\(name) should be the last checkpoint's")
                } else {
                    let (goldenInfo, goldenBytes) = golden.tensors[name]!
                    #expect(TestSupport.allClose(TestSupport.doubles(bytes, dtype: .f32), TestSupport.doubles(goldenBytes, dtype: goldenInfo.dtype), rtol: 1e-6, atol: 1e-7))
                }
            }
            #expect(result.header.metadata["swa.bn"] == "stale")
        }
    }

    // MARK: - Layouts

    @Test func differentLayoutsFallBackToTheAccumulatorWithTheSameResult() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try select(CheckpointSelection(start: 10, every: 2))
            // Rewrite one input with its tensors in reverse payload order.
            let reordered = folder + "/" + inputs[2].fileName
            let original = try TestSupport.readAll(inputs[2].path)
            try CheckpointWriter.write(original.header.tensors.reversed().map { info in
                (TensorSpec(name: info.name, dtype: info.dtype, shape: info.shape), original.tensors[info.name]!.1)
            }, metadata: original.header.metadata, to: reordered, overwrite: false)
            var mixed = inputs
            mixed[2] = try discoverCheckpoints([reordered]).entries[0]
            let streamed = folder + "/streamed.bin", accumulated = folder + "/accumulated.bin"
            let weights = Array(repeating: 1.0, count: inputs.count)
            _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(weights), destination: streamed)).run()
            let report = try StreamingAverager(request: AveragingRequest(inputs: mixed, method: .weighted(weights), destination: accumulated)).run()
            #expect(report.strategy == "accumulator")
            let a = try TestSupport.readAll(streamed), b = try TestSupport.readAll(accumulated)
            #expect(a.header.tensors == b.header.tensors)
            for (name, (_, bytes)) in a.tensors { #expect(bytes == b.tensors[name]!.1, "tensor \(name)") }
        }
    }

    // MARK: - Metadata

    @Test func outputMetadataRecordsSourcesAndCarriesGraph() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let output = folder + "/swa.bin"
            let inputs = try select(CheckpointSelection(start: 10, every: 2))
            _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(Array(repeating: 1, count: 6)), destination: output)).run()
            let metadata = try CheckpointReader(path: output).header.metadata
            #expect(metadata["swa.n_averaged"] == "6")
            #expect(metadata["swa.method"] == "uniform")
            #expect(metadata["swa.bn"] == "stale")
            #expect(metadata["swa.epoch"] == nil)
            #expect(metadata["swa.graph"] == inputs.last!.header.metadata["swa.graph"])
            #expect(metadata["swa.preprocess"] == inputs.last!.header.metadata["swa.preprocess"])
            let sources = try #require(try JSONValue.parse(metadata["swa.sources"]!).arrayValue)
            #expect(sources.map { $0["name"]?.stringValue } == inputs.map(\.fileName))
            let expectedHash = try sha256Hex(of: inputs[0].path)
            #expect(sources[0]["sha256"]?.stringValue == expectedHash)
        }
    }

    // MARK: - Selection and ordering

    @Test func selectionFlagsFollowTheDesign() throws {
        #expect(try select(CheckpointSelection(start: 8, end: 16, every: 2)).map(\.position) == [8, 10, 12, 14, 16])
        #expect(try select(CheckpointSelection(last: 3)).map(\.position) == [18, 19, 20])
        #expect(try select(CheckpointSelection(start: 10, every: 3, last: 2)).map(\.position) == [16, 19])
        #expect(throws: SWAError.self) { try select(CheckpointSelection(start: 100)) }
    }

    @Test func filesWithoutMetadataAreOrderedByTheLastNumberInTheirName() throws {
        try TestSupport.withTemporaryDirectory { folder in
            for (name, epoch) in [("run2-epoch-9.safetensors.zst", 9), ("run2-epoch-10.safetensors.zst", 10), ("run2-epoch-100.bin", 100)] {
                let source = try TestSupport.readAll(TestSupport.checkpoints + String(format: "/ckpt-%03d.safetensors.zst", epoch % 20 + 1))
                try CheckpointWriter.write(source.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), source.tensors[$0.name]!.1) },
                                           metadata: [:], to: folder + "/" + name, overwrite: false)
            }
            let sequence = try discoverCheckpoints([folder])
            #expect(sequence.positionSource == .fileName)
            #expect(sequence.entries.map(\.position) == [9, 10, 100])
        }
    }

    // MARK: - Helpers

    private func select(_ selection: CheckpointSelection) throws -> [CheckpointEntry] {
        try selection.apply(to: discoverCheckpoints([TestSupport.checkpoints]))
    }

    /// Float tensors within float32 rounding of the Float64 golden; BN counters from the last input.
    private func expectMatchesGolden(_ output: String, golden: String, lastInput: String) throws {
        let result = try TestSupport.readAll(output)
        let expected = try TestSupport.readAll(golden)
        let last = try TestSupport.readAll(lastInput)
        #expect(Set(result.tensors.keys) == Set(expected.tensors.keys))
        for (name, (info, bytes)) in result.tensors {
            if name.hasSuffix("num_batches_tracked") {
                #expect(bytes == last.tensors[name]!.1)
                #expect(bytes == expected.tensors[name]!.1)
                continue
            }
            #expect(info.dtype == .f32)
            let (goldenInfo, goldenBytes) = expected.tensors[name]!
            let ours = TestSupport.doubles(bytes, dtype: .f32), theirs = TestSupport.doubles(goldenBytes, dtype: goldenInfo.dtype)
            #expect(TestSupport.allClose(ours, theirs, rtol: 1e-6), "tensor \(name)")
        }
    }

    private func rounded(_ value: Double, to dtype: DType) -> UInt64 {
        switch dtype {
        case .f16: UInt64(float16Bits(rounding: value))
        case .bf16: UInt64(bfloat16Bits(rounding: value))
        case .f32: UInt64(Float(value).bitPattern)
        default: value.bitPattern
        }
    }

    private func storedBits(_ bytes: [UInt8], dtype: DType) -> [UInt64] {
        stride(from: 0, to: bytes.count, by: dtype.byteSize).map { offset in
            (0..<dtype.byteSize).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
        }
    }

    private func sha256Hex(of path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }
}
