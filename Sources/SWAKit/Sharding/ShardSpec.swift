import SWAFormats

/// Shard `index` of `count` (0-based), as `--shard I/N` gives it (docs/SCALE.md).
///
/// A sharded run splits one piece of work (batches, samples, tensors, points) into `count`
/// contiguous ranges; shard `index` does one of them and writes a partial result that
/// `--merge` combines, in shard order, into what the single process gives.
public struct ShardSpec: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Which shard, `0 ..< count`.
    public let index: Int
    /// How many shards the run has, at least 1.
    public let count: Int

    /// Shard `index` of `count`.
    /// - Throws: `SWAError` unless `count >= 1` and `0 <= index < count`.
    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw SWAError("shard count must be at least 1, got \(count)") }
        guard index >= 0, index < count else {
            throw SWAError("shard index \(index) is outside 0..<\(count) (shards are numbered from 0: 0/\(count) to \(count - 1)/\(count))")
        }
        self.index = index
        self.count = count
    }

    /// `"I/N"` (0-based I, e.g. `"3/8"`), or `"auto"`, which reads the scheduler's environment:
    /// - Slurm job arrays: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (0 when unset:
    ///   `--array` may start anywhere), with `SLURM_ARRAY_TASK_COUNT` shards (`shardCount`,
    ///   when given, must agree);
    /// - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX`, with `shardCount` shards
    ///   (`--shard-count`; the pod does not know the job's completions).
    /// - Throws: `SWAError`, one line naming the variable or the text at fault.
    public static func parse(_ text: String, shardCount: Int?, environment: [String: String]) throws -> ShardSpec {
        if text == "auto" { return try fromEnvironment(shardCount: shardCount, environment: environment) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw SWAError("--shard '\(text)': expected I/N (e.g. 0/8, shards numbered from 0) or auto")
        }
        if let shardCount, shardCount != count {
            throw SWAError("--shard \(text) says \(count) shards but --shard-count says \(shardCount)")
        }
        return try ShardSpec(index: index, count: count)
    }

    private static func fromEnvironment(shardCount: Int?, environment: [String: String]) throws -> ShardSpec {
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text) else {
                throw SWAError("--shard auto: \(name)='\(text)' is not an integer")
            }
            return value
        }
        if let task = try integer("SLURM_ARRAY_TASK_ID") {
            guard let count = try integer("SLURM_ARRAY_TASK_COUNT") else {
                throw SWAError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
            }
            let minimum = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            if let shardCount, shardCount != count {
                throw SWAError("--shard auto: SLURM_ARRAY_TASK_COUNT=\(count) but --shard-count says \(shardCount)")
            }
            do {
                return try ShardSpec(index: task - minimum, count: count)
            } catch {
                throw SWAError("--shard auto: SLURM_ARRAY_TASK_ID=\(task) (SLURM_ARRAY_TASK_MIN=\(minimum)) is not a shard of \(count)"
                    + " (use a contiguous --array, e.g. --array=0-\(count - 1))")
            }
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let shardCount else {
                throw SWAError("--shard auto: JOB_COMPLETION_INDEX is set but --shard-count is not (give the Job's completions)")
            }
            do {
                return try ShardSpec(index: index, count: shardCount)
            } catch {
                throw SWAError("--shard auto: JOB_COMPLETION_INDEX=\(index) is not a shard of --shard-count \(shardCount)")
            }
        }
        throw SWAError("--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set")
    }

    /// The contiguous part of `0 ..< total` this shard takes: as even as possible, the first
    /// `total % count` shards one item more. Empty for the later shards when `total < count`.
    /// The ranges of shards `0 ..< count` tile `0 ..< total` in order.
    public func range(of total: Int) -> Range<Int> {
        precondition(total >= 0, "a negative total")
        let base = total / count, extra = total % count
        let start = index * base + min(index, extra)
        return start ..< start + base + (index < extra ? 1 : 0)
    }

    /// `"I/N"`.
    public var description: String { "\(index)/\(count)" }

    /// Encoded as its `"I/N"` text.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try ShardSpec.parse(text, shardCount: nil, environment: [:])
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "shard '\(text)' is not I/N")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
