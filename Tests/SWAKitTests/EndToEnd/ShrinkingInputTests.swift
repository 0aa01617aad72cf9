import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An input truncated while a tool reads it (another job rewriting the file, a disk quota
/// cutting a copy short): the tool has read the header and part of the data when the file
/// shrinks to half its size. It must exit 1 with one line naming the input, and write nothing.
///
/// Made deterministic with job control rather than timing: the tool is stopped (SIGSTOP) once
/// `/proc/PID/io` shows it has read a quarter of the input, the test checks it has not read
/// all of it, truncates the file, and lets it go on (SIGCONT).
@Suite struct ShrinkingInputTests {
    /// 32 MiB of float32 data: seconds of reading, hashing and averaging in a debug build.
    static let elementCount = 8 << 20

    @Test("An input truncated while it is read: exit 1, one line naming it, no output",
          arguments: [["swa-avg", "IN", "-o", "OUT/avg.bin", "-q"],
                      ["swa-convert", "IN", "-o", "OUT/model.safetensors"]])
    func truncatedWhileRead(command: [String]) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let input = try InterruptedToolTests.writeRandomCheckpoint(in: folder, elementCount: Self.elementCount)
            let out = folder + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: ToolRunner.binaries + "/" + command[0])
            process.arguments = command.dropFirst().map { $0 == "IN" ? input : $0.replacingOccurrences(of: "OUT/", with: out + "/") }
            process.currentDirectoryURL = URL(fileURLWithPath: TestSupport.root)
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let pid = process.processIdentifier

            var readAtStop = 0
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning, Date() < deadline {
                if Self.bytesRead(by: pid) >= size / 4 {
                    kill(pid, SIGSTOP)
                    readAtStop = Self.bytesRead(by: pid)
                    break
                }
                usleep(200)
            }
            let stopped = readAtStop > 0 && readAtStop < size
            if readAtStop > 0 {
                if stopped { truncate(input, off_t(size / 2)) }
                kill(pid, SIGCONT)
            }
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            try #require(stopped, "\(command[0]) was not caught reading (read \(readAtStop) of \(size) bytes at the stop)")

            let lines = FaultInjection.lines(stderr)
            #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(stderr)")
            #expect(lines.count == 1, "\(stderr)")
            #expect(lines.first?.contains(input) == true, "\(stderr)")
            let left = TestSupport.contents(of: out)
            #expect(left.isEmpty, "\(left)")
            FaultInjection.record(fault: "input truncated to half while read",
                                  command: "\(command[0]) …", status: "\(process.terminationStatus)",
                                  message: (lines.first ?? "").replacingOccurrences(of: folder, with: "$DIR"),
                                  bytesLost: 0, leftovers: left.count)
        }
    }

    /// Bytes process `pid` has read so far (`rchar` of `/proc/PID/io`: every `read` and `pread`).
    static func bytesRead(by pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("rchar:") {
            return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
