import Foundation
import Testing
@testable import SWAData
@testable import SWAFormats
import SWATestSupport

/// `CachedBatchSource` against the streaming `DataSet` on the fixture data: the same batches
/// bit for bit (sizes that divide the data and sizes that leave a short last batch, with and
/// without augmentation), served again from memory without the file, and the fall-back to
/// streaming when the data does not fit the budget.
@Suite("Batch sources")
struct BatchSourceTests {
    static let train = TestSupport.fixtures + "/data/train.npz"
    static let test = TestSupport.fixtures + "/data/test.npz"

    @Test("Cached batches are the streamed batches bit for bit, with and without augmentation",
          arguments: [nil, Augmentation(cropPadding: 2, horizontalFlip: true)])
    func cachedMatchesStreamed(_ augmentation: Augmentation?) throws {
        let preprocessing = try Preprocessing.parse(metadataJSON: DataTests.fixturePreprocess)
        for path in [Self.train, Self.test] {
            let data = try DataSet(path: path, preprocessing: preprocessing, augmentation: augmentation, seed: 5)
            let cache = try CachedBatchSource(data, memoryBudget: 1 << 20)
            #expect(cache.isCached)
            // 1300 train and 497 test samples: 64 and 100 leave short last batches (20 and 97, 0
            // and 97), 1 gives one sample per batch, 2000 one batch of everything.
            for size in [1, 64, 100, 2000] {
                let streamed = try collect(data, size: size)
                let cached = try collect(cache, size: size)
                #expect(cached.count == (data.sampleCount + size - 1) / size)
                #expect(summary(cached) == summary(streamed), "\(path), size \(size)")
            }
            #expect(try cache.labels() == data.labels())
            #expect(cache.sampleCount == data.sampleCount && cache.sampleShape == [1, 8, 8] && cache.hasLabels && cache.path == path)
            let source: any BatchSource = cache
            #expect(source.sampleElementCount == 64)
        }
    }

    @Test("The last batch of 497 test samples in batches of 64 is 49 samples long, and its values are the stream's")
    func shortLastBatch() throws {
        let data = try DataSet(path: Self.test, preprocessing: nil, augmentation: Augmentation(cropPadding: 1), seed: 9)
        let cache = try CachedBatchSource(data, memoryBudget: .max)
        let batches = try collect(cache, size: 64)
        #expect(batches.map(\.count) == Array(repeating: 64, count: 7) + [49])
        #expect(batches.map(\.firstIndex) == (0 ..< 8).map { $0 * 64 })
        #expect(batches.last!.x.count == 49 * 64 && batches.last!.y!.count == 49)
        #expect(batches.last!.x.map(\.bitPattern) == (try collect(data, size: 64)).last!.x.map(\.bitPattern))
        // Not the plain data: the crops moved pixels.
        #expect(batches.flatMap(\.x) != (try collect(DataSet(path: Self.test, preprocessing: nil), size: 497)).flatMap(\.x))
    }

