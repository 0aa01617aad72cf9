/// Parses a size such as `5GB`, `500MB`, `2GiB` or `1048576` into bytes, as `transformers`'
/// `max_shard_size` reads it: KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB powers of
/// 1024, a bare number or `B` is bytes; case and a space before the unit do not matter.
/// - Returns: `nil` for anything else, or a size that does not fit in `Int`.
public func parseByteSize(_ text: String) -> Int? {
    let trimmed = text.trimmingWhitespace().lowercased()
    let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
    let unit = trimmed.dropFirst(digits.count).trimmingWhitespace()
    guard !digits.isEmpty, let number = Double(digits), number >= 0 else { return nil }
    let scales: [String: Double] = [
        "": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
    ]
    guard let scale = scales[unit] else { return nil }
    let bytes = (number * scale).rounded()
    guard bytes < 9e18 else { return nil }
    return Int(bytes)
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// A byte count for reading, with one decimal past the unit: `84.2 KB`, `1.5 GB` in decimal
/// units (powers of 1000, as `ls -h --si` prints them), or `1.5 MiB`, `3.0 GiB` with `binary`
/// (powers of 1024, as `parseByteSize` reads them); below one unit, `512 B`.
public func formatByteSize(_ bytes: Int, binary: Bool = false) -> String {
    let units = binary ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["B", "KB", "MB", "GB", "TB"]
    let base = binary ? 1024.0 : 1000.0
    var value = Double(bytes)
    var unit = 0
    while value >= base, unit < units.count - 1 {
        value /= base
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
