import Foundation
import SyntheticCheckpoints

/// `make-synthetic-checkpoints FOLDER COUNT MEGABYTES [--seed S]`
///
/// Writes COUNT model-shaped checkpoints of about MEGABYTES × 10⁶ bytes of F32 tensor data
/// each (`ckpt-001.safetensors.zst` …, `swa.epoch` 1…COUNT) into FOLDER, created if missing.
/// Prints one line per file on stdout: its path and size on disk.
@main
enum MakeSyntheticCheckpoints {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var seed: UInt64 = 2018
        if let flag = arguments.firstIndex(of: "--seed"), flag + 1 < arguments.count, let value = UInt64(arguments[flag + 1]) {
            seed = value
            arguments.removeSubrange(flag...(flag + 1))
        }
        guard arguments.count == 3, let count = Int(arguments[1]), count > 0,
              let megabytes = Double(arguments[2]), megabytes > 0 else {
            FileHandle.standardError.write(Data("usage: make-synthetic-checkpoints FOLDER COUNT MEGABYTES [--seed S]\n".utf8))
            exit(2)
        }
        let folder = arguments[0]
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let run = SyntheticRun(megabytes: megabytes, seed: seed)
            FileHandle.standardError.write(Data(("make-synthetic-checkpoints: \(count) × \(run.model.tensors.count) tensors, "
                + "\(run.model.dataByteCount) bytes of tensor data each\n").utf8))
            for path in try run.writeCheckpoints(count: count, into: folder) {
                let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                print("\(path)\t\(size)")
            }
        } catch {
            FileHandle.standardError.write(Data("make-synthetic-checkpoints: \(error)\n".utf8))
            exit(1)
        }
    }
}
