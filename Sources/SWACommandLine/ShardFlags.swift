import ArgumentParser
import SWAFormats
import SWAKit

/// `--shard I/N|auto`, `--shard-count N`, `--partial FILE`, `--merge PARTIAL...`: a run split
/// over processes or machines, each shard writing a partial result that `--merge` combines
/// into what the single process gives (docs/CLI.md, "Shards"; docs/SCALE.md).
///
/// `validate()` checks the rules every tool shares: `--partial` needs `--shard`; `--merge`
/// excludes `--shard` and `--partial`; `--shard-count` goes with `--shard`. A tool whose
/// shards can only write partials (swa-bn-update, swa-eval, swa-landscape) also calls
/// `validateShardWritesPartial()` from its own `validate()`; swa-avg's tensor-range shards
/// write an output shard file directly, so it does not.
public struct ShardFlags: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Do shard I of N (0-based, e.g. 3/8) of the work; with --partial, write its partial result. \
        'auto' reads Slurm's SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (less SLURM_ARRAY_TASK_MIN) \
        or Kubernetes' JOB_COMPLETION_INDEX (with --shard-count).
        """, valueName: "I/N|auto"))
    public var shard: String?

    @Option(help: ArgumentHelp("The number of shards, for --shard auto in a Kubernetes Indexed Job (its completions); checked against N otherwise.", valueName: "N"))
    public var shardCount: Int?

    @Option(help: ArgumentHelp("Where this shard writes its partial result (the checkpoint format, Float64 sums and counts, with the run's inputs and options).", valueName: "file"))
    public var partial: String?

    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("Combine the partial results of every shard of one run into the single process's result (refuses other runs, missing or duplicate shards, damaged files).", valueName: "partial"))
    public var merge: [String] = []

    public init() {}

    /// Whether this is a shard run (`--shard` given).
    public var isShard: Bool { shard != nil }
    /// Whether this is a merge (`--merge` given).
    public var isMerge: Bool { !merge.isEmpty }

    public func validate() throws {
        if let shardCount, shardCount < 1 { throw ValidationError("--shard-count must be at least 1, got \(shardCount)") }
        if partial != nil, shard == nil { throw ValidationError("--partial needs --shard I/N (or --shard auto)") }
        if shardCount != nil, shard == nil { throw ValidationError("--shard-count goes with --shard auto") }
        if isMerge, shard != nil { throw ValidationError("--merge combines finished shards; it excludes --shard") }
        if isMerge, partial != nil { throw ValidationError("--merge writes the result, not a partial; it excludes --partial") }
        if let shard, shard != "auto" {
            do {
                _ = try ShardSpec.parse(shard, shardCount: shardCount, environment: [:])
            } catch let error as SWAError {
                throw ValidationError(error.message)
            }
        }
    }

    /// For tools whose shards write only partial results: `--shard` without `--partial` is a usage error.
    public func validateShardWritesPartial() throws {
        if shard != nil, partial == nil {
            throw ValidationError("--shard needs --partial FILE: a shard writes a partial result, which --merge combines")
        }
    }

    /// The shard to do, or nil without `--shard`; `auto` is resolved from `environment`
    /// (pass `ProcessInfo.processInfo.environment`).
    /// - Throws: `ValidationError` (exit 2) with one line naming the variable at fault.
    public func shardSpec(environment: [String: String]) throws -> ShardSpec? {
        guard let shard else { return nil }
        do {
            return try ShardSpec.parse(shard, shardCount: shardCount, environment: environment)
        } catch let error as SWAError {
            throw ValidationError(error.message)
        }
    }
}
