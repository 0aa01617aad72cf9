import SWAFormats
/// Samples served in batches, ready for a model: a data set streamed from its file, or the
/// same data decoded once and kept in memory (`CachedBatchSource`).
///
/// Every source gives the same batches for the same data set and batch size: consecutive
/// samples in file order, `x` normalised (and augmented, as drawn per sample index) in NCHW,
/// the last batch shorter when the size does not divide `sampleCount`.
public protocol BatchSource {
    /// The data file's path as the user gave it (for messages).
    var path: String { get }
    /// Samples served: the file's N, or the data set's limit if smaller.
    var sampleCount: Int { get }
    /// One sample after layout conversion: `[C, H, W]` for images, `[F]` for features.
    var sampleShape: [Int] { get }
    /// Whether the data has labels.
    var hasLabels: Bool { get }
    /// The labels of the `sampleCount` samples as `Int64`.
    /// - Throws: if the data has no labels (naming the arrays it has) or they cannot be read.
    func labels() throws -> [Int64]
    /// Calls `body` with consecutive batches of `size` samples (the last may be shorter), in
    /// file order. Errors `body` throws end the pass and are rethrown unchanged.
    /// - Throws: for a size below 1, or data that cannot be read, naming the file.
    func forEachBatch(size: Int, _ body: (Batch) throws -> Void) throws
    /// Calls `body` with the batches of `forEachBatch(size:)` whose first sample lies in
    /// `samples` (a shard of the pass; a range of whole batches gives exactly those batches).
    func forEachBatch(size: Int, samples: Range<Int>, _ body: (Batch) throws -> Void) throws
}

extension BatchSource {
    /// Values in one sample: the product of `sampleShape`.
    public var sampleElementCount: Int { sampleShape.reduce(1, *) }
}

/// A data set streams from its file on every pass (`DataSet.forEachBatch`).
extension DataSet: BatchSource {}

// MARK: - Decoding once

/// A data set's batches served from memory: decoded, converted and augmented once, then
/// served any number of times, when the converted data fits a memory budget; otherwise
/// streamed from the data set on every pass, as the data set itself does.
///
/// For analyses that make hundreds of passes over the same data (a loss surface evaluates
/// and recomputes BN statistics at every point). The batches are bit for bit the data set's,
/// augmentation included: its draws depend only on the seed and the sample index, so a
/// decoded pass is every pass.
public final class CachedBatchSource: BatchSource {
    /// The data set the samples come from.
    public let dataSet: DataSet
    /// Whether the samples are held in memory (else every pass streams from the file).
    public var isCached: Bool { samples != nil }

    /// The converted inputs, `[sampleCount, C, H, W]` (or `[sampleCount, F]`) Float32.
    private let samples: [Float]?
    /// The labels when the samples are cached and the data has labels.
    private let cachedLabels: [Int64]?

    /// Decodes `dataSet` into memory if its converted samples and labels fit `memoryBudget`,
    /// else only keeps the data set to stream from.
    ///
    /// - Parameters:
    ///   - dataSet: the data, with its preprocessing, augmentation, seed and limit.
    ///   - memoryBudget: bytes the cache may hold; it is used when
    ///     `CachedBatchSource.cacheBytes(for: dataSet)` is at most this. Decoding also holds
    ///     one raw and one converted batch of the stream for the time of the pass.
    /// - Throws: the data set's errors when the data cannot be read.
    public init(_ dataSet: DataSet, memoryBudget: Int) throws {
        self.dataSet = dataSet
        guard let bytes = Self.cacheBytes(for: dataSet), bytes <= memoryBudget else {
            samples = nil
            cachedLabels = nil
            return
        }
        let elements = dataSet.sampleElementCount
        var samples = [Float](repeating: 0, count: dataSet.sampleCount * elements)
        try samples.withUnsafeMutableBufferPointer { destination in
            // Any batch size gives the same samples; this one keeps the stream's buffers near 1 MiB.
            let size = max(1, min(dataSet.sampleCount, (1 << 20) / (4 * elements)))
            try dataSet.forEachBatch(size: size) { batch in
                batch.x.withUnsafeBufferPointer { x in
                    (destination.baseAddress! + batch.firstIndex * elements).update(from: x.baseAddress!, count: x.count)
                }
            }
        }
        self.samples = samples
        cachedLabels = dataSet.hasLabels ? try dataSet.labels() : nil
    }

