import Foundation
@testable import SWAFormats

/// The bad-input matrix of issue 15 (docs/RELIABILITY.md, "Bad-input matrix"): corrupt
/// variants of every structure the tools read, each generated from a good fixture into a
/// temporary folder, and the command lines that read them with what each must do.
///
/// The generators live in `BadInputMatrix+*.swift`, one per family of structures; the runner
/// is `BadInputMatrixTests`.
struct BadInputMatrix {
    /// What one command must do with one input.
    enum Expectation: Equatable {
        /// Exit 1, one line on stderr naming the file, nothing left in the output folder.
        case refused
        /// Exit 0 (a valid input: the control run of each structure; swa-inspect on NaN weights).
        /// `stdout` must hold `mentioning`, when given.
        case succeeds(mentioning: String?)
        /// Either refused as above, or exit 0: for damage no reader can see (inside a skippable
        /// frame), whose tensors the case checks separately to be unchanged.
        case refusedOrUnchanged
    }

    /// One command line over a case's files.
    struct Run {
        /// `swa-avg`, `swa-inspect`, ...
        var tool: String
        /// How the counts name it: `swa-inspect --verify` apart from `swa-inspect`.
        var label: String
        /// Arguments; `{OUT}` stands for a fresh, empty output folder of this run.
        var arguments: [String]
        var expectation: Expectation
    }

    /// One corrupt input (or a good control) and every command that reads its structure.
    struct Case {
        /// The structure, e.g. "zstd checkpoint", "CIFAR binary".
        var structure: String
        /// The damage, e.g. "bit flip in frame 3 of 6".
        var damage: String
        /// Paths an error may name (the file damaged; for folders, the folder or the file in it).
        var culprits: [String]
        var runs: [Run]
        /// For damage that may go unseen: the file whose tensors must equal `sameTensorsAs`'s when read.
        var unchangedCheck: (damaged: String, original: String)?
        /// Whether `make test` runs it (every structure keeps a representative few).
        var inQuickSubset: Bool
        /// The tensor every refusal must name, where one is to blame.
        var tensor: String?

        init(_ structure: String, _ damage: String, culprits: [String], runs: [Run],
             unchangedCheck: (String, String)? = nil, quick: Bool = false) {
            self.structure = structure
            self.damage = damage
            self.culprits = culprits
            self.runs = runs
            self.unchangedCheck = unchangedCheck.map { (damaged: $0.0, original: $0.1) }
            self.inQuickSubset = quick
        }
    }

    /// The folder the cases' files are generated in.
    let folder: String
    /// The good inputs the variants are made from.
    let base: BaseInputs

    init(folder: String) throws {
        self.folder = folder
        base = try BaseInputs(folder: folder + "/base")
    }

    /// Every case, generated now. Each generator writes its files under `folder`.
    func cases() throws -> [Case] {
        try checkpointCases() + safetensorsLayoutCases() + nonFiniteCases() + combinationCases()
            + pytorchCases() + shardedCases() + dataCases() + folderDataCases() + partialResultCases() + graphCases()
    }

    /// A new subfolder of the matrix folder for one case's files.
    func caseFolder(_ name: String) throws -> String {
        let path = folder + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

// MARK: - The good inputs

/// The good files every variant starts from: the fixture run's epoch-10 checkpoint written as
/// a multi-frame zstd file and as plain safetensors, its graph, and the paths of the fixtures.
struct BaseInputs {
    /// Frames of 16 KiB of payload, so that the 95 KB checkpoint has several (6) to damage.
    static let frameByteCount = 16 << 10

    let header: SafetensorsHeader
    let tensors: [String: [UInt8]]
    /// The plain safetensors payload: length, JSON, data.
    let payload: [UInt8]
    /// `ckpt-010` as a zstd checkpoint of several frames with a seek table.
    let zstd: String
    /// `ckpt-010` as plain safetensors.
    let plain: String
    /// `ckpt-011` as it is: a second input of the same model.
    let other = TestSupport.checkpoints + "/ckpt-011.safetensors.zst"
    /// The model graph, from `swa.graph`.
    let graph: String
    let train = TestSupport.fixtures + "/data/train.npz"
    let test = TestSupport.fixtures + "/data/test.npz"

    init(folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let loaded = try LoadedCheckpoint(path: TestSupport.checkpoints + "/ckpt-010.safetensors.zst")
        header = SafetensorsHeader(laying: loaded.header.tensors.map { TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape) },
                                   metadata: loaded.header.metadata)
        tensors = loaded.tensors
        payload = header.encodedPrefix() + header.tensors.flatMap { loaded.tensors[$0.name]! }
        plain = try TestSupport.write(payload, to: folder, name: "ckpt-010.safetensors")
        zstd = folder + "/ckpt-010.safetensors.zst"
        let writer = try CheckpointWriter(destination: zstd, tensors: header.tensors.map { TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape) },
                                          overwrite: false, frameByteCount: Self.frameByteCount)
        for tensor in header.tensors {
            try loaded.tensors[tensor.name]!.withUnsafeBytes { try writer.writeData($0) }
        }
        try writer.finish(metadata: header.metadata)
        graph = folder + "/graph.json"
        try header.metadata["swa.graph"]!.write(toFile: graph, atomically: true, encoding: .utf8)
    }

    /// The zstd file's frames, from its seek table: (file offset, compressed bytes) each.
    func zstdFrames() throws -> [(offset: Int, size: Int)] {
        guard let table = try SeekTable.read(from: InputFile(path: zstd)) else { throw SWAError(file: zstd, "no seek table") }
        var offset = 0
        return table.entries.map { entry in
            defer { offset += entry.compressedByteCount }
            return (offset, entry.compressedByteCount)
        }
    }

    /// `payload` compressed as one checksummed zstd frame (no seek table): a valid zstd stream
    /// whatever the payload holds.
    static func compressed(_ payload: [UInt8]) throws -> [UInt8] {
        let encoder = try ZstdFrameEncoder(level: 1)
        var frame: [UInt8] = []
        try payload.withUnsafeBytes { bytes in try encoder.compressFrame(bytes) { frame.append(contentsOf: $0) } }
        return frame
    }
}

// MARK: - Byte surgery

extension BadInputMatrix {
    /// `bytes` with bit `bit` of byte `offset` flipped.
    static func flipping(_ bytes: [UInt8], at offset: Int, bit: Int = 0) -> [UInt8] {
        var copy = bytes
        copy[offset] ^= UInt8(1 << bit)
        return copy
    }

    /// Writes `bytes` as `name` in the case folder `caseName`; returns the path.
    func write(_ bytes: [UInt8], case caseName: String, name: String) throws -> String {
        try TestSupport.write(bytes, to: try caseFolder(caseName), name: name)
    }

    /// A plain safetensors payload whose header is `json` (padded to 8 bytes), with `data`.
    static func payload(json: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        var text = Array(json.utf8)
        text += repeatElement(UInt8(ascii: " "), count: (8 - text.count % 8) % 8)
        return TestSupport.safetensors(json: text, data: data, declaredLength: declaredLength)
    }
}
