/// A failure of the work, explained in one line a user can act on.
///
/// `description` is `"FILE: MESSAGE"`; the message names the tensor where one is to blame,
/// e.g. `ckpt-013.safetensors.zst: tensor 'layer1.0.conv1.weight' has shape [16, 16, 3, 3], expected [32, 16, 3, 3]`.
/// The tools print it after their own name and exit with status 1.
public struct SWAError: Error, CustomStringConvertible, Sendable {
    /// The file at fault, as the user named it, or `nil` when no single file is.
    public var file: String?
    /// What went wrong, without the file name.
    public var message: String

    public init(file: String? = nil, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }
}

/// The text of a C `errno` value, e.g. "No such file or directory".
func errnoDescription(_ code: Int32) -> String {
    String(cString: strerror(code))
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
