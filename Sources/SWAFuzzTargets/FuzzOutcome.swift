import SWAFormats

/// How one fuzz input ended, judged against the reliability contract.
public enum FuzzOutcome: Equatable, Sendable {
    /// The parser accepted the bytes.
    case accepted
    /// The parser refused them with one line naming the file: the only acceptable refusal.
    case refused(String)
    /// A contract violation: an error of another type, or an `SWAError` that names no file.
    case violation(String)

    /// Runs `target` on `bytes` and classifies what happened. Traps and sanitizer reports
    /// cannot be caught here; libFuzzer (or the test process) sees them directly.
    public static func check(_ target: FuzzTarget, _ bytes: [UInt8], scratch: FuzzScratch) -> FuzzOutcome {
        do {
            try target.run(bytes, scratch: scratch)
            return .accepted
        } catch let error as SWAError {
            guard error.file != nil else { return .violation("an SWAError that names no file: \(error)") }
            return .refused(error.description)
        } catch {
            return .violation("a \(type(of: error)) escaped instead of an SWAError: \(error)")
        }
    }
}
