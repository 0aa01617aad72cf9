import SWAFormats
/// Consecutive samples of a data set, ready for a model.
public struct Batch {
    /// Inputs, normalised and augmented, always NCHW: `count × sampleShape` values, i.e.
    /// `[count, C, H, W]` for images or `[count, F]` for features, C order.
    public var x: [Float]
    /// Labels of the same samples, or `nil` when the data set has none.
    public var y: [Int64]?
    /// Samples in the batch: the requested size, except perhaps for the last batch.
    public var count: Int
    /// Index in the data file of the batch's first sample.
    public var firstIndex: Int

    /// A batch of `count` samples starting at file index `firstIndex`; `x` holds `count × sampleShape` values.
    public init(x: [Float], y: [Int64]?, count: Int, firstIndex: Int) {
        self.x = x
        self.y = y
        self.count = count
        self.firstIndex = firstIndex
    }
}

extension DataSet {
    /// Values in one sample: the product of `sampleShape`.
    public var sampleElementCount: Int { sampleShape.reduce(1, *) }

    /// Calls `body` with consecutive batches of `size` samples (the last may be shorter), in file order.
    ///
    /// `x` is streamed from the file in chunks and assembled one batch at a time, so memory
    /// holds one raw batch, one converted batch and the labels. Errors `body` throws end the
    /// pass and are rethrown unchanged.
    public func forEachBatch(size: Int, _ body: (Batch) throws -> Void) throws {
        try forEachBatch(size: size, samples: 0..<sampleCount, body)
    }

    /// Calls `body` with the batches of `forEachBatch(size:)` whose first sample lies in
    /// `samples`, and stops after them: a shard of the pass (docs/SCALE.md). Samples before
    /// the range are skipped without being converted (an image folder does not even decode
    /// them); give a range of whole batches (`k·size ..< m·size`, or up to `sampleCount`) to get
    /// exactly the single pass's batches.
    public func forEachBatch(size: Int, samples: Range<Int>, _ body: (Batch) throws -> Void) throws {
        guard size >= 1 else { throw SWAError(file: path, "batch size must be at least 1, got \(size)") }
        // The pass's batches start at multiples of `size`: the first one inside the range.
        let firstBatchStart = (max(samples.lowerBound, 0) + size - 1) / size * size
        guard firstBatchStart < min(samples.upperBound, sampleCount) else { return }
        let labels = hasLabels ? try labels() : nil
        let converter = SampleConverter(self)
        let rawSampleBytes = sampleElementCount * inputs.dtype.byteSize
        let capacity = min(size, sampleCount)
        var raw = [UInt8](repeating: 0, count: capacity * rawSampleBytes)
        var rawFilled = 0
        var delivered = firstBatchStart
        var batch = Batch(x: [], y: nil, count: 0, firstIndex: 0)
        var scratch = [Float](repeating: 0, count: converter.needsScratch ? sampleElementCount : 0)

        func emit(_ count: Int) throws {
            guard samples.contains(delivered) else {
                delivered += count
                return
            }
            let elements = count * sampleElementCount
            try checkFinite(raw, samples: count, firstIndex: delivered)
            // Reuse the buffer from the last batch unless `body` kept it (then it is copied on write).
            if batch.x.count != elements { batch.x = [Float](repeating: 0, count: elements) }
            raw.withUnsafeBytes { source in
                batch.x.withUnsafeMutableBufferPointer { destination in
                    scratch.withUnsafeMutableBufferPointer { scratch in
                        converter.convert(source, count: count, firstIndex: delivered, into: destination, scratch: scratch)
                    }
                }
            }
            batch.count = count
            batch.firstIndex = delivered
            batch.y = labels.map { Array($0[delivered..<delivered + count]) }
            try body(batch)
            delivered += count
        }

        try container.streamElements(of: inputs.key, skippingBytes: firstBatchStart * rawSampleBytes) { chunk in
            var offset = 0
            while offset < chunk.count {
                let wantedBytes = min(capacity, sampleCount - delivered) * rawSampleBytes
                let take = min(wantedBytes - rawFilled, chunk.count - offset)
                raw.withUnsafeMutableBytes { destination in
                    destination.baseAddress!.advanced(by: rawFilled).copyMemory(from: chunk.baseAddress! + offset, byteCount: take)
                }
                rawFilled += take
                offset += take
                if rawFilled == wantedBytes {
                    try emit(wantedBytes / rawSampleBytes)
                    rawFilled = 0
                    // Stop early only for a limit: a member read to its end gets its CRC-32 checked.
                    if delivered == sampleCount && sampleCount < inputs.shape[0] { return .stop }
                    // A shard ends with its range.
                    if delivered >= samples.upperBound && delivered < sampleCount { return .stop }
                }
            }
            return .more
        }
        guard delivered == sampleCount || delivered >= samples.upperBound else {
            throw inputs.source.error("truncated: \(delivered) of \(sampleCount) samples could be read")
        }
    }
}

