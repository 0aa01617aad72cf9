import Foundation
import SWAEngine
import SWAFormats
import SWAKit

/// The checkpoints of a pretend SGD run: one set of "trained" weights, and each checkpoint
/// that set plus its own small Gaussian noise, so averaging does real arithmetic on values
/// shaped like trained weights (whose mantissas zstd cannot squeeze much, as in real runs).
///
/// Everything is seeded: the same arguments give byte-identical files.
public struct SyntheticRun: Sendable {
    public let model: SyntheticModel
    /// Noise of each checkpoint, relative to each tensor's scale.
    public let relativeNoise: Float
    public let seed: UInt64
    /// The shared weights, one array per float tensor (empty for integer tensors).
    private let base: [[Float]]

    /// Draws the shared weights of a model of about `megabytes` × 10⁶ bytes.
    public init(megabytes: Double, relativeNoise: Float = 0.05, seed: UInt64 = 2018) {
        model = SyntheticModel(targetBytes: Int(megabytes * 1_000_000))
        self.relativeNoise = relativeNoise
        self.seed = seed
        base = model.tensors.enumerated().map { index, tensor in
            var random = SplitMix64(seed: seed, stream: UInt64(index))
            let count = tensor.spec.shape.reduce(1, *)
            switch tensor.role {
            case let .weight(fanIn): return random.gaussians(count, mean: 0, deviation: (2 / Float(fanIn)).squareRoot())
            case .bias, .runningMean: return random.gaussians(count, mean: 0, deviation: 0.05)
            case .scale: return random.gaussians(count, mean: 1, deviation: 0.1)
            case .runningVariance: return random.gaussians(count, mean: 0, deviation: 0.2).map { 1 + abs($0) }
            case .batchCounter: return []
            }
        }
    }

    /// File name of checkpoint `index` (0-based): `ckpt-001.safetensors.zst` for index 0.
    public static func fileName(_ index: Int) -> String {
        let number = String(index + 1)
        return "ckpt-" + String(repeating: "0", count: max(0, 3 - number.count)) + number + ".safetensors.zst"
    }

    /// Writes checkpoint `index` (epoch `index + 1`) to `path`, through SWAKit's writer.
    public func writeCheckpoint(_ index: Int, to path: String) throws {
        let writer = try CheckpointWriter(destination: path, tensors: model.tensors.map(\.spec), overwrite: true)
        for (tensorIndex, tensor) in model.tensors.enumerated() {
            if case .batchCounter = tensor.role {
                // 391 batches per epoch: CIFAR-10 at batch size 128.
                var batches = Int64(391 * (index + 1)).littleEndian
                try withUnsafeBytes(of: &batches) { try writer.writeData($0) }
                continue
            }
            var random = SplitMix64(seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9, stream: UInt64(tensorIndex))
            let weights = base[tensorIndex]
            let deviation = relativeNoise * scale(of: tensor.role)
            var values = random.gaussians(weights.count, mean: 0, deviation: deviation)
            for position in values.indices { values[position] += weights[position] }
            if case .runningVariance = tensor.role {
                for position in values.indices { values[position] = abs(values[position]) }
            }
            try values.withUnsafeBytes { try writer.writeData($0) }
        }
        try writer.finish(metadata: ["swa.epoch": String(index + 1), "swa.synthetic": "seed \(seed), noise \(relativeNoise)"])
    }

    /// Writes checkpoints `0..<count` into `folder`, two at a time on two cores.
    /// - Returns: the paths written, in order.
    public func writeCheckpoints(count: Int, into folder: String) throws -> [String] {
        let paths = (0..<count).map { folder + "/" + Self.fileName($0) }
        let failures = UnsafeMutableBufferPointer<String?>.allocate(capacity: count)
        failures.initialize(repeating: nil)
        defer { failures.deallocate() }
        nonisolated(unsafe) let slots = failures  // each iteration writes its own slot
        DispatchQueue.concurrentPerform(iterations: count) { index in
            do { try writeCheckpoint(index, to: paths[index]) } catch { slots[index] = "\(paths[index]): \(error)" }
        }
        if let failure = failures.compactMap({ $0 }).first { throw SyntheticError(failure) }
        return paths
    }

    private func scale(of role: SyntheticModel.Role) -> Float {
        switch role {
        case let .weight(fanIn): (2 / Float(fanIn)).squareRoot()
        case .bias, .runningMean: 0.05
        case .scale: 0.1
        case .runningVariance: 0.2
        case .batchCounter: 0
        }
    }
}

public struct SyntheticError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Random numbers

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and good enough for test data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator for `stream` of `seed`; different streams are unrelated.
    public init(seed: UInt64, stream: UInt64) {
        state = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        _ = next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` Gaussian samples (Box–Muller, two per pair of uniforms).
    public mutating func gaussians(_ count: Int, mean: Float, deviation: Float) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                let bits = next()
                // Two 24-bit uniforms; u1 in (0, 1] so log never sees 0.
                let u1 = (Float(bits >> 40) + 1) * 0x1p-24
                let u2 = Float((bits >> 16) & 0xFF_FFFF) * 0x1p-24
                let radius = (-2 * log(u1)).squareRoot() * deviation
                let angle = 2 * Float.pi * u2
                buffer[index] = mean + radius * cos(angle)
                if index + 1 < count { buffer[index + 1] = mean + radius * sin(angle) }
                index += 2
            }
            initialized = count
        }
    }
}
