import Foundation
import RealModule
@testable import SWAKit

/// Paths and helpers shared by every test file.
enum TestSupport {
    /// The repository root, found from this file's path.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let fixtures = root + "/fixtures"
    static let checkpoints = fixtures + "/checkpoints"
    static let golden = fixtures + "/golden"

    /// A fresh empty folder, removed when `body` returns.
    static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let path = NSTemporaryDirectory() + "swa-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// Names of the files in `folder` (hidden ones included: a leftover temporary file is a bug).
    static func contents(of folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// Every element of a float tensor as Double, whatever its stored dtype.
    static func doubles(_ bytes: [UInt8], dtype: DType) -> [Double] {
        let count = bytes.count / dtype.byteSize
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { source in
            values.withUnsafeMutableBufferPointer { acc in
                accumulate(source.baseAddress!, dtype: dtype, count: count, into: acc.baseAddress!, keep: 0, weight: 1, first: true)
            }
        }
        return values
    }

    /// Reads every tensor of a checkpoint into memory: name -> (info, raw bytes).
    static func readAll(_ path: String) throws -> (header: SafetensorsHeader, tensors: [String: (TensorInfo, [UInt8])]) {
        let reader = try CheckpointReader(path: path)
        var tensors: [String: (TensorInfo, [UInt8])] = [:]
        for info in reader.header.tensors {
            tensors[info.name] = (info, try reader.readTensorBytes(info))
        }
        try reader.finish()
        return (reader.header, tensors)
    }

    /// Whether |a - b| <= atol + rtol·|b| elementwise (numpy's allclose).
    static func allClose(_ a: [Double], _ b: [Double], rtol: Double, atol: Double = 0) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
    }
}
