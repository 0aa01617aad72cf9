import Foundation
import RealModule
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

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
        let checkpoint = try LoadedCheckpoint(path: path)
        let tensors = Dictionary(uniqueKeysWithValues: checkpoint.header.tensors.map { ($0.name, ($0, checkpoint.tensors[$0.name]!)) })
        return (checkpoint.header, tensors)
    }

    /// Whether |a - b| <= atol + rtol·|b| elementwise (numpy's allclose).
    static func allClose(_ a: [Double], _ b: [Double], rtol: Double, atol: Double = 0) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
    }
}

// MARK: - Files, processes and random bytes for the checkpoint tests

extension TestSupport {
    /// The stock zstd command-line tool, the reference our files must satisfy.
    static let zstd = "/usr/bin/zstd"

    struct ProcessResult {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
    }

    /// Runs `executable` with `arguments` (in `directory`, if given) and captures what it
    /// prints (stderr must stay small).
    /// - Parameter environment: changes to this process's environment for the child: a value
    ///   sets the variable, nil removes it.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], directory: String? = nil,
                    environment: [String: String?] = [:]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: Array(stdout),
                             stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The bytes of a plain safetensors file: 8-byte little-endian length, JSON, data.
    /// - Parameter declaredLength: the length field to write, if it should lie.
    static func safetensors(json: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { Array($0) }
        bytes += json
        bytes += data
        return bytes
    }

    static func safetensors(json: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        safetensors(json: Array(json.utf8), data: data, declaredLength: declaredLength)
    }

    /// Writes `bytes` to `folder/name` and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], to folder: String, name: String) throws -> String {
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func bytes(of path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The description of the error `body` throws (`"FILE: MESSAGE"` for an `SWAError`), or `nil` if it returns.
    static func errorDescription(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// `count` bytes from `generator`.
    static func randomBytes(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

/// The library's SplitMix64, seeded, so every random test replays exactly.
typealias SeededGenerator = SplitMix64

// MARK: - The averaged fixture model

extension TestSupport {
    /// `swa-avg --start 10 --every 2` of the fixtures into `folder/swa.bin`; returns its path.
    static func averageFixtures(in folder: String) throws -> String {
        let inputs = try CheckpointSelection(start: 10, every: 2).apply(to: discoverCheckpoints([checkpoints]))
        _ = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(Array(repeating: 1, count: inputs.count)),
                                                            destination: folder + "/swa.bin")).run()
        return folder + "/swa.bin"
    }

    /// That average bound to its graph, and the training data normalised for it.
    static func averagedFixtureModel(in folder: String) throws -> (ModelParameters, DataSet) {
        let checkpoint = try LoadedCheckpoint(path: averageFixtures(in: folder))
        let parameters = try ModelParameters(graph: try ModelSource.metadata.graph(for: checkpoint), checkpoint: checkpoint)
        let data = try DataSet(path: fixtures + "/data/train.npz",
                               preprocessing: try Preprocessing.parse(metadataJSON: checkpoint.header.metadata["swa.preprocess"]!))
        return (parameters, data)
    }
}
