import Foundation
import Testing
@testable import SWAData
@testable import SWAKit

/// `BatchwiseSums`: totals over batches do not depend on how the batches were split into
/// shards, where adding shard totals does.
@Suite struct BatchwiseSumsTests {
    /// 1,000 per-sample values of mixed magnitude, in batches of 7 (the last one short), split
    /// into shards at every possible pair of batch boundaries.
    @Test func shardsOfWholeBatchesGiveTheSingleProcessBits() {
        var generator = SplitMix64(seed: 42)
        let values = (0..<1000).map { _ in Double.random(in: 0...1, using: &generator) * pow(10, Double.random(in: -3...3, using: &generator)) }
        let batchSize = 7, batches = (values.count + batchSize - 1) / batchSize
        func sums(_ batchRange: Range<Int>) -> BatchwiseSums {
            var sums = BatchwiseSums(width: 2)
            for sample in batchRange.lowerBound * batchSize ..< min(values.count, batchRange.upperBound * batchSize) {
                if sample % batchSize == 0 { sums.startBatch() }
                sums.add(values[sample], to: 0)
                sums.add(-2 * values[sample], to: 1)
            }
            return sums
        }
        let single = sums(0..<batches)
        #expect(single.batchCount == batches)
        var naiveDiffers = false
        for first in 1..<batches - 1 {
            for second in [first + 1, (first + batches) / 2 + 1, batches - 1] where second > first && second < batches {
                var merged = BatchwiseSums(width: 2)
                for range in [0..<first, first..<second, second..<batches] { merged.append(sums(range)) }
                #expect(merged == single)
                #expect(merged.total(0).bitPattern == single.total(0).bitPattern)
                #expect(merged.totals.map(\.bitPattern) == single.totals.map(\.bitPattern))
                // What a merge of shard totals would give: not always the same bits.
                let naive = [0..<first, first..<second, second..<batches].map { sums($0).total(0) }.reduce(0, +)
                if naive.bitPattern != single.total(0).bitPattern { naiveDiffers = true }
            }
        }
        #expect(naiveDiffers, "adding shard totals never changed a bit: the test data do not show the problem")
        // Totals are the plain sums up to rounding.
        #expect(abs(single.total(0) - values.reduce(0, +)) <= 1e-12 * values.reduce(0, +))
    }

    @Test func columnsAndEmptyShards() {
        let sums = BatchwiseSums(columns: [[1, 2, 3], [10, 20, 30]])
        #expect(sums.width == 2 && sums.batchCount == 3)
        #expect(sums.rows == [1, 10, 2, 20, 3, 30])
        #expect(sums.totals == [6, 60])
        // A merge starts from no batches of unknown width; an empty shard adds nothing.
        var merged = BatchwiseSums(width: 0)
        merged.append(BatchwiseSums(width: 2))
        merged.append(sums)
        merged.append(BatchwiseSums(width: 2))
        #expect(merged == sums)
        #expect(BatchwiseSums(width: 3).totals == [0, 0, 0])
    }
}
