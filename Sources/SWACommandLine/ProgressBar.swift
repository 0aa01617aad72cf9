import SWAKit
import Foundation

/// A one-line progress bar on standard error, redrawn at most ten times a second.
///
/// Drawn only when standard error is a terminal and not silenced, so logs and pipes stay
/// clean; shows done/total, rate and time left.
public final class ProgressBar {
    public enum Unit { case bytes, items(String) }

    private let title: String
    private let total: Int
    private let unit: Unit
    private let enabled: Bool
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private var drewSomething = false

    public init(title: String, total: Int, unit: Unit, enabled: Bool) {
        self.title = title
        self.total = max(total, 1)
        self.unit = unit
        self.enabled = enabled
    }

    /// Reports `done` units of work; cheap to call often.
    public func update(_ done: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDrawn) >= 0.1 else { return }
        lastDrawn = now
        draw(done, now: now)
    }

    /// Draws the final state and ends the line.
    public func finish(_ done: Int) {
        guard enabled, drewSomething || Date().timeIntervalSince(started) > 0.1 else { return }
        draw(done, now: Date())
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(_ done: Int, now: Date) {
        drewSomething = true
        let fraction = min(1, Double(done) / Double(total))
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let elapsed = max(now.timeIntervalSince(started), 1e-3)
        let rate = Double(done) / elapsed
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        let amounts: String
        switch unit {
        case .bytes: amounts = "\(formatBytes(done))/\(formatBytes(total))  \(formatBytes(Int(rate)))/s"
        case let .items(name): amounts = "\(done)/\(total) \(name)  \(Int(rate)) \(name)/s"
        }
        let line = String(format: "\r%@ [%@] %3d%%  %@  ETA %@\u{1B}[K", title, bar, Int(fraction * 100), amounts, formatDuration(remaining))
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// `0.4s`, `1m05s`.
public func formatDuration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
}
