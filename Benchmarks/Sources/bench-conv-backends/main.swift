import Foundation
import SWAEngine
import SWAFormats

// Every convolution shape of the presets (PreResNet-20/110/164, VGG16(-BN), WRN-28-10), the
// fixture model and the torchvision family fixtures, timed with both backends in the same run:
// im2col + OpenBLAS sgemm (`conv2d`) and oneDNN (`OneDNNConvolution`, plain NCHW and blocked
// layouts). Repetitions alternate between the backends and the medians are compared, so the
// load other processes put on the cores falls on all of them alike. Then one fusion: the
// residual add as oneDNN's sum post-op against the convolution followed by our add.
//
// Usage: bench-conv-backends [--repeats N] [--budget SECONDS] [--models a,b,...]
// Prints Markdown to stdout (Benchmarks/bench-dnnl.sh puts it into docs/PERFORMANCE.md).

struct Options {
    var repeats = 7
    var budget = 1.5  // seconds per shape and backend, at most (at least 3 repetitions)
    var models: [String]? = nil
    init() {
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--repeats": repeats = Int(arguments.next()!)!
            case "--budget": budget = Double(arguments.next()!)!
            case "--models": models = arguments.next()!.split(separator: ",").map(String.init)
            default: fatalError("unknown argument \(argument)")
            }
        }
    }
}

/// One model whose convolutions are timed, at the batch size its benchmark uses.
struct ModelCase {
    var name: String
    var source: ModelSource
    var checkpoint: String?
    var batch: Int
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
let cases: [ModelCase] = [
    ModelCase(name: "preresnet20", source: .preset("preresnet20"), batch: 128),
    ModelCase(name: "preresnet110", source: .preset("preresnet110"), batch: 128),
    ModelCase(name: "preresnet164", source: .preset("preresnet164"), batch: 128),
    ModelCase(name: "vgg16bn", source: .preset("vgg16bn"), batch: 128),
    ModelCase(name: "wrn28x10", source: .preset("wrn28x10"), batch: 128),
    ModelCase(name: "fixture", source: .metadata, checkpoint: "\(root)/fixtures/checkpoints/ckpt-010.safetensors.zst", batch: 128),
] + ["resnet", "regnet", "densenet", "mobilenet_v2", "mobilenet_v3", "efficientnet"].map {
    ModelCase(name: $0, source: .graphFile("\(root)/fixtures/families/\($0).json"), batch: 16)
}

/// A convolution shape at one batch size, and the models that have it.
struct Shape: Hashable {
    var geometry: Conv2dGeometry
    var batch: Int, height: Int, width: Int
    var hasBias: Bool
    var label: String {
        let g = geometry
        var text = "\(g.inChannels)→\(g.outChannels) \(g.kernelHeight)×\(g.kernelWidth)"
        if g.strideY > 1 { text += " s\(g.strideY)" }
        if g.groups > 1 { text += g.isDepthwise ? " dw" : " g\(g.groups)" }
        return text + " @\(height)×\(width) n\(batch)"
    }
}
extension Conv2dGeometry: @retroactive Hashable {
    public func hash(into hasher: inout Hasher) {
        for value in [inChannels, outChannels, kernelHeight, kernelWidth, strideY, strideX, paddingY, paddingX,
                      dilationY, dilationX, groups] { hasher.combine(value) }
    }
}

let options = Options()
var order: [Shape] = []
var modelsOf: [Shape: [String]] = [:]
for model in cases where options.models?.contains(model.name) ?? true {
    let checkpoint = try model.checkpoint.map { try LoadedCheckpoint(path: $0) }
    let graph = try model.source.graph(for: checkpoint)
    for node in graph.nodes {
        guard case let .conv2d(geometry, hasBias) = node.operation else { continue }
        let input = graph.shapes[node.inputs[0]]!
        let shape = Shape(geometry: geometry, batch: model.batch, height: input[1], width: input[2], hasBias: hasBias)
        if modelsOf[shape] == nil { order.append(shape) }
        if !(modelsOf[shape]?.contains(model.name) ?? false) { modelsOf[shape, default: []].append(model.name) }
    }
}

/// `count` pseudo-random floats in [-1, 1), the same on every run.
func seededFloats(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    let values = UnsafeMutablePointer<Float>.allocate(capacity: count)
    var state = seed
    for index in 0 ..< count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        values[index] = Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
    }
    return values
}

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func ms(_ value: Double) -> String { String(format: value < 1e-2 ? "%.3f" : "%.2f", value * 1000) }

BLASRuntime.configureForKernels()
print("CPU: \(cpuModelName()), \(ProcessInfo.processInfo.activeProcessorCount) cores; OpenBLAS kernels: \(BLASRuntime.loadedKernels); "
      + "\(OneDNN.version), ISA \(OneDNN.isa), \(OneDNN.maximumThreads) OpenMP threads\n")
