/// What `swa-inspect --verify` checked of one checkpoint, when it found nothing wrong.
///
/// Verification decodes everything and checks, failing at the first fault with one line that
/// names the file and, where one is hit, the first tensor (docs/RELIABILITY.md, "Integrity
/// checks"):
/// - zstd files: every frame decodes and its XXH64 content checksum matches; the file ends
///   between frames; the seek table, when the file ends with one (or its skippable frame is
///   there), lists exactly the data frames, in order, with their compressed and decompressed
///   sizes, and its reserved descriptor bits are zero;
/// - every format: the safetensors layout of the (virtual) payload: header length, JSON,
///   dtypes, shapes × dtype size = byte ranges, contiguous from 0 with no hole or overlap,
///   the data section covered exactly;
/// - sharded safetensors: each shard as above, and the index against the shards;
/// - PyTorch files: the pickle, every storage long enough for its tensors; in the zip format,
///   every member against the CRC-32 the zip directory records (the legacy format has none).
///
/// NaN and infinite values are counted, not faults: they are what the file holds.
public struct CheckpointVerification: Codable, Sendable {
    /// One file that was checked: the checkpoint itself, or a shard of it.
    public struct File: Codable, Sendable {
        /// The path as the user gave it (a shard: its folder joined to its name).
        public var path: String
        /// `FileFormat.rawValue` of the file: "zstd", "safetensors", ...
        public var container: String
        /// Size on disk, in bytes.
        public var fileBytes: Int
        /// zstd data frames decoded, each through its checksum when it has one; 0 for plain files.
        public var frames: Int
        /// Of these, the frames without a content checksum (valid zstd, but unverifiable).
        public var framesWithoutChecksum: Int
        /// Skippable frames (the seek table among them).
        public var skippableFrames: Int
        /// Frames listed in the seek table, which matched them; `nil` without a seek table.
        public var seekTableFrames: Int?
        /// Members of a PyTorch zip file whose CRC-32 matched; `nil` for other formats.
        public var zipMembers: Int? = nil
    }

    /// The path as the user gave it.
    public var path: String
    /// `FileFormat.rawValue` of the checkpoint.
    public var container: String
    /// The files checked: the checkpoint, or each shard of a sharded one.
    public var files: [File]
    /// Tensors whose layout was checked and whose bytes were all decoded.
    public var tensors: Int
    /// Bytes of tensor data decoded.
    public var dataBytes: Int
    /// Tensors holding NaN or an infinity (reported, not a fault).
    public var nonFiniteTensors: Int
    /// The first of them, if any.
    public var firstNonFiniteTensor: String?

    /// Decodes and checks all of `path` (any checkpoint format); throws an `SWAError` naming
    /// the file, and the first tensor at fault where one is, at the first fault.
    /// - Parameter options: how to read a PyTorch file (`--key`, `--strip-prefix`).
    public static func verify(path: String, options: ArchiveOptions = .none) throws -> CheckpointVerification {
        // A safetensors file, plain or zstd, is checked by its own reader from the first byte,
        // so that a damaged first frame is reported as a frame, not only as a bad stream.
        if !ModelFolder.isDirectory(path) {
            let format = try FileFormat.detect(path: path)
            if [.zstd, .safetensors, .unknown].contains(format) {
                try TensorArchives.refuse(options, for: path, kind: format == .zstd ? "a zstd-compressed safetensors" : "a safetensors")
                let (file, nonFinite, header) = try verifyFile(path: path)
                return CheckpointVerification(
                    path: path, container: file.container, files: [file], tensors: header.tensors.count, dataBytes: header.dataByteCount,
                    nonFiniteTensors: nonFinite.count, firstNonFiniteTensor: nonFinite.first)
            }
        }
        let archive = try TensorArchives.open(path: path, options: options)
        var files: [File] = []
        var nonFinite: [String] = []
        if let sharded = archive as? ShardedSafetensorsArchive {
            // Each shard through its own frames and layout; the index was checked at opening.
            for shard in sharded.shards {
                let (file, shardNonFinite, _) = try verifyFile(path: shard.path)
                files.append(file)
                nonFinite += shardNonFinite
            }
            // Then the virtual payload once more, through the reader every command uses.
            try archive.openDataStream().finish()
        } else {
            var zipMembers: Int?
            if let pytorch = archive as? PyTorchArchive, pytorch.format == .pytorchZip {
                zipMembers = try verifyZipMembers(of: pytorch)
            }
            let stream = try archive.openDataStream()
            var current: TensorInfo?
            do {
                let values = try stream.countNonFiniteValues(in: archive.header.tensors) { current = $0 }
                try stream.finish()
                nonFinite = zip(archive.header.tensors, values).compactMap { $1 == nil ? nil : $0.name }
            } catch let error as SWAError {
                throw blame(error, on: current)
            }
            files.append(File(path: path, container: archive.format.rawValue, fileBytes: archive.fileByteCount,
                              frames: 0, framesWithoutChecksum: 0, skippableFrames: 0, seekTableFrames: nil, zipMembers: zipMembers))
        }
        return CheckpointVerification(
            path: path, container: archive.format.rawValue, files: files, tensors: archive.header.tensors.count,
            dataBytes: archive.header.dataByteCount, nonFiniteTensors: nonFinite.count, firstNonFiniteTensor: nonFinite.first)
    }

