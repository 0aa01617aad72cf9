import Benchmark
import SWAEngine
import SWAFormats
import SWAKit

// Micro-benchmarks of the forward pass's kernels on the layer shapes of PreResNet-20/164 at
// batch size 128 (CIFAR, 32×32 inputs): the 3×3 convolutions of the three stages, a 1×1
// bottleneck convolution, the memory-bound batch norm (training mode) and ReLU, and the pools
// of VGG (2×2 max) and PreResNet (8×8 average).
// One iteration is one layer over the whole batch. bench-forward.sh measures whole passes
// against PyTorch; these say which kernel a change moved.
//
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target ForwardKernelBenchmarks --no-progress --format markdown

/// Hides a value from the optimiser, so inputs are not constant-folded and work is not hoisted.
@inline(never)
func opaque<T>(_ value: T) -> T { value }

let batch = 128

/// `count` pseudo-random floats in [-1, 1), the same on every run.
func seededFloats(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    let values = UnsafeMutablePointer<Float>.allocate(capacity: count)
    var state = seed
    for index in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        values[index] = Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
    }
    return values
}

/// A convolution benchmark for `channels → outChannels` at `size × size` with a square kernel.
func convolution(_ name: String, channels: Int, outChannels: Int, size: Int, kernel: Int, stride: Int = 1) {
    let padding = kernel / 2
    let geometry = Conv2dGeometry(inChannels: channels, outChannels: outChannels, kernelHeight: kernel, kernelWidth: kernel,
                                  strideY: stride, strideX: stride, paddingY: padding, paddingX: padding)
    let (oh, ow) = geometry.outputSize(height: size, width: size)
    nonisolated(unsafe) let input = seededFloats(batch * channels * size * size, seed: 1)
    nonisolated(unsafe) let weight = seededFloats(outChannels * channels * kernel * kernel, seed: 2)
    nonisolated(unsafe) let output = seededFloats(batch * outChannels * oh * ow, seed: 3)
    Benchmark(name) { benchmark in
        for _ in benchmark.scaledIterations {
            conv2d(opaque(input), batch: batch, height: size, width: size, geometry: geometry, weight: weight, bias: nil, output: output)
            blackHole(output[0])
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    // The kernels are called directly, not through `ForwardPass`: set OpenBLAS up as the tools do.
    BLASRuntime.configureForKernels()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 100
    )

    convolution("conv 3x3 16->16 @32x32", channels: 16, outChannels: 16, size: 32, kernel: 3)
    convolution("conv 3x3 32->32 @16x16", channels: 32, outChannels: 32, size: 16, kernel: 3)
    convolution("conv 3x3 64->64 @8x8", channels: 64, outChannels: 64, size: 8, kernel: 3)
    convolution("conv 3x3 16->32 stride 2 @32x32", channels: 16, outChannels: 32, size: 32, kernel: 3, stride: 2)
    convolution("conv 1x1 64->16 @32x32", channels: 64, outChannels: 16, size: 32, kernel: 1)

    let elements = batch * 64 * 32 * 32
    nonisolated(unsafe) let activations = seededFloats(elements, seed: 4)
    nonisolated(unsafe) let scratch = seededFloats(elements, seed: 5)
    Benchmark("batch norm training 64ch @32x32") { benchmark in
        for _ in benchmark.scaledIterations {
            let statistics = batchNormTraining(opaque(activations), batch: batch, channels: 64, spatial: 1024, eps: 1e-5,
                                               weight: nil, bias: nil, output: scratch)
            blackHole(statistics.mean[0])
        }
    }
    Benchmark("max pool 2x2 64ch @32x32") { benchmark in
        for _ in benchmark.scaledIterations {
            maxPool2d(opaque(activations), batch: batch, channels: 64, height: 32, width: 32,
                      geometry: Pool2dGeometry(kernelHeight: 2, kernelWidth: 2), output: scratch)
            blackHole(scratch[0])
        }
    }
    Benchmark("avg pool 8x8 64ch @8x8") { benchmark in
        for _ in benchmark.scaledIterations {
            avgPool2d(opaque(activations), batch: batch, channels: 64, height: 8, width: 8,
                      geometry: Pool2dGeometry(kernelHeight: 8, kernelWidth: 8), output: scratch)
            blackHole(scratch[0])
        }
    }
    Benchmark("relu 64ch @32x32") { benchmark in
        for _ in benchmark.scaledIterations {
            relu(opaque(activations), count: elements, output: scratch)
            blackHole(scratch[0])
        }
    }
}
