import ArgumentParser
import Foundation
import SWACommandLine
import SWAKit

@main
struct SWALandscape: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swa-landscape",
        abstract: "The loss surface around checkpoints: along a line, along random directions, on a plane.",
        discussion: """
        The geometry of Izmailov et al. 2018 as commands. At every point the BN statistics are \
        recomputed on the training data (--bn update, as swa-bn-update does; --bn keep to skip), \
        then the point is scored in inference mode: train loss (mean cross-entropy, nats), train \
        error, test error and test NLL. Points run in parallel, one per core; the data is decoded \
        once. See docs/ANALYSES.md for what the pictures mean and what they cost.

        Examples:
          swa-landscape line swa-bn.bin ckpts/ckpt-020.safetensors.zst --train train.npz --test test.npz --steps=-0.5:1.5:21 --plot line.svg
          swa-landscape width swa-bn.bin ckpts/ckpt-020.safetensors.zst --train train.npz --test test.npz --directions 10 --distances 0:20:11 --seed 1
          swa-landscape plane ckpts/ckpt-010.safetensors.zst ckpts/ckpt-014.safetensors.zst ckpts/ckpt-020.safetensors.zst --train train.npz --test test.npz --mark swa.bin
          swa-landscape plane --pca ckpts/ --start 10 --train train.npz --test test.npz --plot trajectory.svg
        """,
        version: swaVersion,
        subcommands: [Line.self, Width.self, Plane.self])

    static func main() { runAsTool() }
}

/// Prints the report as JSON or a table, as `--json` and `--quiet` say.
private func emit(_ report: LandscapeReport, _ reporting: ReportingOptions) throws {
    if reporting.json {
        try printJSON(report)
    } else if !reporting.quiet {
        print(LandscapeTable(report: report).text)
    }
}

private func progress(_ reporting: ReportingOptions) -> ProgressBars {
    ProgressBars(tool: "swa-landscape", reporting: reporting, unit: .items("pts"))
}

/// Runs `job` whole, as one shard (`--shard I/N --partial FILE`), or as the merge of the
/// shards' partials (`--merge PARTIAL...`, given the shards' command line), and prints the report.
private func execute(_ job: LandscapeJob, _ shards: ShardFlags, _ reporting: ReportingOptions) throws {
    if shards.isMerge {
        return try emit(job.runMerge(shards.merge, progress: progress(reporting)), reporting)
    }
    if let shard = try shards.shardSpec(environment: ProcessInfo.processInfo.environment), let partial = shards.partial {
        let done = try job.runShard(shard, partial: partial, overwrite: job.overwrite, tool: "swa-landscape \(swaReleaseVersion)",
                                    progress: progress(reporting))
        if !reporting.quiet {
            print("shard \(shard): points \(done.range.lowerBound)..<\(done.range.upperBound) of \(done.total) -> \(partial)")
        }
        return
    }
    try emit(job.run(progress: progress(reporting)), reporting)
}

extension SWALandscape {
    /// The shard rules of swa-landscape: a shard writes a partial (no table, CSV or plot; the merge does).
    static func validate(_ shards: ShardFlags, _ options: LandscapeOptions) throws {
        try shards.validateShardWritesPartial()
        if shards.isShard, options.csv != nil || options.plot != nil {
            throw ValidationError("--csv and --plot go with --merge: a shard writes only its partial result")
        }
    }
}

