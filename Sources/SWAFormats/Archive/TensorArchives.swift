/// Opens checkpoint files as `TensorArchive`s, choosing the reader by content.
public enum TensorArchives {
    /// Opens `path` as a checkpoint, its format told by its first bytes (`FileFormat.detect`),
    /// never by its name, and reads and validates its header.
    ///
    /// zstd streams and plain safetensors files are read by `SafetensorsArchive`. So is a file
    /// of no known format: the safetensors reader's checks then say what is wrong with it (an
    /// absurd header length, a file too short), as docs/FORMAT.md promises. A file positively
    /// recognised as something else (not a PyTorch file) is a one-line error naming it and its format, e.g.
    /// `data.bin: a NumPy .npz archive, not a checkpoint`.
    /// PyTorch `torch.save` files (zip or legacy) are read by `PyTorchArchive`, which presents
    /// their state dict (docs/FORMAT.md, "PyTorch files").
    /// - Parameters:
    ///   - options: which state dict of a PyTorch file and what to strip from its names; either
    ///     set on a safetensors file is an error.
    ///   - onRawBytes: sees every byte read from disk from the first on, through the first data
    ///     stream opened without an observer (the averager hashes inputs this way without
    ///     reading their headers twice).
    /// - Throws: if the file cannot be read, is not a checkpoint, or its header is invalid;
    ///   every error names the file.
    ///
    /// A folder holding one model (`ModelFolder`) and a sharded safetensors index are read by
    /// `ShardedSafetensorsArchive`.
    public static func open(path: String, options: ArchiveOptions = .none,
                            onRawBytes: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> any TensorArchive {
        if ModelFolder.isDirectory(path) {
            try refuse(options, for: path, kind: "a sharded safetensors")
            return try ShardedSafetensorsArchive(path: path, onRawBytes: onRawBytes)
        }
        let format = try FileFormat.detect(path: path)
        switch format {
        case .zstd, .safetensors, .unknown:
            try refuse(options, for: path, kind: format == .zstd ? "a zstd-compressed safetensors" : "a safetensors")
            return try SafetensorsArchive(path: path, onRawBytes: onRawBytes)
        case .safetensorsIndex:
            try refuse(options, for: path, kind: "a sharded safetensors")
            return try ShardedSafetensorsArchive(path: path, onRawBytes: onRawBytes)
        case .pytorchZip, .pickle:
            return try PyTorchArchive(path: path, format: format, options: options, onRawBytes: onRawBytes)
        case .npz, .npy, .zip:
            throw SWAError(file: path, notACheckpoint(format))
        }
    }

    /// `--key` and `--strip-prefix` apply to PyTorch files only: an error for a checkpoint of `kind`.
    static func refuse(_ options: ArchiveOptions, for path: String, kind: String) throws {
        if let key = options.key {
            throw SWAError(file: path, "--key '\(key)' selects an object inside a PyTorch file; this is \(kind) checkpoint")
        }
        if let prefix = options.stripPrefix {
            throw SWAError(file: path, "--strip-prefix '\(prefix)' applies to PyTorch files; this is \(kind) checkpoint")
        }
    }

    /// Why a file of `format` is not read as a checkpoint, as a phrase for messages (without
    /// the file name), e.g. "a NumPy .npz archive, not a checkpoint".
    ///
    /// For `.unknown`, and for the checkpoint formats themselves (asked about when sniffing
    /// found nothing to read), the phrase is "not a checkpoint (neither zstd nor safetensors)".
    public static func notACheckpoint(_ format: FileFormat) -> String {
        switch format {
        case .zstd, .safetensors, .unknown, .safetensorsIndex:
            "not a checkpoint (neither zstd nor safetensors)"
        case .npz, .npy, .zip, .pytorchZip, .pickle:
            "a \(format.description), not a checkpoint"
        }
    }
}