// MARK: - Raw sample to model input

extension DataSet {
    /// Refuses float inputs holding NaN or ±inf, which would turn BN statistics and every
    /// prediction into NaN silently; names the file, the array and the first sample.
    func checkFinite(_ raw: [UInt8], samples count: Int, firstIndex: Int) throws {
        guard inputs.dtype.isFloatingPoint else { return }
        var values = NonFiniteValues()
        raw.withUnsafeBytes { values.scan($0.baseAddress!, dtype: inputs.dtype, count: count * sampleElementCount, firstElement: 0) }
        guard values.count > 0 else { return }
        let sample = firstIndex + values.firstIndex / sampleElementCount
        throw SWAError(file: path, "\(inputs.key): sample \(sample) holds NaN or Inf (element \(values.firstIndex % sampleElementCount) of the sample)")
    }
}

/// Turns raw samples into model inputs: decode and scale, NHWC → NCHW, augment, normalise.
///
/// Arithmetic is Float32 in torchvision's order, so values match its pipeline bit for bit
/// where the operations coincide: `ToTensor` divides uint8 by 255, `Normalize` computes
/// `(v − mean) / std` with `mean` and `std` rounded to Float32.
struct SampleConverter {
    let dtype: DType
    let layout: DataLayout
    /// C, H, W of the converted sample (F, 1, 1 for features).
    let channels: Int, height: Int, width: Int
    let scale: Double
    /// Per channel, already expanded from a single value; empty without preprocessing.
    let mean: [Float], std: [Float]
    let augmentation: Augmentation?
    let seed: UInt64

    init(_ dataSet: DataSet) {
        dtype = dataSet.inputs.dtype
        layout = dataSet.layout
        let shape = dataSet.sampleShape
        channels = shape[0]
        height = shape.count == 3 ? shape[1] : 1
        width = shape.count == 3 ? shape[2] : 1
        scale = dataSet.preprocessing?.scale ?? 1
        let channels = channels
        func expand(_ values: [Double]) -> [Float] {
            values.count == 1 ? Array(repeating: Float(values[0]), count: channels) : values.map { Float($0) }
        }
        mean = dataSet.preprocessing.map { expand($0.mean) } ?? []
        std = dataSet.preprocessing.map { expand($0.std) } ?? []
        augmentation = dataSet.augmentation.flatMap { $0.isIdentity ? nil : $0 }
        seed = dataSet.seed
        byteTables = Self.byteTables(dtype: dtype, augmentation: augmentation, channels: channels, mean: mean, std: std)
    }

    var needsScratch: Bool { augmentation != nil }