extension SWALandscape {
    struct Line: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score w(t) = (1 - t)*A + t*B along the line from A (t = 0) to B (t = 1).",
            discussion: """
            With A = the SWA model and B = an SGD checkpoint this is the paper's w(t) = t*w_SGD + \
            (1 - t)*w_SWA (Figure 5): SGD sits near the edge of the flat region around SWA. Every \
            tensor is interpolated; t = 0 and t = 1 are A and B exactly. Give negative values with \
            an equals sign: --steps=-0.5:1.5:21.
            """)

        @Argument(help: ArgumentHelp("The start of the line (t = 0).", valueName: "A"))
        var a: String

        @Argument(help: ArgumentHelp("The end of the line (t = 1).", valueName: "B"))
        var b: String

        @Option(help: ArgumentHelp("Where to score: a range A:B:N (N evenly spaced values, both ends included) or a list T,T,... (default: -0.5:1.5:21)", valueName: "range"),
                transform: sweepArgument)
        var steps: SweepValues = try! SweepValues.parse("-0.5:1.5:21")

        @OptionGroup(title: "Data and outputs") var options: LandscapeOptions
        @OptionGroup(title: "Model") var model: ModelOptions
        @OptionGroup(title: "Reporting") var reporting: ReportingOptions
        @OptionGroup(title: "Shards (docs/SCALE.md)") var shards: ShardFlags

        func validate() throws { try SWALandscape.validate(shards, options) }

        func run() throws {
            try execute(options.job(.line(a: a, b: b, steps: steps), model: model), shards, reporting)
        }
    }

    struct Width: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score w + t*d along random directions d from each model, and report the width of its optimum.",
            discussion: """
            The paper's Figure 4: K random directions, Gaussian over all trainable weights together and \
            normalised to unit length (--normalize global), the same K for every model; or scaled \
            filter by filter to the model's weights (--normalize filter, Li et al. 2018). The width \
            is the distance at which the train loss first reaches --threshold (default: twice the \
            model's own), interpolated between distances. Directions come from a fixed generator \
            (SplitMix64 and Box-Muller): one --seed gives the same directions on every machine and \
            thread count.
            """)

        @Argument(help: ArgumentHelp("The models to start from (e.g. SWA and SGD).", valueName: "model"))
        var models: [String]

        @Option(help: ArgumentHelp("Number of random directions.", valueName: "K"))
        var directions: Int = 10

        @Option(help: ArgumentHelp("Distances along each direction: a range A:B:N or a list D,D,... (default: 0:20:11)", valueName: "range"),
                transform: sweepArgument)
        var distances: SweepValues = try! SweepValues.parse("0:20:11")

        @Option(help: ArgumentHelp("Seed of the random directions.", valueName: "S"))
        var seed: UInt64 = 0

        @Option(help: ArgumentHelp("Scale of each direction: global (a unit vector) or filter (Li et al. 2018).", valueName: "kind"))
        var normalize: DirectionNormalization = .global

        @Option(help: ArgumentHelp("Leave biases and BN weights out of the directions (biasbn), or not (none).", valueName: "what"))
        var ignore: DirectionIgnore = .none

        @Option(help: ArgumentHelp("Train loss (nats) at which the width is measured (default: twice the model's own).", valueName: "loss"))
        var threshold: Double?

        @OptionGroup(title: "Data and outputs") var options: LandscapeOptions
        @OptionGroup(title: "Model") var model: ModelOptions
        @OptionGroup(title: "Reporting") var reporting: ReportingOptions
        @OptionGroup(title: "Shards (docs/SCALE.md)") var shards: ShardFlags

        func validate() throws {
            guard directions >= 1 else { throw ValidationError("--directions must be at least 1, got \(directions)") }
            if let threshold, !(threshold > 0 && threshold.isFinite) {
                throw ValidationError("--threshold must be a positive number of nats, got \(threshold)")
            }
            try SWALandscape.validate(shards, options)
        }

        func run() throws {
            let kind = LandscapeJob.Kind.width(models: models, directions: directions, distances: distances, threshold: threshold)
            let job = options.job(kind, model: model, directions: RandomDirections(seed: seed, normalization: normalize, ignore: ignore))
            try execute(job, shards, reporting)
        }
    }

    struct Plane: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a grid on the plane through three checkpoints, or through a trajectory's principal directions.",
            discussion: """
            The paper's Figure 1: u = W2 - W1 normalised, v = W3 - W1 without its u-component, \
            normalised; a --grid x --grid lattice covering the points with --margin of their span on \
            every side. --mark places other models (e.g. SWA) on the plane with their distance off it. \
            With --pca RUN..., the plane of the selected checkpoints' two principal directions around \
            their mean, every checkpoint projected as a path (loss-landscape's plot_trajectory.py).
            """)

        @Argument(help: ArgumentHelp("Three checkpoints W1 W2 W3 (none with --pca).", valueName: "W"))
        var points: [String] = []

        @Option(parsing: .upToNextOption, help: ArgumentHelp("A run's checkpoints (files or folders), selected with --start/--end/--every/--last.", valueName: "run"))
        var pca: [String] = []

        @OptionGroup(title: "Trajectory selection (--pca)") var selection: SelectionOptions

        @Option(help: ArgumentHelp("Points per side of the lattice.", valueName: "N"))
        var grid: Int = 21

        @Option(help: ArgumentHelp("Room around the points, as a fraction of their span along each axis.", valueName: "F"))
        var margin: Double = 0.2

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Models to place on the plane and score (e.g. the SWA model).", valueName: "model"))
        var mark: [String] = []

        @Option(help: ArgumentHelp("Leave biases and BN weights out of the basis (biasbn), or not (none).", valueName: "what"))
        var ignore: DirectionIgnore = .none

        @OptionGroup(title: "Data and outputs") var options: LandscapeOptions
        @OptionGroup(title: "Model") var model: ModelOptions
        @OptionGroup(title: "Reporting") var reporting: ReportingOptions
        @OptionGroup(title: "Shards (docs/SCALE.md)") var shards: ShardFlags

        func validate() throws {
            if pca.isEmpty, points.count != 3 { throw ValidationError("plane needs three checkpoints W1 W2 W3 (or --pca RUN), got \(points.count)") }
            if !pca.isEmpty, !points.isEmpty { throw ValidationError("give either three checkpoints or --pca RUN, not both") }
            guard grid >= 2 else { throw ValidationError("--grid must be at least 2, got \(grid)") }
            guard margin >= 0, margin.isFinite else { throw ValidationError("--margin must be a fraction >= 0, got \(margin)") }
            try SWALandscape.validate(shards, options)
        }

        func run() throws {
            let kind: LandscapeJob.Kind = pca.isEmpty
                ? .plane(points: points, grid: grid, margin: margin, marks: mark)
                : .trajectory(inputs: pca, selection: selection.selection, grid: grid, margin: margin, marks: mark)
            let job = options.job(kind, model: model, directions: RandomDirections(seed: 0, ignore: ignore))
            try execute(job, shards, reporting)
        }
    }
}
