import SWAKit
/// The toolkit's version, printed by every tool's `--version`.
public let swaVersion = "0.1.0"