    /// Converts `count` raw samples (stored back to back in `source`) for file indices
    /// `firstIndex...` into `destination` (`count × C × H × W` values).
    func convert(_ source: UnsafeRawBufferPointer, count: Int, firstIndex: Int,
                 into destination: UnsafeMutableBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>) {
        let elements = channels * height * width
        let rawBytes = elements * dtype.byteSize
        if let byteTables {
            convertBytes(source, count: count, tables: byteTables, into: destination)
            return
        }
        for sample in 0..<count {
            let raw = UnsafeRawBufferPointer(rebasing: source[(sample * rawBytes)..<((sample + 1) * rawBytes)])
            let out = destination.baseAddress! + sample * elements
            if let augmentation {
                decode(raw, into: scratch.baseAddress!)
                let draw = augmentation.draw(seed: seed, index: firstIndex + sample)
                Augmentation.apply(draw, padding: augmentation.cropPadding ?? 0, channels: channels, height: height, width: width,
                                   source: scratch.baseAddress!, destination: out)
            } else {
                decode(raw, into: out)
            }
            normalise(out)
        }
    }

    /// For uint8 images (at most 64 channels) without augmentation: per channel, the converted value of each byte
    /// (`256 × C` values), computed once with the same Float32 operations as `decode` then
    /// `normalise`, so a table look-up gives the same bits at a fraction of the cost.
    let byteTables: [Float]?

    static func byteTables(dtype: DType, augmentation: Augmentation?, channels: Int, mean: [Float], std: [Float]) -> [Float]? {
        // Per channel: a feature vector of thousands of uint8 values would need a table each.
        guard dtype == .u8, augmentation == nil, channels <= 64 else { return nil }
        var tables = [Float](repeating: 0, count: 256 * channels)
        for channel in 0..<channels {
            for byte in 0..<256 {
                var value = Float(UInt8(byte)) / 255
                if !mean.isEmpty { value = (value - mean[channel]) / std[channel] }
                tables[channel * 256 + byte] = value
            }
        }
        return tables
    }

    /// uint8 samples → model inputs through `byteTables`, NHWC → NCHW as `place` does.
    private func convertBytes(_ source: UnsafeRawBufferPointer, count: Int, tables: [Float],
                              into destination: UnsafeMutableBufferPointer<Float>) {
        let plane = height * width, elements = channels * plane
        tables.withUnsafeBufferPointer { tables in
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for sample in 0..<count {
                let raw = bytes.baseAddress! + sample * elements, out = destination.baseAddress! + sample * elements
                for channel in 0..<channels {
                    let table = tables.baseAddress! + channel * 256
                    let values = out + channel * plane
                    if layout == .nhwc {
                        for pixel in 0..<plane { values[pixel] = table[Int(raw[pixel * channels + channel])] }
                    } else {
                        let channelBytes = raw + channel * plane
                        for pixel in 0..<plane { values[pixel] = table[Int(channelBytes[pixel])] }
                    }
                }
            }
        }
    }

    /// Raw values → scaled Float32 in C×H×W order.
    private func decode(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .u8:
            place { index in Float(raw[index]) / 255 }
        case .f32 where scale == 1:
            place { index in raw.loadUnaligned(fromByteOffset: index * 4, as: Float.self) }
        case .f32:
            let factor = Float(scale)
            place { index in raw.loadUnaligned(fromByteOffset: index * 4, as: Float.self) * factor }
        default:
            place { index in Float(raw.loadUnaligned(fromByteOffset: index * 8, as: Double.self) * scale) }
        }

        /// Stores element `load(i)` of the raw sample at its NCHW place.
        func place(_ load: (Int) -> Float) {
            guard layout == .nhwc else {
                for index in 0..<(channels * height * width) { out[index] = load(index) }
                return
            }
            let plane = height * width
            for pixel in 0..<plane {
                for channel in 0..<channels { out[channel * plane + pixel] = load(pixel * channels + channel) }
            }
        }
    }

    private func normalise(_ out: UnsafeMutablePointer<Float>) {
        guard !mean.isEmpty else { return }
        let plane = height * width
        for channel in 0..<channels {
            let m = mean[channel], s = std[channel]
            let values = out + channel * plane
            for index in 0..<plane { values[index] = (values[index] - m) / s }
        }
    }
}