    /// Checks one safetensors file, plain or zstd; returns what was checked, the names of the
    /// tensors holding NaN or Inf, and the header.
    static func verifyFile(path: String) throws -> (File, [String], SafetensorsHeader) {
        let file = try InputFile(path: path)
        let prefix = try file.bytes(at: 0, count: min(8, file.size)) ?? []
        guard ZstdMagic.isZstd(prefix: prefix) else {
            let reader = try CheckpointReader(file: file, format: .safetensors, source: PlainPayloadSource(file: file, alreadyRead: []))
            let names = try readAll(reader)
            return (File(path: path, container: FileFormat.safetensors.rawValue, fileBytes: file.size,
                         frames: 0, framesWithoutChecksum: 0, skippableFrames: 0, seekTableFrames: nil), names, reader.header)
        }
        let source = try FrameRecordingZstdSource(file: file)
        let reader: CheckpointReader
        let names: [String]
        do {
            reader = try CheckpointReader(file: file, format: .zstd, source: source)
            names = try readAll(reader)
        } catch let fault as FrameFault {
            throw frameError(fault, file: path, frames: source.frames, header: nil)
        } catch let failure as TensorFailure {
            guard let fault = failure.underlying as? FrameFault else { throw failure.underlying }
            throw frameError(fault, file: path, frames: source.frames, header: failure.header)
        }
        let frames = source.frames
        let seekTable = try SeekTableCheck.verify(file: file, frames: frames)
        return (File(path: path, container: FileFormat.zstd.rawValue, fileBytes: file.size,
                     frames: frames.count { !$0.isSkippable }, framesWithoutChecksum: frames.count { !$0.isSkippable && !$0.hasChecksum },
                     skippableFrames: frames.count(where: \.isSkippable), seekTableFrames: seekTable?.entries.count), names, reader.header)
    }

    /// An error while reading the data, with the tensor it happened in.
    private struct TensorFailure: Error {
        var underlying: any Error
        var header: SafetensorsHeader
    }

    /// Reads `reader` through tensor by tensor; returns the names of tensors holding NaN or Inf.
    private static func readAll(_ reader: CheckpointReader) throws -> [String] {
        var current: TensorInfo?
        do {
            let values = try reader.countNonFiniteValues(in: reader.header.tensors) { current = $0 }
            try reader.finish()
            return zip(reader.header.tensors, values).compactMap { $1 == nil ? nil : $0.name }
        } catch let error as SWAError {
            throw blame(error, on: current)
        } catch {
            throw TensorFailure(underlying: error, header: reader.header)
        }
    }

    /// `error`, naming `tensor` if its message does not already name one.
    private static func blame(_ error: SWAError, on tensor: TensorInfo?) -> SWAError {
        guard let tensor, !error.message.contains("tensor '") else { return error }
        return SWAError(file: error.file, "tensor '\(tensor.name)': \(error.message)")
    }

    /// The one line for a frame libzstd refused: which frame, where, why, and the first tensor
    /// whose bytes it holds (or the header, when it comes before the data).
    private static func frameError(_ fault: FrameFault, file: String, frames: [ZstdFrameRecord], header: SafetensorsHeader?) -> SWAError {
        var place = "zstd frame \(fault.frame + 1) (at byte \(fault.start.file) of the file)"
        if let header {
            let dataStart = 8 + header.jsonByteCount
            if fault.start.payload < dataStart {
                place += ", which holds the safetensors header"
            } else if let tensor = header.tensors.first(where: { $0.dataOffsets.upperBound > fault.start.payload - dataStart && $0.byteCount > 0 }) {
                place += ", first tensor in it '\(tensor.name)'"
            }
        } else {
            place += ", which holds the safetensors header"
        }
        return SWAError(file: file, "\(place): \(fault.reason)")
    }
}
