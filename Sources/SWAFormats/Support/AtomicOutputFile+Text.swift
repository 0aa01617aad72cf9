extension AtomicOutputFile {
    /// Writes `text` (UTF-8) to `path` atomically: CSV and SVG outputs.
    /// - Parameter overwrite: replace an existing file (`--force`); otherwise an existing `path` is an error.
    public static func writeText(_ text: String, to path: String, overwrite: Bool = false) throws {
        let output = try AtomicOutputFile(destination: path, overwrite: overwrite)
        try Array(text.utf8).withUnsafeBytes { try output.write($0) }
        try output.commit()
    }
}
