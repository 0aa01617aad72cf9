import Foundation
import Testing
@testable import SWACommandLine
@testable import SWAFormats

/// A tool stopped by a signal while it writes its output: it exits with 128 + the signal (not
/// killed by it) and leaves no hidden file behind, neither the temporary output nor the
/// checkpoint writer's spool, which is created just after it.
@Suite struct InterruptedToolTests {
    /// Float32 values of the input checkpoint: 32 MiB of random bits, which zstd cannot shrink,
    /// so `swa-avg` spends well over 100 ms (seconds in a debug build) between creating its
    /// temporary output and finishing it, hashing, averaging, compressing and syncing. The
    /// signal is sent within about a millisecond of the temporary file appearing.
    static let elementCount = 8 << 20

    @Test("swa-avg interrupted while writing exits with 128 + signal and leaves no temporary file",
          arguments: [SIGTERM, SIGINT])
    func interruptedAverageLeavesNoTemporaryFile(signal: Int32) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let input = try Self.writeRandomCheckpoint(in: folder, elementCount: Self.elementCount)
            let outputFolder = folder + "/out"
            try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: false)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: ToolRunner.binaries + "/swa-avg")
            process.arguments = [input, "-o", outputFolder + "/avg.bin", "--quiet"]
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()

            // Wait for the temporary output, then interrupt at once.
            var sawTemporaryFile = false
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, Date() < deadline {
                if TestSupport.contents(of: outputFolder).contains(where: { $0.hasPrefix(".avg.bin.swa-tmp-") }) {
                    sawTemporaryFile = true
                    kill(process.processIdentifier, signal)
                    break
                }
                usleep(500)
            }
            if !sawTemporaryFile, process.isRunning { kill(process.processIdentifier, SIGKILL) }  // hung: fail, don't wait
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()

            #expect(sawTemporaryFile, "swa-avg ended (status \(process.terminationStatus)) before its temporary output was seen: \(stderr)")
            // Killed by the signal (its default action) would mean no cleanup ran.
            #expect(process.terminationReason == .exit)
            // Finishing in the millisecond between the check and the signal would leave a whole
            // output instead; both are correct, only the first tests the cleanup.
            let finished = process.terminationStatus == 0
            if finished {
                #expect(TestSupport.contents(of: outputFolder) == ["avg.bin"])
            } else {
                #expect(process.terminationStatus == SignalCleanup.exitStatus(after: signal), "\(stderr)")
                #expect(TestSupport.contents(of: outputFolder).isEmpty)
            }
        }
    }

    /// A plain safetensors checkpoint with one float32 tensor of `elementCount` random values.
    static func writeRandomCheckpoint(in folder: String, elementCount: Int) throws -> String {
        let path = folder + "/ckpt-001.safetensors"
        let spec = TensorSpec(name: "layer.weight", dtype: .f32, shape: [elementCount])
        let prefix = SafetensorsHeader(laying: [spec], metadata: [:]).encodedPrefix()
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        var data = try #require(try random.read(upToCount: elementCount * 4))
        try #require(data.count == elementCount * 4)
        // swa-avg rejects NaN and Inf: clearing the top exponent bit of every float (bit 6 of
        // its last byte, little-endian) leaves finite values below 2 in magnitude.
        data.withUnsafeMutableBytes { bytes in
            for index in stride(from: 3, to: bytes.count, by: 4) { bytes[index] &= 0xBF }
        }
        try (Data(prefix) + data).write(to: URL(fileURLWithPath: path))
        return path
    }
}
