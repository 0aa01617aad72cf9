import Benchmark
import Foundation
import SWAEngine
import SWAFormats
import SWAKit
import SyntheticCheckpoints

// Micro-benchmarks of what swa-avg spends its time on: the element kernels of
// Sources/SWAKit/Tensor/ElementKernels.swift over 1 Mi elements (one 4 MiB F32 chunk), a
// plain memory copy of 8 MiB as the reference they are read against, then on four small
// synthetic checkpoints: CheckpointReader (zstd decompression alone), CheckpointWriter (zstd
// compression and the atomic write) and StreamingAverager end to end.
//
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --no-progress --format markdown
// Throughput is iterations per second: for the kernels one iteration is 1 Mi elements.

/// Hides a value from the optimiser, so inputs are not constant-folded and work is not hoisted.
@inline(never)
func opaque<T>(_ value: T) -> T { value }

/// 1 Mi elements: the chunk swa-avg works on when it averages few inputs.
let kernelElements = 1 << 20

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1000
    )

    // MARK: - Element kernels

    // Inputs live for the whole process; each benchmark reads them through `opaque`.
    nonisolated(unsafe) let weightsF32 = UnsafeMutableBufferPointer<Float>.allocate(capacity: kernelElements)
    var random = SplitMix64(seed: 1, stream: 1)
    let draws = random.gaussians(kernelElements, mean: 0, deviation: 0.02)
    _ = weightsF32.initialize(from: draws)
    nonisolated(unsafe) let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: kernelElements)
    sums.initialize(repeating: 0)
    for index in 0..<kernelElements { sums[index] = 16 * Double(draws[index]) }
    nonisolated(unsafe) let output = UnsafeMutableRawBufferPointer.allocate(byteCount: kernelElements * 8, alignment: 64)
    output.initializeMemory(as: UInt8.self, repeating: 0)

    Benchmark("memcpy 8 MiB (reference)") { benchmark in
        for _ in benchmark.scaledIterations {
            output.baseAddress!.copyMemory(from: opaque(UnsafeRawPointer(sums.baseAddress!)), byteCount: kernelElements * 8)
            blackHole(output.baseAddress!.load(as: UInt8.self))
        }
    }

    Benchmark("accumulate F32 to Double, 1 Mi, first input") { benchmark in
        for _ in benchmark.scaledIterations {
            accumulate(opaque(UnsafeRawPointer(weightsF32.baseAddress!)), dtype: opaque(.f32), count: opaque(kernelElements),
                       into: sums.baseAddress!, keep: opaque(1), weight: opaque(1), first: true)
            blackHole(sums[kernelElements - 1])
        }
    }

    Benchmark("accumulate F32 to Double, 1 Mi, sum") { benchmark in
        for _ in benchmark.scaledIterations {
            accumulate(opaque(UnsafeRawPointer(weightsF32.baseAddress!)), dtype: opaque(.f32), count: opaque(kernelElements),
                       into: sums.baseAddress!, keep: opaque(1), weight: opaque(1), first: false)
            blackHole(sums[kernelElements - 1])
        }
    }

    Benchmark("accumulate F32 to Double, 1 Mi, EMA step") { benchmark in
        for _ in benchmark.scaledIterations {
            accumulate(opaque(UnsafeRawPointer(weightsF32.baseAddress!)), dtype: opaque(.f32), count: opaque(kernelElements),
                       into: sums.baseAddress!, keep: opaque(0.9), weight: opaque(0.1), first: false)
            blackHole(sums[kernelElements - 1])
        }
    }

    Benchmark("encodeAverage Double to F32, 1 Mi") { benchmark in
        for _ in benchmark.scaledIterations {
            let finite = encodeAverage(opaque(UnsafePointer(sums.baseAddress!)), count: opaque(kernelElements), divisor: opaque(16),
                                       as: opaque(.f32), into: output.baseAddress!)
            blackHole(finite)
            blackHole(output.baseAddress!.load(as: UInt8.self))
        }
    }

    // Divisor 1 (EMA, or weights summing to 1) skips the per-element division.
    Benchmark("encodeAverage Double to F32, 1 Mi, divisor 1") { benchmark in
        for _ in benchmark.scaledIterations {
            let finite = encodeAverage(opaque(UnsafePointer(sums.baseAddress!)), count: opaque(kernelElements), divisor: opaque(1),
                                       as: opaque(.f32), into: output.baseAddress!)
            blackHole(finite)
            blackHole(output.baseAddress!.load(as: UInt8.self))
        }
    }

    Benchmark("encodeAverage Double to BF16, 1 Mi") { benchmark in
        for _ in benchmark.scaledIterations {
            let finite = encodeAverage(opaque(UnsafePointer(sums.baseAddress!)), count: opaque(kernelElements), divisor: opaque(16),
                                       as: opaque(.bf16), into: output.baseAddress!)
            blackHole(finite)
            blackHole(output.baseAddress!.load(as: UInt8.self))
        }
    }

    // MARK: - Checkpoints end to end

    // Four checkpoints of one synthetic block (22 tensors, 13.2 MB of F32 each, 12.2 MB as
    // zstd), written before the iterations into a folder of their own.
    let fileConfiguration = Benchmark.Configuration(warmupIterations: 1, maxDuration: .seconds(5), maxIterations: 50)
    let fixture = CheckpointFixture()

    Benchmark("CheckpointReader, decompress one 13 MB checkpoint", configuration: fileConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            do {
                let reader = try CheckpointReader(path: fixture.inputs[0].path)
                var remaining = reader.header.dataByteCount
                while remaining > 0 {
                    let count = min(remaining, fixture.scratch.count)
                    try reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: fixture.scratch[..<count]))
                    remaining -= count
                }
                blackHole(try reader.finish())
            } catch {
                fatalError("reading failed: \(error)")
            }
        }
    } setup: {
        try fixture.prepare()
    } teardown: {
        fixture.remove()
    }

    Benchmark("CheckpointWriter, compress and write one 13 MB checkpoint", configuration: fileConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            do {
                try CheckpointWriter.write(fixture.tensors, metadata: ["swa.epoch": "1"],
                                           to: fixture.folder + "/written.safetensors.zst", overwrite: true)
            } catch {
                fatalError("writing failed: \(error)")
            }
        }
    } setup: {
        try fixture.prepare()
    } teardown: {
        fixture.remove()
    }

    Benchmark("StreamingAverager, 4 × 13 MB checkpoints", configuration: fileConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            let request = AveragingRequest(inputs: fixture.inputs, method: .weighted([1, 1, 1, 1]),
                                           destination: fixture.folder + "/average.safetensors.zst", overwrite: true)
            do {
                blackHole(try StreamingAverager(request: request).run().outputBytes)
            } catch {
                fatalError("averaging failed: \(error)")
            }
        }
    } setup: {
        try fixture.prepare()
    } teardown: {
        fixture.remove()
    }
}

/// Synthetic checkpoints on disk for the end-to-end benchmarks, made once per benchmark.
final class CheckpointFixture: @unchecked Sendable {
    let folder = NSTemporaryDirectory() + "swa-averaging-benchmark-\(getpid())"
    private(set) var inputs: [CheckpointEntry] = []
    /// The first checkpoint's tensors in memory, for the writer.
    private(set) var tensors: [(spec: TensorSpec, bytes: [UInt8])] = []
    /// A read buffer of 4 MiB.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)

    func prepare() throws {
        let inputFolder = folder + "/inputs"
        try FileManager.default.createDirectory(atPath: inputFolder, withIntermediateDirectories: true)
        _ = try SyntheticRun(megabytes: 8).writeCheckpoints(count: 4, into: inputFolder)
        inputs = try discoverCheckpoints([inputFolder]).entries
        let reader = try CheckpointReader(path: inputs[0].path)
        tensors = try reader.header.tensors.map { (TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), try reader.readTensorBytes($0)) }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: folder)
    }
}
