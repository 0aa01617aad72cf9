import Foundation
import SWAFormats

/// One split of a CIFAR folder (`CIFARLayout`) served as the arrays `x` (`[N, 3, 32, 32]`
/// uint8) and `y` (`[N]` int64), read file by file in the distributed order.
///
/// The binary form's files are checked when opened: their sizes must be whole records. The
/// labels are read whole when opened (8 bytes per sample); images stream one file at a time.
public final class CIFARArchive: ArrayContainer {
    /// The folder as the user gave it.
    public let path: String
    public let layout: CIFARLayout
    public let split: DataSplit
    public let labelKind: CIFARLabelKind
    /// The files read, in order, and the samples each holds.
    public let files: [(path: String, samples: Int)]
    private let labels: [Int64]
    private let batchReader: any CIFARBatchReader

    public var keys: [String] { ["x", "y"] }

    /// Opens `split` of the CIFAR folder `layout`.
    /// - Throws: naming the file when a batch file is missing, is not a whole number of
    ///   records, or does not parse; `--label coarse` on CIFAR-10.
    public init(path: String, layout: CIFARLayout, split: DataSplit, labelKind: CIFARLabelKind = .fine) throws {
        self.path = path
        self.layout = layout
        self.split = split
        self.labelKind = labelKind
        if labelKind == .coarse && layout.classes == 10 {
            throw SWAError(file: path, "CIFAR-10 has no coarse labels; --label coarse is for CIFAR-100")
        }
        batchReader = switch layout.form {
        case .binary: CIFARBinaryReader(layout: layout, labelKind: labelKind)
        case .python: try CIFARPythonReader.make(layout: layout, labelKind: labelKind)
        }
        var files: [(String, Int)] = []
        var labels: [Int64] = []
        for file in layout.files(for: split) {
            guard FileManager.default.fileExists(atPath: file) else {
                throw SWAError(file: file, "missing: a \(layout.form.rawValue) CIFAR-\(layout.classes) folder holds it (is the download complete?)")
            }
            let fileLabels = try batchReader.labels(of: file)
            files.append((file, fileLabels.count))
            labels += fileLabels
        }
        self.files = files
        self.labels = labels
    }

    public func info(of key: String) throws -> ArrayInfo {
        switch key {
        case "x": ArrayInfo(key: "x", dtype: .u8, shape: [labels.count, 3, 32, 32], source: ArraySource(file: path))
        case "y": ArrayInfo(key: "y", dtype: .i64, shape: [labels.count], source: ArraySource(file: path))
        default: throw missingKeyError(key)
        }
    }

    public func streamElements(of key: String, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        switch key {
        case "x":
            for (file, count) in files {
                let images = try batchReader.images(of: file)
                guard images.count == count * CIFARLayout.imageBytes else {
                    throw SWAError(file: file, "changed while being read: \(images.count / CIFARLayout.imageBytes) images, \(count) labels")
                }
                if case .stop = try images.withUnsafeBytes({ try body($0) }) { return }
            }
        case "y":
            let little = labels.map(\.littleEndian)
            _ = try little.withUnsafeBytes { try body($0) }
        default: throw missingKeyError(key)
        }
    }
}

/// Reads one CIFAR batch file of one form.
protocol CIFARBatchReader {
    /// The file's labels, in record order.
    func labels(of file: String) throws -> [Int64]
    /// The file's images, `count × 3072` bytes channel-first.
    func images(of file: String) throws -> [UInt8]
}

/// The binary form: fixed-size records of label byte(s) and 3072 pixel bytes.
struct CIFARBinaryReader: CIFARBatchReader {
    var layout: CIFARLayout
    var labelKind: CIFARLabelKind

    func labels(of file: String) throws -> [Int64] {
        let bytes = try read(file)
        let offset = layout.classes == 100 && labelKind == .fine ? 1 : 0
        let limit = layout.classes == 100 && labelKind == .coarse ? 20 : layout.classes
        return try stride(from: 0, to: bytes.count, by: layout.recordBytes).map { start in
            let label = bytes[start + offset]
            guard Int(label) < limit else {
                throw SWAError(file: file, "record \(start / layout.recordBytes) has label \(label); CIFAR-\(layout.classes) \(labelKind.rawValue) labels are 0 to \(limit - 1)")
            }
            return Int64(label)
        }
    }

    func images(of file: String) throws -> [UInt8] {
        let bytes = try read(file)
        let labelBytes = layout.recordBytes - CIFARLayout.imageBytes
        var images = [UInt8]()
        images.reserveCapacity(bytes.count / layout.recordBytes * CIFARLayout.imageBytes)
        for start in stride(from: 0, to: bytes.count, by: layout.recordBytes) {
            images += bytes[(start + labelBytes)..<(start + layout.recordBytes)]
        }
        return images
    }

    private func read(_ file: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file), options: .mappedIfSafe))
        } catch {
            throw SWAError(file: file, "cannot read: \(error.localizedDescription)")
        }
        guard !bytes.isEmpty, bytes.count % layout.recordBytes == 0 else {
            throw SWAError(file: file, "holds \(bytes.count) bytes, not a whole number of \(layout.recordBytes)-byte CIFAR-\(layout.classes) records")
        }
        return bytes
    }
}
