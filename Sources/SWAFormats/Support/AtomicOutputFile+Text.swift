extension AtomicOutputFile {
    /// Writes `text` (UTF-8) to `path` atomically, replacing an existing file: CSV and SVG outputs.
    public static func writeText(_ text: String, to path: String) throws {
        let output = try AtomicOutputFile(destination: path, overwrite: true)
        try Array(text.utf8).withUnsafeBytes { try output.write($0) }
        try output.commit()
    }
}
