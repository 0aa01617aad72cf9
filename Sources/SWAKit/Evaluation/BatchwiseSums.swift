/// Float64 sums over samples, kept per batch of the pass, whose totals add the batch sums in
/// batch order: the same bits whether one process summed every batch or shards of whole batches
/// each summed their own and a merge put them together (docs/SCALE.md).
///
/// Float64 addition is not associative: shard totals (b₀ + b₁) + (b₂ + b₃) differ in the last
/// bits from the single process's ((b₀ + b₁) + b₂) + b₃. Here each batch's sum runs over its
/// samples in sample order from 0, wherever it is computed, and a total starts at 0 and adds
/// every batch's sum in batch order, so any split of the batches into contiguous shards gives
/// the single process's bits. The cost is one row of `width` values per batch in a partial
/// result (8 bytes a value).
public struct BatchwiseSums: Sendable, Equatable {
    /// Quantities summed (the columns), e.g. NLL, Brier and 15 bin confidences.
    public private(set) var width: Int
    /// `[batches, width]`, row-major: row b holds batch b's sums.
    public private(set) var rows: [Double]

    /// No batches yet, of `width` quantities.
    public init(width: Int) {
        precondition(width >= 0, "negative width")
        self.width = width
        rows = []
    }

    /// Batches already summed: `rows` is `[batches, width]` (a partial result's tensor).
    public init(width: Int, rows: [Double]) {
        precondition(width >= 0 && (width == 0 ? rows.isEmpty : rows.count % width == 0), "rows do not hold whole batches of \(width)")
        self.width = width
        self.rows = rows
    }

    /// Batches of one quantity each: `columns[q][b]` is quantity q's sum over batch b; every
    /// column has the same number of batches.
    public init(columns: [[Double]]) {
        let batches = columns.first?.count ?? 0
        precondition(columns.allSatisfy { $0.count == batches }, "columns differ in batches")
        var rows = [Double](repeating: 0, count: batches * columns.count)
        for (q, column) in columns.enumerated() {
            for (b, value) in column.enumerated() { rows[b * columns.count + q] = value }
        }
        self.init(width: columns.count, rows: rows)
    }

    /// Batches summed so far (0 when `width` is 0).
    public var batchCount: Int { width == 0 ? 0 : rows.count / width }

    /// Starts the next batch, every quantity at 0.
    public mutating func startBatch() {
        rows.append(contentsOf: repeatElement(0, count: width))
    }

    /// Adds `value` to quantity `column` of the current (last started) batch.
    @inline(__always)
    public mutating func add(_ value: Double, to column: Int) {
        rows[rows.count - width + column] += value
    }

    /// Appends the batches of a later shard of the pass. Sums with no batches take the later
    /// shard's width (the first shard of a merge).
    public mutating func append(_ later: BatchwiseSums) {
        if rows.isEmpty && width != later.width {
            self = later
            return
        }
        precondition(later.rows.isEmpty || later.width == width, "batch sums of \(later.width) quantities appended to \(width)")
        rows += later.rows
    }

    /// Σ over batches, in batch order, of quantity `column`; 0 without batches.
    public func total(_ column: Int) -> Double {
        var sum = 0.0
        var index = column
        while index < rows.count {
            sum += rows[index]
            index += width
        }
        return sum
    }

    /// `total` of every quantity, in column order.
    public var totals: [Double] { (0..<width).map(total) }
}
