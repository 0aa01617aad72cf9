import Crypto
import Foundation
import SWAData
import SWAFormats

/// One input of a sharded run and the SHA-256 that identifies it: partials merge only when
/// every input's digest agrees (docs/SCALE.md, "What a partial records").
///
/// Compared by `sha256` alone; `name` (the path as given) is for messages, since shards may
/// see the same file under different paths.
public struct InputDigest: Sendable, Equatable, Codable {
    /// The path as the user gave it, for messages.
    public var name: String
    /// Lowercase hex SHA-256 (`file(at:)`, `DataSet.sha256`).
    public var sha256: String

    public init(name: String, sha256: String) {
        self.name = name
        self.sha256 = sha256
    }

    /// Equal when the digests are: the same bytes under another path are the same input.
    public static func == (lhs: InputDigest, rhs: InputDigest) -> Bool { lhs.sha256 == rhs.sha256 }

    /// The SHA-256 of a checkpoint's bytes on disk: a file's bytes; for a folder (a Hugging
    /// Face checkpoint folder, sharded safetensors), the names and bytes of the regular files
    /// directly inside it, in name order. Reads everything once (the price of refusing a
    /// merge of partials made from different files; docs/SCALE.md states the cost).
    public static func file(at path: String) throws -> InputDigest {
        var hasher = SHA256()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            } catch {
                throw SWAError(file: path, "cannot list the folder: \(error.localizedDescription)")
            }
            for name in names {
                let member = (path as NSString).appendingPathComponent(name)
                var memberIsDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: member, isDirectory: &memberIsDirectory), !memberIsDirectory.boolValue else { continue }
                hasher.update(data: Array(name.utf8) + [0])
                try hasher.update(fileAt: member)
            }
        } else {
            try hasher.update(fileAt: path)
        }
        return InputDigest(name: path, sha256: hasher.finalize().hexString)
    }

    /// The digest of a data set (`DataSet.sha256`: a file's bytes, a CIFAR folder's batch
    /// files, an image folder's listing).
    public static func data(_ dataSet: DataSet) throws -> InputDigest {
        InputDigest(name: dataSet.path, sha256: try dataSet.sha256)
    }
}
