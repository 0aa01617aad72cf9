import Foundation
@testable import SWAFormats

// MARK: - CIFAR folders and image folders

extension BadInputMatrix {
    static let images = TestSupport.fixtures + "/images"

    /// CIFAR-10 in both distributed forms and an ImageFolder tree, each with one file damaged.
    /// CIFAR goes through swa-bn-update only: the image fixtures' model has 3 classes, so
    /// evaluating CIFAR-10's 10 is refused even when the data is sound.
    func folderDataCases() throws -> [Case] {
        let model = Self.images + "/model.safetensors"
        let cifarFlags = ["--preprocess", "cifar10"]
        let imageFlags = ["--preprocess", "cifar10", "--resize", "36", "--crop", "32", "--batch-size", "8"]
        var cases: [Case] = []
        func folderCases(_ structure: String, fixture: String, flags: [String], commands: Set<String>,
                         _ variants: [(String, String, (String) throws -> Void)]) throws {
            let name = URL(fileURLWithPath: fixture).lastPathComponent
            let control = try caseFolder("\(name)-control") + "/" + name
            try FileManager.default.copyItem(atPath: fixture, toPath: control)
            cases.append(Case(structure, "none (control)", culprits: [control],
                              runs: dataRuns(control, model: model, extra: flags, expectation: .succeeds(mentioning: nil), commands: commands)))
            for (index, (damage, file, change)) in variants.enumerated() {
                let folder = try caseFolder("\(name)-\(index)") + "/" + name
                try FileManager.default.copyItem(atPath: fixture, toPath: folder)
                try change(folder)
                cases.append(Case(structure, damage, culprits: [folder + "/" + file, folder],
                                  runs: dataRuns(folder, model: model, extra: flags, commands: commands), quick: index == 0 && structure != "CIFAR python"))
            }
        }
        func cut(_ path: String, to length: (Int) -> Int) throws {
            let bytes = try TestSupport.bytes(of: path)
            try Data(bytes[..<length(bytes.count)]).write(to: URL(fileURLWithPath: path))
        }
        func flip(_ path: String, at offset: (Int) -> Int, bit: Int) throws {
            let bytes = try TestSupport.bytes(of: path)
            try Data(Self.flipping(bytes, at: offset(bytes.count), bit: bit)).write(to: URL(fileURLWithPath: path))
        }
        try folderCases("CIFAR binary", fixture: Self.images + "/cifar-10-batches-bin", flags: cifarFlags, commands: ["swa-bn-update"], [
            ("a batch file cut inside a record", "data_batch_1.bin", { try cut($0 + "/data_batch_1.bin") { $0 - 1 } }),
            ("a batch file missing", "data_batch_3.bin", { try FileManager.default.removeItem(atPath: $0 + "/data_batch_3.bin") }),
            ("a batch file empty", "data_batch_4.bin", { try cut($0 + "/data_batch_4.bin") { _ in 0 } }),
            ("a label byte out of range (200)", "data_batch_2.bin", { folder in
                var bytes = try TestSupport.bytes(of: folder + "/data_batch_2.bin")
                bytes[3073] = 200
                try Data(bytes).write(to: URL(fileURLWithPath: folder + "/data_batch_2.bin"))
            }),
        ])
        try folderCases("CIFAR python", fixture: Self.images + "/cifar-10-batches-py", flags: cifarFlags, commands: ["swa-bn-update"], [
            ("a batch pickle cut in half", "data_batch_1", { try cut($0 + "/data_batch_1") { $0 / 2 } }),
            ("a bit flip in a batch pickle's protocol opcode", "data_batch_2", { try flip($0 + "/data_batch_2", at: { _ in 0 }, bit: 6) }),
            ("a batch pickle replaced by text", "data_batch_5", { try "not a pickle\n".write(toFile: $0 + "/data_batch_5", atomically: true, encoding: .utf8) }),
            ("a batch pickle missing its last byte (STOP)", "data_batch_3", { try cut($0 + "/data_batch_3") { $0 - 1 } }),
        ])
        try folderCases("image folder", fixture: Self.images + "/folder", flags: imageFlags, commands: ["swa-bn-update", "swa-eval", "swa-landscape"], [
            ("a JPEG cut in half", "china/a_baseline.jpg", { try cut($0 + "/china/a_baseline.jpg") { $0 / 2 } }),
            ("a bit flip in a PNG's image data (CRC)", "flower/a_rgb.png", { try flip($0 + "/flower/a_rgb.png", at: { $0 / 2 }, bit: 2) }),
            ("a bit flip in a PNG's width (IHDR)", "flower/c_rgba.png", { try flip($0 + "/flower/c_rgba.png", at: { _ in 16 }, bit: 7) }),
            ("a text file named .png", "digits/digit-0.png", { try "hello\n".write(toFile: $0 + "/digits/digit-0.png", atomically: true, encoding: .utf8) }),
            ("an empty .jpg", "digits/digit-1.jpg", { try cut($0 + "/digits/digit-1.jpg") { _ in 0 } }),
            ("a JPEG with its start-of-image marker flipped", "china/b_444.jpg", { try flip($0 + "/china/b_444.jpg", at: { _ in 1 }, bit: 0) }),
        ])
        return cases
    }
}