print("| shape (in→out kernel @input batch) | models | im2col+sgemm ms | oneDNN nchw ms | oneDNN blocked ms | oneDNN implementation | faster | max abs diff |")
print("|---|---|---:|---:|---:|---|---|---:|")
var blasTotal = 0.0, bestTotal = 0.0, dnnlTotal = 0.0
for shape in order {
    let g = shape.geometry
    let (oh, ow) = g.outputSize(height: shape.height, width: shape.width)
    let inputCount = shape.batch * g.inChannels * shape.height * shape.width
    let outputCount = shape.batch * g.outChannels * oh * ow
    let input = seededFloats(inputCount, seed: 1)
    let weight = seededFloats(g.outChannels * g.inChannels / g.groups * g.kernelHeight * g.kernelWidth, seed: 2)
    let bias = shape.hasBias ? seededFloats(g.outChannels, seed: 3) : nil
    let blasOutput = UnsafeMutablePointer<Float>.allocate(capacity: outputCount)
    let dnnlOutput = UnsafeMutablePointer<Float>.allocate(capacity: outputCount)
    defer { [input, weight, blasOutput, dnnlOutput].forEach { $0.deallocate() }; bias?.deallocate() }
    let primitives = OneDNNConvolution.Layout.allCases.compactMap {
        OneDNNConvolution(geometry: g, batch: shape.batch, height: shape.height, width: shape.width, hasBias: shape.hasBias, layout: $0)
    }
    let runs: [() -> Void] = [{ conv2d(input, batch: shape.batch, height: shape.height, width: shape.width, geometry: g,
                                       weight: weight, bias: bias, output: blasOutput) }]
        + primitives.map { primitive in { primitive.run(input, weight: weight, bias: bias, output: dnnlOutput) } }
    for run in runs { run() }  // warm-up: JIT, first touch of buffers
    let first = seconds(runs[0])
    let repeats = max(3, min(options.repeats, Int(options.budget / max(first, 1e-6))))
    var times = [[Double]](repeating: [], count: runs.count)
    for _ in 0 ..< repeats {
        for (index, run) in runs.enumerated() { times[index].append(seconds(run)) }
    }
    let medians = times.map(median)
    var maxDifference: Float = 0
    for index in 0 ..< outputCount { maxDifference = max(maxDifference, abs(blasOutput[index] - dnnlOutput[index])) }
    let plain = primitives.first { $0.layout == .plain }, blocked = primitives.first { $0.layout == .blocked }
    let plainTime = plain.map { _ in medians[1] }
    let blockedTime = blocked.map { _ in medians[plain == nil ? 1 : 2] }
    let bestDNNL = [plainTime, blockedTime].compactMap { $0 }.min()
    let faster: String
    if let bestDNNL, bestDNNL < medians[0] {
        faster = String(format: "oneDNN %@ (%.2fx)", bestDNNL == plainTime ? "nchw" : "blocked", medians[0] / bestDNNL)
    } else {
        faster = "im2col+sgemm"
    }
    blasTotal += medians[0]
    bestTotal += min(medians[0], bestDNNL ?? .infinity)
    dnnlTotal += plainTime ?? medians[0]
    let implementations = Set(primitives.map(\.implementation)).sorted().joined(separator: ", ")
    print("| \(shape.label) | \(modelsOf[shape]!.joined(separator: ", ")) | \(ms(medians[0])) | \(plainTime.map(ms) ?? "–") | "
          + "\(blockedTime.map(ms) ?? "–") | \(implementations.isEmpty ? "none" : implementations) | \(faster) | \(maxDifference) |")
}
print("\nSum over the shapes (one layer each): im2col+sgemm \(ms(blasTotal)) ms, oneDNN nchw \(ms(dnnlTotal)) ms, "
      + "faster of the two per shape \(ms(bestTotal)) ms.\n")

// MARK: - Fusion: the residual add as a sum post-op

print("| fusion: conv + residual add | conv then add ms | oneDNN sum post-op ms | ratio |")
print("|---|---:|---:|---:|")
for (label, channels, size) in [("PreResNet 16→16 3×3 @32×32 n128", 16, 32), ("PreResNet 64→64 3×3 @8×8 n128", 64, 8),
                                ("WRN 160→160 3×3 @32×32 n128", 160, 32), ("WRN 640→640 3×3 @8×8 n128", 640, 8)] {
    let g = Conv2dGeometry(inChannels: channels, outChannels: channels, kernelHeight: 3, kernelWidth: 3, paddingY: 1, paddingX: 1)
    let count = 128 * channels * size * size
    let input = seededFloats(count, seed: 1), shortcut = seededFloats(count, seed: 4)
    let weight = seededFloats(channels * channels * 9, seed: 2)
    let output = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { [input, shortcut, weight, output].forEach { $0.deallocate() } }
    guard let separate = OneDNNConvolution(geometry: g, batch: 128, height: size, width: size, hasBias: false),
          let fused = OneDNNConvolution(geometry: g, batch: 128, height: size, width: size, hasBias: false,
                                        accumulatesIntoOutput: true) else { continue }
    let runs: [() -> Void] = [
        { separate.run(input, weight: weight, bias: nil, output: output); add(output, shortcut, count: count, output: output) },
        { output.update(from: shortcut, count: count); fused.run(input, weight: weight, bias: nil, output: output) },
    ]
    for run in runs { run() }
    var times: [[Double]] = [[], []]
    for _ in 0 ..< 7 { for (index, run) in runs.enumerated() { times[index].append(seconds(run)) } }
    // The fused run's copy of the shortcut stands for the plan writing the add's other input in place; timed apart:
    let copy = median((0 ..< 7).map { _ in seconds { output.update(from: shortcut, count: count) } })
    let (apart, together) = (median(times[0]), median(times[1]) - copy)
    print("| \(label) | \(ms(apart)) | \(ms(together)) | \(String(format: "%.2f", together / apart)) |")
}

func cpuModelName() -> String {
    let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
    return line.map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
}