    @Test("Once decoded, passes are served from memory: the same batches after the file is corrupted")
    func decodesOnce() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let copy = folder + "/train.npz"
            try FileManager.default.copyItem(atPath: Self.train, toPath: copy)
            let data = try DataSet(path: copy, preprocessing: nil, augmentation: Augmentation(horizontalFlip: true), seed: 3)
            let streamed = try collect(data, size: 128)
            let cache = try CachedBatchSource(data, memoryBudget: 1300 * 64 * 4 + 1300 * 8)
            // Overwrite 64 bytes in the middle of x (332,800 bytes of a 343 kB file) in place, with
            // finite values (0x01 bytes), so that the zip's CRC-32 is what finds them; NaN bytes
            // would be refused first as NaN inputs (BatchStream's checkFinite).
            let file = try FileHandle(forUpdating: URL(fileURLWithPath: copy))
            try file.seek(toOffset: 100_000)
            try file.write(contentsOf: Data(repeating: 0x01, count: 64))
            try file.close()
            for _ in 0 ..< 3 {
                #expect(summary(try collect(cache, size: 128)) == summary(streamed))
            }
            #expect(try cache.labels().count == 1300)
            // The data set reads the file on every pass, and now finds it corrupt.
            let error = try #require(throws: SWAError.self) { try data.forEachBatch(size: 128) { _ in } }
            #expect(error.description.contains("corrupt zip: CRC-32 of the member"))
        }
    }

    @Test("The cache holds sampleCount × sampleElementCount × 4 bytes plus 8 per label; one byte less streams")
    func budget() throws {
        let data = try DataSet(path: Self.test, preprocessing: nil)
        let bytes = 497 * 64 * 4 + 497 * 8
        #expect(CachedBatchSource.cacheBytes(for: data) == bytes)
        #expect(try CachedBatchSource(data, memoryBudget: bytes).isCached)
        let streaming = try CachedBatchSource(data, memoryBudget: bytes - 1)
        #expect(!streaming.isCached)
        for size in [64, 500] {
            #expect(summary(try collect(streaming, size: size)) == summary(try collect(data, size: size)))
        }
        #expect(try streaming.labels() == data.labels())
        #expect(!(try CachedBatchSource(data, memoryBudget: 0)).isCached)
        // The limit counts, not the file's N.
        #expect(CachedBatchSource.cacheBytes(for: try DataSet(path: Self.test, preprocessing: nil, limit: 10)) == 10 * 64 * 4 + 10 * 8)
    }

    @Test("Data without labels: 4 bytes per value only, batches without y, and labels() names the arrays the file has")
    func withoutLabels() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let values = (0 ..< 5 * 3).map { Float($0) / 4 }
            let path = folder + "/features.npz"
            try NpzWriter.write([("x", .init(float32: values, shape: [5, 3]))], to: path, compressed: false)
            let data = try DataSet(path: path, preprocessing: nil)
            #expect(CachedBatchSource.cacheBytes(for: data) == 5 * 3 * 4)
            let cache = try CachedBatchSource(data, memoryBudget: 60)
            #expect(cache.isCached && !cache.hasLabels)
            let batches = try collect(cache, size: 2)
            #expect(batches.map(\.count) == [2, 2, 1])
            #expect(batches.allSatisfy { $0.y == nil })
            #expect(batches.flatMap(\.x) == values)
            let cachedError = TestSupport.errorDescription { _ = try cache.labels() }
            #expect(cachedError != nil)
            #expect(cachedError == TestSupport.errorDescription { _ = try data.labels() })
        }
    }

    @Test("A batch size below 1 is refused naming the file, cached or not")
    func badBatchSize() throws {
        let data = try DataSet(path: Self.test, preprocessing: nil)
        for source in [try CachedBatchSource(data, memoryBudget: .max), try CachedBatchSource(data, memoryBudget: 0)] {
            let error = try #require(throws: SWAError.self) { try source.forEachBatch(size: 0) { _ in } }
            #expect(error.description == "\(Self.test): batch size must be at least 1, got 0")
        }
    }

    @Test("An error thrown by the body ends the cached pass and comes back unchanged")
    func bodyErrors() throws {
        struct Stop: Error, Equatable {}
        let cache = try CachedBatchSource(DataSet(path: Self.test, preprocessing: nil), memoryBudget: .max)
        var seen = 0
        #expect(throws: Stop()) {
            try cache.forEachBatch(size: 100) { _ in
                seen += 1
                if seen == 2 { throw Stop() }
            }
        }
        #expect(seen == 2)
    }

    // MARK: - Helpers

    /// Every batch of one pass, through the protocol (as the flows will call it).
    private func collect(_ source: any BatchSource, size: Int) throws -> [Batch] {
        var batches: [Batch] = []
        try source.forEachBatch(size: size) { batches.append($0) }
        return batches
    }

    /// A batch as comparable values: first index, count, labels and the bits of every input value.
    private func summary(_ batches: [Batch]) -> [[Int64]] {
        batches.map { [Int64($0.firstIndex), Int64($0.count)] + ($0.y ?? [-1]) + $0.x.map { Int64($0.bitPattern) } }
    }
}
