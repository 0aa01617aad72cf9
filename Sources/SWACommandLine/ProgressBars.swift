import SWAKit

/// The command-line face of `ProgressObserver`: one `ProgressBar` per phase on standard error
/// (drawn only on a terminal), and warnings as `TOOL: MESSAGE` lines unless `--quiet`.
public final class ProgressBars: ProgressObserver {
    private let tool: String
    private let drawsBars: Bool
    private let printsWarnings: Bool
    private let unit: ProgressBar.Unit
    private var current: ProgressBar?

    /// - Parameters:
    ///   - tool: the tool's name, put before every warning.
    ///   - reporting: `--quiet`/`--json`, which silence bars (and `--quiet` warnings).
    ///   - unit: what the phases count (`.items("img")`, `.bytes`).
    public init(tool: String, reporting: ReportingOptions, unit: ProgressBar.Unit = .items("img")) {
        self.tool = tool
        self.drawsBars = reporting.showsProgress
        self.printsWarnings = !reporting.quiet
        self.unit = unit
    }

    public func begin(_ title: String, total: Int) {
        current = ProgressBar(title: title, total: total, unit: unit, enabled: drawsBars)
    }

    public func advance(to done: Int) { current?.update(done) }

    public func end(_ done: Int) {
        current?.finish(done)
        current = nil
    }

    public func warn(_ message: String) {
        if printsWarnings { printError("\(tool): \(message)") }
    }
}
