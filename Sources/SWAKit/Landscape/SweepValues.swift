import SWAFormats

/// The positions a landscape sweep visits: `--steps` on a line, `--distances` along a direction.
///
/// Written `A:B:N` (N evenly spaced values from A to B, both included, as `numpy.linspace`)
/// or as a list `T,T,...` (in the order given). Values are plain numbers, without units: a
/// fraction of the way from A to B for `line`, a distance in weight space for `width`.
public struct SweepValues: Sendable, Equatable {
    /// The values in the order they are visited; at least one, all finite.
    public let values: [Double]

    /// Values given directly.
    /// - Throws: for an empty list or a value that is not finite.
    public init(_ values: [Double], flag: String = "--steps") throws {
        guard !values.isEmpty else { throw SWAError("\(flag) is empty: give A:B:N or a list T,T,...") }
        if let bad = values.first(where: { !$0.isFinite }) {
            throw SWAError("\(flag) holds \(bad), which is not a finite number")
        }
        self.values = values
    }

    /// Parses `A:B:N` or `T,T,...`.
    /// - Parameter flag: the flag's name, for the message (`--steps`, `--distances`); nil when
    ///   the caller names the flag and the text itself (the argument parser does).
    /// - Throws: one line naming the flag and the text: an empty text, a part that is not a
    ///   number, N below 1, N = 1 with A ≠ B, or a range and a list mixed.
    public static func parse(_ text: String, flag: String? = "--steps") throws -> SweepValues {
        let trimmed = text.trimmingWhitespace()
        // "--steps '0:1' is not a range ..." or, without a flag, "'0:1' is not a range ...".
        let subject = flag.map { "\($0) '\(text)'" } ?? "'\(text)'"
        guard !trimmed.isEmpty else { throw SWAError("\(flag ?? "the value") is empty: give A:B:N or a list T,T,...") }
        if trimmed.contains(":") {
            let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
            guard parts.count == 3, let start = Double(parts[0]), let end = Double(parts[1]), let count = Int(parts[2]) else {
                throw SWAError("\(subject) is not a range A:B:N (start, end, number of points; e.g. -0.5:1.5:21)")
            }
            guard count >= 1 else { throw SWAError("\(subject) asks for \(count) points; N must be at least 1") }
            guard count <= 1_000_000 else { throw SWAError("\(subject) asks for \(count) points; at most 1,000,000") }
            if count == 1 && start != end {
                throw SWAError("\(subject) asks for 1 point between two different values; give N ≥ 2, or A:A:1")
            }
            return try SweepValues(linspace(start, end, count), flag: flag ?? "the value")
        }
        let items = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        var values: [Double] = []
        for item in items {
            guard let value = Double(item) else {
                throw SWAError("\(subject): '\(item)' is not a number (give A:B:N or a list T,T,...)")
            }
            values.append(value)
        }
        return try SweepValues(values, flag: flag ?? "the value")
    }

    /// `count` values from `start` to `end`, both exact: value i is start + i·(end − start)/(count − 1)
    /// in Double, the last one `end` itself (as `numpy.linspace`).
    static func linspace(_ start: Double, _ end: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return [start] }
        let step = (end - start) / Double(count - 1)
        return (0 ..< count).map { $0 == count - 1 ? end : start + Double($0) * step }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
