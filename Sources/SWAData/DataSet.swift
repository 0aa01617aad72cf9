import SWAFormats
import Crypto
import Foundation

/// A data file opened for streaming: inputs `x`, optional integer labels `y`, and how to
/// turn raw values into model inputs.
///
/// The file is an `.npz` archive (`numpy.savez` or `savez_compressed`) or a checkpoint-format
/// file (docs/FORMAT.md), told apart by magic bytes. `x` is N×C×H×W, N×H×W×C or N×F, float32,
/// float64 or uint8; `y` is N integers. Opening reads only the arrays' headers; batches then
/// stream `x` in pieces, so memory is bounded by a batch plus the labels (8 bytes per sample).
public final class DataSet {
    /// The path as the user gave it.
    public let path: String
    /// The array read as inputs, as stored (before layout conversion).
    public let inputs: ArrayInfo
    /// The array read as labels, if the file has one under the labels key.
    public let labelInfo: ArrayInfo?
    /// The layout of `x` in the file.
    public let layout: DataLayout
    /// Normalisation applied to every sample, or `nil` for scaling only.
    public let preprocessing: Preprocessing?
    /// Random crop and flip applied to every sample before normalisation, or `nil`.
    public let augmentation: Augmentation?
    /// Seeds the augmentation's random crops and flips.
    public let seed: UInt64

    /// Samples read: the file's N, or `limit` if smaller.
    public let sampleCount: Int
    /// One sample after layout conversion: `[C, H, W]` for images, `[F]` for features.
    public let sampleShape: [Int]
    /// Whether the file holds labels under the labels key.
    public var hasLabels: Bool { labelInfo != nil }
    /// Images of an image folder left out because they do not decode (`--skip-bad`).
    public var skippedFiles: [String] { (container as? ImageFolderArchive)?.skipped ?? [] }

    let container: any ArrayContainer
    private let labelsKey: String

    /// Opens `path` and checks its arrays against each other and against the preprocessing.
    ///
    /// - Parameters:
    ///   - xKey: name of the inputs array (`--x-key`).
    ///   - yKey: name of the labels array (`--y-key`); a file without it has no labels.
    ///   - layout: layout of `x`; `nil` takes the preprocessing's, else NCHW for 4-D `x` and NF for 2-D.
    ///   - preprocessing: normalisation; `nil` only scales (uint8 by 1/255).
    ///   - augmentation: random crop and flip for image data, drawn from `seed`.
    ///   - limit: read only the first `limit` samples.
    /// - Throws: one line naming the file (and array) for a missing `x`, an unsupported dtype
    ///   or rank, sample counts of `x` and `y` that differ, non-integer labels, `mean`/`std`
    ///   lengths that do not match the channels, a truncated member or a corrupt file.
    ///   - folder: how to read a data folder (CIFAR split and labels, image transforms); ignored for files.
    public init(path: String, xKey: String = "x", yKey: String = "y", layout: DataLayout? = nil,
                preprocessing: Preprocessing?, augmentation: Augmentation? = nil, seed: UInt64 = 0, limit: Int? = nil,
                folder: DataFolderOptions = DataFolderOptions()) throws {
        self.path = path
        container = try Self.open(path, folder: folder, seed: seed)
        guard container.keys.contains(xKey) else { throw container.missingKeyError(xKey, xKey: xKey, yKey: yKey) }
        let x = try container.info(of: xKey)
        inputs = x
        labelsKey = yKey
        labelInfo = try container.keys.contains(yKey) ? container.info(of: yKey) : nil
        self.preprocessing = preprocessing
        self.augmentation = augmentation
        self.seed = seed

        guard [.f32, .f64, .u8].contains(x.dtype) else {
            throw x.source.error("inputs of dtype \(x.dtype.arrayTypeName) are not supported (float32, float64 or uint8)")
        }
        let givenLayout = layout ?? preprocessing?.layout
        guard givenLayout != nil || x.shape.count == 2 || x.shape.count == 4 else {
            throw x.source.error("inputs have shape \(x.shapeDescription) (\(x.shape.count) dimensions); expected N×C×H×W or N×H×W×C (4) or N×F (2)")
        }
        let resolvedLayout = givenLayout ?? (x.shape.count == 2 ? .nf : .nchw)
        self.layout = resolvedLayout
        sampleShape = try Self.sampleShape(of: x, layout: resolvedLayout)
        let fileSampleCount = x.shape[0]
        guard fileSampleCount > 0 else { throw x.source.error("\(x.key) holds no samples (shape \(x.shapeDescription))") }

        if let y = labelInfo {
            guard y.shape.count == 1 else {
                throw y.source.error("labels have shape \(y.shapeDescription); expected one label per sample (1-D)")
            }
            guard y.dtype.isInteger else {
                throw y.source.error("labels are not integers (dtype \(y.dtype.arrayTypeName))")
            }
            guard y.shape[0] == fileSampleCount else {
                throw SWAError(file: path, "\(x.key) has \(fileSampleCount) samples but \(y.key) has \(y.shape[0]) labels")
            }
        }
        if let preprocessing {
            try Self.checkChannels(preprocessing, x: x, layout: resolvedLayout, path: path)
        }
        if let augmentation, !augmentation.isIdentity, resolvedLayout == .nf {
            throw SWAError(file: path, "random crop and flip need images, but x is N×F (layout nf, shape \(x.shapeDescription))")
        }
        if let limit {
            guard limit >= 1 else { throw SWAError(file: path, "limit must be at least 1 sample, got \(limit)") }
        }
        sampleCount = min(fileSampleCount, limit ?? fileSampleCount)
    }

