/// Receives the progress and warnings of long work, so the library reports without printing.
///
/// The command-line layer draws progress bars and prints warnings on standard error; tests and
/// other callers pass `SilentProgress` or their own. Calls arrive on the working thread, in order:
/// `begin`, any number of `advance`, then `end`, per phase.
public protocol ProgressObserver: AnyObject {
    /// A phase of `total` units starts (images, bytes), called `title` ("bn update", "member 2/6").
    func begin(_ title: String, total: Int)
    /// `done` units of the current phase are finished (cumulative, not an increment).
    func advance(to done: Int)
    /// The current phase ended after `done` units.
    func end(_ done: Int)
    /// Something the user should know that does not stop the work (one line, without the tool's name).
    func warn(_ message: String)
}

/// Progress that goes nowhere.
public final class SilentProgress: ProgressObserver {
    public init() {}
    public func begin(_ title: String, total: Int) {}
    public func advance(to done: Int) {}
    public func end(_ done: Int) {}
    public func warn(_ message: String) {}
}
