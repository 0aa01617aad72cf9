/// What a file holds, told by its first bytes, never by its name.
///
/// The one place that sniffs files: the checkpoint reader, checkpoint discovery and the data
/// layer all ask `FileFormat.detect`. Zip archives are told apart by their first member's name,
/// so a PyTorch `torch.save` zip is not taken for a NumPy `.npz`.
public enum FileFormat: String, Sendable, Equatable, CaseIterable {
    /// A zstd stream (a frame, or a skippable frame first): a compressed safetensors payload.
    case zstd
    /// A plain safetensors file: an 8-byte little-endian header length, then a JSON object.
    case safetensors
    /// A zip archive whose first member is an `.npy` array (`numpy.savez`).
    case npz
    /// A zip archive written by `torch.save` (PyTorch 1.6 and later): `ARCHIVE/data.pkl` first.
    case pytorchZip
    /// Any other zip archive.
    case zip
    /// A single NumPy `.npy` array.
    case npy
    /// A pickle stream (`\x80` and a protocol byte 2...5), e.g. a legacy `torch.save` file.
    case pickle
    /// A sharded safetensors index (`model.safetensors.index.json`): a JSON object whose first
    /// key is `"metadata"` or `"weight_map"`, as Hugging Face `transformers` writes it.
    case safetensorsIndex
    /// None of the above.
    case unknown

    /// Bytes of the prefix `detect(prefix:fileSize:)` needs at most.
    public static let prefixByteCount = 512

    /// The format of a file whose first bytes are `prefix` (up to `prefixByteCount` of them)
    /// and whose size is `fileSize` bytes.
    public static func detect(prefix: [UInt8], fileSize: Int) -> FileFormat {
        if ZstdMagic.isZstd(prefix: prefix) { return .zstd }
        if prefix.starts(with: zipLocalHeader) { return zipKind(prefix) }
        if prefix.starts(with: zipEmpty) { return .zip }
        if prefix.starts(with: npyMagic) { return .npy }
        // Safetensors before pickle: a header length of 640, 896, ... bytes starts with 0x80 and 2...5.
        if prefix.count >= 9 {
            let length = prefix.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            if length >= 2, length <= UInt64(max(0, fileSize - 8)), prefix[8] == UInt8(ascii: "{") { return .safetensors }
        }
        if prefix.count >= 2, prefix[0] == 0x80, (2...5).contains(prefix[1]) { return .pickle }
        if isSafetensorsIndex(prefix) { return .safetensorsIndex }
        return .unknown
    }

    /// Reads the first bytes of `path` and tells its format.
    /// - Throws: if the file cannot be opened or read (the error names it).
    public static func detect(path: String) throws -> FileFormat {
        let file = try InputFile(path: path)
        return try detect(file)
    }

    /// Tells the format of an open file from its first bytes, without moving its read position.
    public static func detect(_ file: InputFile) throws -> FileFormat {
        let prefix = try file.bytes(at: 0, count: min(prefixByteCount, file.size)) ?? []
        return detect(prefix: prefix, fileSize: file.size)
    }

    /// How errors and reports name the format.
    public var description: String {
        switch self {
        case .zstd: "zstd-compressed safetensors"
        case .safetensors: "safetensors"
        case .npz: "NumPy .npz archive"
        case .pytorchZip: "PyTorch torch.save zip archive"
        case .zip: "zip archive"
        case .npy: "NumPy .npy array"
        case .pickle: "Python pickle"
        case .safetensorsIndex: "sharded safetensors index"
        case .unknown: "unknown format"
        }
    }

    /// Whether the toolkit reads this format as a checkpoint today. A bare pickle is not
    /// counted (it may be any Python object); legacy `torch.save` files are taken by name.
    public var isCheckpoint: Bool { self == .zstd || self == .safetensors || self == .pytorchZip }

    // MARK: - Magic bytes

    /// "PK\3\4" starts a zip's first local file header; "PK\5\6" is an empty zip's end record.
    static let zipLocalHeader: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    static let zipEmpty: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
    /// `\x93NUMPY`, the first six bytes of every `.npy` file.
    public static let npyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Whether `prefix` opens a JSON object whose first key is `"metadata"` or `"weight_map"`
    /// (whitespace allowed between the tokens): the start of a sharded safetensors index.
    private static func isSafetensorsIndex(_ prefix: [UInt8]) -> Bool {
        let text = prefix.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return [#"{"metadata":"#, #"{"weight_map":"#].contains { text.starts(with: Array($0.utf8)) }
    }

    /// Classifies a zip by its first member's name (local header: name length at byte 26, name at 30).
    private static func zipKind(_ prefix: [UInt8]) -> FileFormat {
        guard prefix.count >= 30 else { return .zip }
        let nameLength = Int(prefix[26]) | Int(prefix[27]) << 8
        guard 30 + nameLength <= prefix.count else { return .zip }
        let name = String(decoding: prefix[30..<30 + nameLength], as: UTF8.self)
        if name.hasSuffix(".npy") { return .npz }
        if name == "data.pkl" || name.hasSuffix("/data.pkl") || name.hasSuffix("/.format_version") || name.hasSuffix("/byteorder") {
            return .pytorchZip
        }
        return .zip
    }
}
