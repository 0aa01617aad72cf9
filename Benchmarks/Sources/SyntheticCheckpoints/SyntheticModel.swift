import SWAEngine
import SWAFormats
import SWAKit

/// The tensor layout of a model-shaped checkpoint of about a given size.
///
/// Blocks of a ResNet/VGG-like network, repeated until the size is reached: each block is
/// two 3×3 convolutions of 256 channels (OIHW `[256, 256, 3, 3]`, 2.25 MiB each in F32),
/// each followed by a batch norm (weight, bias, running_mean, running_var as F32 `[256]`,
/// num_batches_tracked as an I64 scalar), and a linear layer (out×in `[1024, 1024]`, 4 MiB)
/// with its bias: 14 tensors, 8.9 MB. A stem convolution with its batch norm opens the model
/// and a classifier (`[1000, 1024]`) closes it; 100 MB is 11 blocks, 162 tensors, as many
/// small tensors among large ones as a real ResNet has.
public struct SyntheticModel: Sendable {
    /// One tensor and the scale of its values.
    public struct Tensor: Sendable {
        public var spec: TensorSpec
        public var role: Role
    }

    /// What a tensor stands for, which decides its values.
    public enum Role: Sendable {
        /// Kaiming-like weights: Gaussian with standard deviation √(2 / fanIn).
        case weight(fanIn: Int)
        /// Small biases and BN shifts around 0.
        case bias
        /// BN scale (gamma) around 1.
        case scale
        /// BN running mean around 0.
        case runningMean
        /// BN running variance, positive, around 1.
        case runningVariance
        /// BN step counter (I64 scalar): batches seen so far.
        case batchCounter
    }

    public private(set) var tensors: [Tensor] = []

    /// Bytes of tensor data.
    public var dataByteCount: Int { tensors.reduce(0) { $0 + $1.spec.byteCount } }

    /// Number of elements over all tensors.
    public var elementCount: Int { tensors.reduce(0) { $0 + $1.spec.byteCount / $1.spec.dtype.byteSize } }

    /// A layout of at least `targetBytes` of tensor data (at least one block).
    public init(targetBytes: Int) {
        appendConvolution("stem", outChannels: 256, inChannels: 3, kernel: 7)
        appendBatchNorm("stem_bn", channels: 256)
        var block = 0
        repeat {
            let prefix = "blocks.\(block)"
            appendConvolution("\(prefix).conv1", outChannels: 256, inChannels: 256, kernel: 3)
            appendBatchNorm("\(prefix).bn1", channels: 256)
            appendConvolution("\(prefix).conv2", outChannels: 256, inChannels: 256, kernel: 3)
            appendBatchNorm("\(prefix).bn2", channels: 256)
            appendLinear("\(prefix).mlp", outFeatures: 1024, inFeatures: 1024)
            block += 1
        } while dataByteCount + 1000 * 1024 * 4 < targetBytes
        appendLinear("fc", outFeatures: 1000, inFeatures: 1024)
    }

    private mutating func appendConvolution(_ name: String, outChannels: Int, inChannels: Int, kernel: Int) {
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).weight", dtype: .f32, shape: [outChannels, inChannels, kernel, kernel]),
                              role: .weight(fanIn: inChannels * kernel * kernel)))
    }

    private mutating func appendBatchNorm(_ name: String, channels: Int) {
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).weight", dtype: .f32, shape: [channels]), role: .scale))
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).bias", dtype: .f32, shape: [channels]), role: .bias))
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).running_mean", dtype: .f32, shape: [channels]), role: .runningMean))
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).running_var", dtype: .f32, shape: [channels]), role: .runningVariance))
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).num_batches_tracked", dtype: .i64, shape: []), role: .batchCounter))
    }

    private mutating func appendLinear(_ name: String, outFeatures: Int, inFeatures: Int) {
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).weight", dtype: .f32, shape: [outFeatures, inFeatures]),
                              role: .weight(fanIn: inFeatures)))
        tensors.append(Tensor(spec: TensorSpec(name: "\(name).bias", dtype: .f32, shape: [outFeatures]), role: .bias))
    }
}
