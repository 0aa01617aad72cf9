import SWAKit
import ArgumentParser

/// `--json` and `--quiet`: how every tool reports what it did.
public struct ReportingOptions: ParsableArguments {
    @Flag(help: "Print what was done as JSON on standard output.")
    public var json = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors (and the JSON with --json).")
    public var quiet = false

    public init() {}

    /// Whether to draw progress bars: on a terminal, and neither quiet nor printing JSON.
    public var showsProgress: Bool { standardErrorIsTerminal && !quiet && !json }

    /// Whether to print the human-readable summary.
    public var printsSummary: Bool { !quiet && !json }
}
