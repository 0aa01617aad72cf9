import Foundation
import Testing
@testable import SWACommandLine
@testable import SWAFormats

/// A tool stopped by a signal while it writes its output. SIGINT and SIGTERM: it exits with
/// 128 + the signal (not killed by it) and leaves no file behind. SIGKILL, which no program
/// can catch: the output path still holds the old file or nothing, and no temporary file
/// remains, because the output is written through an unnamed file (`O_TMPFILE`). With the
/// named fallback (`SWA_TEST_NO_TMPFILE=1`, as on a file system without `O_TMPFILE`) a SIGKILL
/// leaves the hidden temporary file, and the next run to the same output removes it.
@Suite struct InterruptedToolTests {
    /// Float32 values of the input checkpoint: 32 MiB of random bits, which zstd cannot shrink,
    /// so `swa-avg` spends well over 100 ms (seconds in a debug build) between creating its
    /// temporary output and finishing it, hashing, averaging, compressing and syncing. The
    /// signal is sent within about a millisecond of the temporary file appearing.
    static let elementCount = 8 << 20

    @Test("swa-avg interrupted while writing: exit 128 + signal (or killed), no file left, an earlier output untouched",
          arguments: [SIGTERM, SIGINT, SIGKILL])
    func interruptedWhileWriting(signal: Int32) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let input = try Self.writeRandomCheckpoint(in: folder, elementCount: Self.elementCount)
            let outputFolder = folder + "/out"
            try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: false)
            let old = try TestSupport.write(Array("an earlier output".utf8), to: outputFolder, name: "avg.bin")

            let process = try Self.start("swa-avg", [input, "-o", old, "--force", "--quiet"])
            // Wait for the output's unnamed file (or its named fallback), then signal at once.
            var sawTemporaryFile = false
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, Date() < deadline {
                if !Self.temporaryFiles(of: process.processIdentifier, in: outputFolder).isEmpty {
                    sawTemporaryFile = true
                    kill(process.processIdentifier, signal)
                    break
                }
                usleep(500)
            }
            if !sawTemporaryFile, process.isRunning { kill(process.processIdentifier, SIGKILL) }  // hung: fail, don't wait
            process.waitUntilExit()

            #expect(sawTemporaryFile, "swa-avg ended (status \(process.terminationStatus)) before its temporary output was seen")
            var left = TestSupport.contents(of: outputFolder)
            if signal == SIGKILL, !AtomicOutputFileTests.unnamedFilesWork {
                // Without O_TMPFILE a SIGKILL leaves the named fallback; the next run removes it.
                left.removeAll { $0.hasPrefix(".avg.bin.swa-tmp-") }
            }
            #expect(left == ["avg.bin"])
            // Finishing in the millisecond between the check and the signal would leave a whole
            // output instead; both are correct, only the first tests the cleanup.
            if process.terminationReason == .exit, process.terminationStatus == 0 { return }
            if signal == SIGKILL {
                #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
            } else {
                // Killed by the signal (its default action) would mean no cleanup ran.
                #expect(process.terminationReason == .exit)
                #expect(process.terminationStatus == SignalCleanup.exitStatus(after: signal))
            }
            #expect(try TestSupport.bytes(of: old) == Array("an earlier output".utf8))
            FaultInjection.record(fault: "\(Self.name(of: signal)) while writing", command: "swa-avg … avg.bin --force (32 MiB input)",
                                  status: Self.status(process), message: "—", bytesLost: 0, leftovers: left.count - 1)
        }
    }

    /// Where an output is when the signal comes: every byte written and synced, nothing named
    /// (`SWA_TEST_PAUSE_BEFORE_COMMIT`), the worst moment for SIGKILL.
    struct PausedCase: CustomStringConvertible, Sendable {
        var signal: Int32
        /// The named fallback (`SWA_TEST_NO_TMPFILE=1`) instead of `O_TMPFILE`.
        var named: Bool
        /// `-o` relative to the output folder: a file, or a Hugging Face folder (`avg/`).
        var output: String
        /// Whether an earlier output is there (replaced with --force).
        var replacing: Bool
        var description: String {
            "\(InterruptedToolTests.name(of: signal)) \(named ? "named temporary" : "O_TMPFILE") \(output)\(replacing ? " over an earlier output" : "")"
        }
    }

    static let pausedCases: [PausedCase] = [SIGINT, SIGKILL].flatMap { signal in
        [false, true].flatMap { named in
            [("avg.bin", false), ("avg.bin", true), ("avg.safetensors", true), ("avg/", true)].map {
                PausedCase(signal: signal, named: named, output: $0.0, replacing: $0.1)
            }
        }
    }

    @Test("A signal when the output is complete but not yet in place: the old output or nothing, no temporary file",
          arguments: pausedCases)
    func signalledBeforeCommit(paused: PausedCase) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let outputFolder = folder + "/out"
            try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: false)
            let arguments = ["fixtures/checkpoints", "--last", "2", "-q", "-o", outputFolder + "/" + paused.output, "--force"]
            let base = paused.output.hasSuffix("/") ? String(paused.output.dropLast()) : paused.output
            if paused.replacing {
                try FaultInjection.placeEarlierOutput(at: outputFolder + "/" + base, folder: paused.output.hasSuffix("/"))
            }
            let before = FaultInjection.snapshot(outputFolder)
            let marker = folder + "/paused"
            var environment: [String: String?] = ["SWA_TEST_PAUSE_BEFORE_COMMIT": marker]
            if paused.named { environment["SWA_TEST_NO_TMPFILE"] = "1" }
            let process = try Self.start("swa-avg", arguments, environment: environment)
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: marker) { usleep(1000) }
            let paused_ = FileManager.default.fileExists(atPath: marker)
            kill(process.processIdentifier, paused_ ? paused.signal : SIGKILL)
            process.waitUntilExit()
            try #require(paused_, "swa-avg never reached the pause before its commit")

            let fault = "\(Self.name(of: paused.signal)), output complete, not in place\(paused.named ? "; named fallback" : "")"
            let command = "swa-avg … \(paused.output)\(paused.replacing ? " --force (over an earlier output)" : "")"
            let after = FaultInjection.snapshot(outputFolder)
            let lost = FaultInjection.bytesLost(before, after)
            var left = FaultInjection.leftovers(before, after)
            #expect(lost == 0)
            if paused.signal == SIGKILL {
                #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
            } else {
                #expect(process.terminationReason == .exit && process.terminationStatus == SignalCleanup.exitStatus(after: paused.signal))
            }
            // A file system without O_TMPFILE (some overlay mounts) behaves as the named fallback.
            if paused.signal == SIGKILL, paused.named || !AtomicOutputFileTests.unnamedFilesWork {
                // What the fallback leaves after SIGKILL: the hidden temporary file(s); the next
                // run to the same output removes them.
                #expect(!left.isEmpty && left.allSatisfy { $0.hasPrefix(".\(base).swa-tmp-") }, "\(left)")
                let rerun = try ToolRunner.run("swa-avg", arguments, environment: ["SWA_TEST_NO_TMPFILE": "1"])
                #expect(rerun.status == 0, "\(rerun.stderr)")
                let names = TestSupport.contents(of: outputFolder)
                #expect(names == [base], "\(names)")
                FaultInjection.record(fault: fault, command: command, status: Self.status(process),
                                      message: "— (the next run to the same output removed the \(left.count) left)",
                                      bytesLost: lost, leftovers: left.count)
                left = []
            } else {
                #expect(left.isEmpty, "\(left)")
                FaultInjection.record(fault: fault, command: command, status: Self.status(process), message: "—",
                                      bytesLost: lost, leftovers: left.count)
            }
        }
    }

    @Test("Resumed after the pause, the output is complete and nothing else is left")
    func pausedThenResumedFinishes() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let marker = folder + "/paused"
            let process = try Self.start("swa-avg", ["fixtures/checkpoints", "--last", "2", "-q", "-o", folder + "/avg.bin"],
                                         environment: ["SWA_TEST_PAUSE_BEFORE_COMMIT": marker])
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: marker) { usleep(1000) }
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == folder + "/avg.bin")
            // Paused with everything written: no name in the folder but the marker.
            #expect(TestSupport.contents(of: folder) == ["paused"])
            try FileManager.default.removeItem(atPath: marker)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(TestSupport.contents(of: folder) == ["avg.bin"])
        }
    }

    // MARK: - Helpers

    static func name(of signal: Int32) -> String {
        [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGKILL: "SIGKILL", SIGHUP: "SIGHUP"][signal] ?? "signal \(signal)"
    }

    static func status(_ process: Process) -> String {
        process.terminationReason == .uncaughtSignal ? "killed (\(name(of: process.terminationStatus)))" : "\(process.terminationStatus)"
    }

    /// Starts a built tool from the repository root, its output discarded.
    static func start(_ tool: String, _ arguments: [String], environment: [String: String?] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ToolRunner.binaries + "/" + tool)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: TestSupport.root)
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        process.environment = merged
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The temporary files process `pid` has open in `folder`: unnamed ones (`O_TMPFILE`, shown
    /// by `/proc/PID/fd` as `FOLDER/#INODE (deleted)`) and hidden named ones.
    static func temporaryFiles(of pid: Int32, in folder: String) -> [String] {
        let fds = "/proc/\(pid)/fd"
        var found = TestSupport.contents(of: folder).filter { $0.hasPrefix(".") && $0.contains(".swa-tmp-") }
        for fd in TestSupport.contents(of: fds) {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + fd),
               target.hasPrefix(folder + "/#") || (target.hasPrefix(folder + "/.") && target.hasSuffix(" (deleted)")) {
                found.append(target)
            }
        }
        return found
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
