import Foundation
import SWAFormats

/// Which split of a data set to read (`--split`).
public enum DataSplit: String, Sendable, CaseIterable {
    case train, test
}

/// Which labels of CIFAR-100 to read (`--label`): the 100 fine classes or the 20 superclasses.
public enum CIFARLabelKind: String, Sendable, CaseIterable {
    case fine, coarse
}

/// A CIFAR-10 or CIFAR-100 folder as distributed (and as torchvision downloads it), recognised
/// by the files it holds, never by its name.
///
/// | form | folder | train files | test file | record |
/// |---|---|---|---|---|
/// | CIFAR-10 python | `cifar-10-batches-py` | `data_batch_1` ... `data_batch_5` | `test_batch` | pickled dict |
/// | CIFAR-10 binary | `cifar-10-batches-bin` | `data_batch_1.bin` ... `data_batch_5.bin` | `test_batch.bin` | label, 3072 pixels |
/// | CIFAR-100 python | `cifar-100-python` | `train` | `test` | pickled dict |
/// | CIFAR-100 binary | `cifar-100-binary` | `train.bin` | `test.bin` | coarse, fine, 3072 pixels |
///
/// Pixels are 32×32 RGB, channel-first (1024 red, then green, then blue), uint8.
public struct CIFARLayout: Sendable, Equatable {
    public enum Form: String, Sendable { case python, binary }

    /// 10 or 100.
    public var classes: Int
    public var form: Form
    /// The folder holding the batch files.
    public var folder: String

    /// Bytes of one image.
    public static let imageBytes = 3 * 32 * 32

    /// Recognises `folder` as a CIFAR folder, or a folder holding exactly one (torchvision's
    /// download root, e.g. `~/data` with `cifar-10-batches-py/` inside); nil if it is neither.
    public static func recognise(_ folder: String) -> CIFARLayout? {
        if let layout = recogniseDirectly(folder) { return layout }
        let inner = (try? FileManager.default.contentsOfDirectory(atPath: folder))?.sorted().compactMap { name in
            recogniseDirectly(join(folder, name))
        } ?? []
        return inner.count == 1 ? inner[0] : nil
    }

    private static func recogniseDirectly(_ folder: String) -> CIFARLayout? {
        func has(_ names: String...) -> Bool { names.allSatisfy { FileManager.default.fileExists(atPath: join(folder, $0)) } }
        if has("data_batch_1.bin") || has("test_batch.bin") { return CIFARLayout(classes: 10, form: .binary, folder: folder) }
        if has("train.bin") || (has("test.bin") && has("fine_label_names.txt")) { return CIFARLayout(classes: 100, form: .binary, folder: folder) }
        if has("data_batch_1") || (has("test_batch") && has("batches.meta")) { return CIFARLayout(classes: 10, form: .python, folder: folder) }
        if has("meta") && (has("train") || has("test")) { return CIFARLayout(classes: 100, form: .python, folder: folder) }
        return nil
    }

    /// The files of `split`, in reading order (training batches 1 to 5).
    public func files(for split: DataSplit) -> [String] {
        let names: [String] = switch (classes, form, split) {
        case (10, .binary, .train): (1...5).map { "data_batch_\($0).bin" }
        case (10, .binary, .test): ["test_batch.bin"]
        case (10, .python, .train): (1...5).map { "data_batch_\($0)" }
        case (10, .python, .test): ["test_batch"]
        case (_, .binary, .train): ["train.bin"]
        case (_, .binary, .test): ["test.bin"]
        case (_, .python, .train): ["train"]
        default: ["test"]
        }
        return names.map { Self.join(folder, $0) }
    }

    /// Bytes of one record in the binary form: the label byte(s) and the image.
    public var recordBytes: Int { (classes == 100 ? 2 : 1) + Self.imageBytes }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