    /// The bytes a cache of `dataSet` holds: `sampleCount × sampleElementCount × 4` for the
    /// Float32 samples, plus `sampleCount × 8` for Int64 labels if it has them; `nil` if
    /// that does not fit in an `Int`.
    public static func cacheBytes(for dataSet: DataSet) -> Int? {
        let (values, valuesOverflow) = dataSet.sampleCount.multipliedReportingOverflow(by: dataSet.sampleElementCount)
        let (sampleBytes, bytesOverflow) = values.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        let (labelBytes, labelsOverflow) = dataSet.sampleCount.multipliedReportingOverflow(by: dataSet.hasLabels ? MemoryLayout<Int64>.size : 0)
        let (total, totalOverflow) = sampleBytes.addingReportingOverflow(labelBytes)
        return valuesOverflow || bytesOverflow || labelsOverflow || totalOverflow ? nil : total
    }

    /// The data file's path as the user gave it.
    public var path: String { dataSet.path }
    /// Samples served: the file's N, or the data set's limit if smaller.
    public var sampleCount: Int { dataSet.sampleCount }
    /// One sample after layout conversion: `[C, H, W]` for images, `[F]` for features.
    public var sampleShape: [Int] { dataSet.sampleShape }
    /// Whether the data has labels.
    public var hasLabels: Bool { dataSet.hasLabels }

    /// The labels of the `sampleCount` samples (from memory when cached).
    /// - Throws: if the data has no labels (naming the arrays it has) or they cannot be read.
    public func labels() throws -> [Int64] {
        guard let cachedLabels else { return try dataSet.labels() }
        return cachedLabels
    }

    /// Calls `body` with consecutive batches of `size` samples (the last may be shorter), in
    /// file order: from memory when cached, else streamed by the data set.
    /// - Throws: for a size below 1, naming the file; errors `body` throws, unchanged; when
    ///   streaming, the data set's read errors.
    public func forEachBatch(size: Int, _ body: (Batch) throws -> Void) throws {
        try forEachBatch(size: size, samples: 0..<sampleCount, body)
    }

    /// The batches of `forEachBatch(size:)` whose first sample lies in `range` (a shard).
    public func forEachBatch(size: Int, samples range: Range<Int>, _ body: (Batch) throws -> Void) throws {
        guard let samples else { return try dataSet.forEachBatch(size: size, samples: range, body) }
        guard size >= 1 else { throw SWAError(file: path, "batch size must be at least 1, got \(size)") }
        let elements = dataSet.sampleElementCount
        var batch = Batch(x: [], y: nil, count: 0, firstIndex: 0)
        var first = 0
        while first < sampleCount {
            let count = min(size, sampleCount - first)
            guard range.contains(first) else {
                if first >= range.upperBound { return }
                first += count
                continue
            }
            // Reuse the buffer from the last batch unless `body` kept it (then it is copied on write).
            if batch.x.count != count * elements { batch.x = [Float](repeating: 0, count: count * elements) }
            samples.withUnsafeBufferPointer { source in
                batch.x.withUnsafeMutableBufferPointer { destination in
                    destination.baseAddress!.update(from: source.baseAddress! + first * elements, count: count * elements)
                }
            }
            batch.y = cachedLabels.map { Array($0[first ..< first + count]) }
            batch.count = count
            batch.firstIndex = first
            try body(batch)
            first += count
        }
    }
}