    /// The SHA-256 of the data file's bytes, in lowercase hex (for reports; reads the whole file).
    /// For a CIFAR folder, of its batch files' bytes in reading order; for an image folder, of
    /// its listing (`ImageFolderArchive.listingDigestInput`), since hashing every image would
    /// cost as much as a pass.
    public var sha256: String {
        get throws {
            var hasher = SHA256()
            if let folder = container as? ImageFolderArchive {
                hasher.update(data: folder.listingDigestInput)
                return hasher.finalize().hexString
            }
            let files = (container as? CIFARArchive)?.files.map(\.path) ?? [path]
            for path in files { try hasher.update(fileAt: path) }
            return hasher.finalize().hexString
        }
    }

    /// `; pass --x-key A --y-key B` when the file's arrays look like inputs and labels under
    /// other names (for messages about a missing array); empty otherwise.
    public var keySuggestion: String { container.keySuggestion(xKey: inputs.key, yKey: labelsKey) }

    /// The labels of the `sampleCount` samples as `Int64`, read whole (8 bytes per sample).
    /// - Throws: if the file has no labels (naming the arrays it has) or they cannot be read.
    public func labels() throws -> [Int64] {
        guard let y = labelInfo else { throw container.missingKeyError(labelsKey, xKey: inputs.key, yKey: labelsKey) }
        var labels: [Int64] = []
        labels.reserveCapacity(sampleCount)
        var pending: [UInt8] = []
        let itemSize = y.dtype.byteSize
        try container.streamElements(of: y.key) { chunk in
            pending.append(contentsOf: chunk)
            let whole = min(pending.count / itemSize, sampleCount - labels.count)
            pending.withUnsafeBytes { bytes in
                for index in 0..<whole { labels.append(Self.integer(bytes, index, y.dtype)) }
            }
            pending.removeFirst(whole * itemSize)
            return labels.count == sampleCount && sampleCount < y.shape[0] ? .stop : .more
        }
        guard labels.count == sampleCount else {
            throw y.source.error("truncated: \(labels.count) labels read, \(sampleCount) expected")
        }
        return labels
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer, _ index: Int, _ dtype: DType) -> Int64 {
        switch dtype {
        case .i64: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: Int64.self))
        case .i32: Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)))
        case .i16: Int64(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 2, as: Int16.self)))
        case .i8: Int64(Int8(bitPattern: bytes[index]))
        default: Int64(bytes[index])
        }
    }
}

// MARK: - Opening and checking

extension DataSet {
    /// The container for the file's format (`FileFormat.detect`): an `.npz` archive or a
    /// checkpoint-format file; for a folder, a CIFAR folder (`CIFARLayout`) or else an image folder.
    static func open(_ path: String, folder: DataFolderOptions = DataFolderOptions(), seed: UInt64 = 0) throws -> any ArrayContainer {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            if let layout = CIFARLayout.recognise(path) {
                return try CIFARArchive(path: path, layout: layout, split: folder.split, labelKind: folder.labelKind)
            }
            return try ImageFolderArchive(path: path, pipeline: folder.imagePipeline, seed: seed, skipBad: folder.skipBad)
        }
        let format = try FileFormat.detect(path: path)
        switch format {
        case .npz, .zip:
            return try NpzArchive(path: path)
        case .npy:
            throw SWAError(file: path, "a single .npy array; data must be an .npz archive holding x and y (numpy.savez) or a checkpoint-format file")
        case .zstd, .safetensors:
            return try CheckpointArrays(path: path)
        case .pytorchZip, .pickle, .safetensorsIndex:
            throw SWAError(file: path, "a \(format.description), not a data file; data must be an .npz archive holding x and y (numpy.savez) or a checkpoint-format file")
        case .unknown:
            return try CheckpointArrays(path: path)
        }
    }

    /// The per-sample shape in NCHW (or NF) order, after checking the rank against `layout`.
    static func sampleShape(of x: ArrayInfo, layout: DataLayout) throws -> [Int] {
        guard x.shape.count == layout.rank else {
            let expected = switch layout {
            case .nchw: "4 (N×C×H×W)"
            case .nhwc: "4 (N×H×W×C)"
            case .nf: "2 (N×F)"
            }
            throw x.source.error("inputs have shape \(x.shapeDescription) (\(x.shape.count) dimensions); layout \(layout.rawValue) needs \(expected)")
        }
        let sample = switch layout {
        case .nchw: Array(x.shape[1...])
        case .nhwc: [x.shape[3], x.shape[1], x.shape[2]]
        case .nf: [x.shape[1]]
        }
        guard !sample.contains(0) else {
            throw x.source.error("inputs have shape \(x.shapeDescription): a sample holds no values")
        }
        return sample
    }

    /// `mean` and `std` must hold one value, or one per channel of `x` in `layout`.
    static func checkChannels(_ preprocessing: Preprocessing, x: ArrayInfo, layout: DataLayout, path: String) throws {
        let channels = layout == .nhwc ? x.shape[3] : x.shape[1]
        for (name, values) in [("mean", preprocessing.mean), ("std", preprocessing.std)] where values.count != 1 && values.count != channels {
            let unit = layout == .nf ? "features" : "channels"
            var message = "preprocessing has \(values.count) \(name) values, but x has \(channels) \(unit)"
                + " (layout \(layout.rawValue), shape \(x.shapeDescription))"
            // The usual cause: images stored the other way round.
            if layout == .nchw && x.shape.count == 4 && x.shape[3] == values.count {
                message += "; is x N×H×W×C? then use layout nhwc"
            } else if layout == .nhwc && x.shape.count == 4 && x.shape[1] == values.count {
                message += "; is x N×C×H×W? then use layout nchw"
            }
            throw SWAError(file: path, message)
        }
    }
}
