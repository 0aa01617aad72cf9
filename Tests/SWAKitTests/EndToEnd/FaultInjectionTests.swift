import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Faults injected into the built tools (docs/RELIABILITY.md, "Fault injection"): a full disk,
/// an output folder that cannot be written, an unreadable input. Each run must exit 1 with one
/// line naming the culprit, lose no byte of any input or earlier output (byte-compared), and
/// leave no temporary or partial file. Signals and inputs that shrink while they are read are
/// in `InterruptedToolTests` and `ShrinkingInputTests`.
///
/// Set `SWA_FAULT_TABLE=FILE` to collect the rows of the table in docs/RELIABILITY.md.
@Suite struct FaultInjectionTests {
    /// One command writing `output` (a path relative to the scene's output folder).
    struct Command: CustomStringConvertible {
        var tool: String
        var arguments: [String]
        var output: String
        var description: String { "\(tool) \(output)" }
    }

    /// The commands that write something, each into `OUT/`: the three checkpoint layouts of
    /// swa-avg, swa-bn-update, swa-convert, and swa-eval's CSV and SVG reports.
    static let writers: [Command] = [
        Command(tool: "swa-avg", arguments: ["fixtures/checkpoints", "--last", "3", "-o", "OUT/avg.bin", "--force", "-q"], output: "avg.bin"),
        Command(tool: "swa-avg", arguments: ["fixtures/checkpoints", "--last", "3", "-o", "OUT/avg.safetensors", "--force", "-q"],
                output: "avg.safetensors"),
        Command(tool: "swa-avg", arguments: ["fixtures/checkpoints", "--last", "3", "-o", "OUT/avg/", "--force", "-q"], output: "avg"),
        Command(tool: "swa-bn-update", arguments: [model, "--data", "fixtures/data/train.npz", "--limit", "256", "-o", "OUT/bn.bin", "--force", "-q"],
                output: "bn.bin"),
        Command(tool: "swa-convert", arguments: [model, "-o", "OUT/model.safetensors", "--force"], output: "model.safetensors"),
        Command(tool: "swa-eval", arguments: [model, "--data", "fixtures/data/test.npz", "--ensemble", "fixtures/checkpoints", "--last", "2",
                                              "--csv", "OUT/curve.csv", "--force", "-q"], output: "curve.csv"),
        Command(tool: "swa-eval", arguments: [model, "--data", "fixtures/data/test.npz", "--ensemble", "fixtures/checkpoints", "--last", "2",
                                              "--plot", "OUT/curve.svg", "--force", "-q"], output: "curve.svg"),
    ]

    /// A fixture checkpoint with its graph and preprocessing, read by swa-bn-update, swa-eval and swa-convert.
    static let model = "fixtures/checkpoints/ckpt-014.safetensors.zst"

    /// Runs `body` with the path of an empty folder `out` inside a fresh temporary folder,
    /// which is removed afterwards.
    static func withOutputFolder(_ body: (String) throws -> Void) throws {
        try TestSupport.withTemporaryDirectory { scratch in
            let out = scratch + "/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            try body(out)
        }
    }

    // MARK: - Full disk

    @Test("A full disk: exit 1, one line naming the output, earlier outputs untouched, nothing left",
          .enabled(if: FaultInjection.canMount, "needs root and permission to mount a tmpfs"),
          arguments: writers)
    func fullDisk(command: Command) throws {
        try Self.withOutputFolder { out in
            try FaultInjection.withTmpfs(at: out, kibibytes: 2048) {
                try placeEarlierOutput(command, into: out)
                try FaultInjection.fill(out)
                try expectCleanFailure(fault: "full disk (tmpfs)", command, out: out, culprit: out + "/" + command.output,
                                       reason: "No space left on device")
                #expect(FaultInjection.freeBytes(out) < 4096)
            }
        }
    }

    // MARK: - An output folder that cannot be written

    @Test("A read-only output folder (chmod 555): exit 1, one line naming the output, nothing lost or left",
          .enabled(if: FaultInjection.permissionsApply, "needs to run as a user, or as root with setpriv"),
          arguments: writers)
    func readOnlyFolder(command: Command) throws {
        try Self.withOutputFolder { out in
            try placeEarlierOutput(command, into: out)
            chmod(out, 0o555)
            defer { chmod(out, 0o755) }
            try expectCleanFailure(fault: "output folder not writable (chmod 555)", command, out: out,
                                   culprit: out + "/" + command.output, reason: "Permission denied", dropPermissions: true)
        }
    }

    @Test("A read-only file system: exit 1, one line naming the output, nothing lost or left",
          .enabled(if: FaultInjection.canMount, "needs root and permission to mount a tmpfs"),
          arguments: writers)
    func readOnlyFileSystem(command: Command) throws {
        try Self.withOutputFolder { out in
            try FaultInjection.withTmpfs(at: out, kibibytes: 2048) {
                try placeEarlierOutput(command, into: out)
                guard FaultInjection.mountTmpfs(at: out, options: "size=2048k", flags: UInt(MS_REMOUNT) | UInt(MS_RDONLY)) == 0 else {
                    throw FaultError("cannot remount \(out) read-only: \(String(cString: strerror(errno)))")
                }
                try expectCleanFailure(fault: "read-only file system", command, out: out, culprit: out + "/" + command.output,
                                       reason: "Read-only file system")
            }
        }
    }

    // MARK: - An unreadable input

    /// An input each command reads, made unreadable (chmod 000), and the command.
    struct UnreadableInput: CustomStringConvertible {
        var tool: String
        /// The fixture file copied into the scene's `IN/` and made unreadable.
        var fixture: String
        /// Arguments; `IN/NAME` stands for the copy, `OUT/` for the output folder.
        var arguments: [String]
        var description: String { "\(tool) \(fixture.split(separator: "/").last!)" }
    }

    static let unreadable: [UnreadableInput] = [
        UnreadableInput(tool: "swa-avg", fixture: "fixtures/checkpoints/ckpt-013.safetensors.zst",
                        arguments: ["IN/ckpt-013.safetensors.zst", model, "-o", "OUT/avg.bin", "-q"]),
        UnreadableInput(tool: "swa-bn-update", fixture: model,
                        arguments: ["IN/ckpt-014.safetensors.zst", "--data", "fixtures/data/train.npz", "-o", "OUT/bn.bin", "-q"]),
        UnreadableInput(tool: "swa-bn-update", fixture: "fixtures/data/train.npz",
                        arguments: [model, "--data", "IN/train.npz", "-o", "OUT/bn.bin", "-q"]),
        UnreadableInput(tool: "swa-eval", fixture: "fixtures/data/test.npz",
                        arguments: [model, "--data", "IN/test.npz", "--ensemble", "fixtures/checkpoints", "--last", "2",
                                    "--csv", "OUT/curve.csv", "-q"]),
        UnreadableInput(tool: "swa-convert", fixture: model, arguments: ["IN/ckpt-014.safetensors.zst", "-o", "OUT/model.safetensors"]),
        UnreadableInput(tool: "swa-inspect", fixture: model, arguments: ["IN/ckpt-014.safetensors.zst"]),
    ]

    @Test("An unreadable input (chmod 000): exit 1, one line naming it, no output",
          .enabled(if: FaultInjection.permissionsApply, "needs to run as a user, or as root with setpriv"),
          arguments: unreadable)
    func unreadableInput(case input: UnreadableInput) throws {
        try TestSupport.withTemporaryDirectory { scratch in
            let inputs = scratch + "/in", out = scratch + "/out"
            for folder in [inputs, out] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false) }
            let name = String(input.fixture.split(separator: "/").last!)
            try FileManager.default.copyItem(atPath: TestSupport.root + "/" + input.fixture, toPath: inputs + "/" + name)
            let before = FaultInjection.snapshot(inputs)
            chmod(inputs + "/" + name, 0)
            defer { chmod(inputs + "/" + name, 0o644) }
            let arguments = input.arguments.map { $0.replacingOccurrences(of: "IN/", with: inputs + "/").replacingOccurrences(of: "OUT/", with: out + "/") }
            let result = try FaultInjection.run(input.tool, arguments, dropPermissions: true)
            chmod(inputs + "/" + name, 0o644)

            let lines = FaultInjection.lines(result.stderr)
            let culprit = inputs + "/" + name
            #expect(result.status == 1, "\(result.stderr)")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(lines.first?.contains(culprit) == true && lines.first?.contains("Permission denied") == true, "\(result.stderr)")
            let lost = FaultInjection.bytesLost(before, FaultInjection.snapshot(inputs))
            let left = TestSupport.contents(of: out)
            #expect(lost == 0)
            #expect(left.isEmpty, "\(left)")
            FaultInjection.record(fault: "unreadable input (chmod 000)", command: "\(input.tool) … \(name)", status: "\(result.status)",
                                  message: shown(lines.first ?? "", scratch: scratch), bytesLost: lost, leftovers: left.count)
        }
    }

    // MARK: - Helpers

    /// Puts an earlier output where `command` writes (a folder with a shard for a folder
    /// output), so the failing run has something to keep.
    private func placeEarlierOutput(_ command: Command, into out: String) throws {
        try FaultInjection.placeEarlierOutput(at: out + "/" + command.output, folder: !command.output.contains("."))
    }

    private func arguments(of command: Command, out: String) -> [String] {
        command.arguments.map { $0.hasPrefix("OUT/") ? out + "/" + $0.dropFirst(4) : $0 }
    }

    /// Runs `command` against the fault and checks the promise: exit 1, one line on stderr naming
    /// `culprit` and `reason`, every file in `out` and every fixture input byte-identical, and
    /// no new name in `out`.
    private func expectCleanFailure(fault: String, _ command: Command, out: String, culprit: String, reason: String,
                                    dropPermissions: Bool = false) throws {
        let outputsBefore = FaultInjection.snapshot(out)
        let inputsBefore = FaultInjection.snapshot(TestSupport.checkpoints)
        #expect(!outputsBefore.isEmpty)
        let result = try FaultInjection.run(command.tool, arguments(of: command, out: out), dropPermissions: dropPermissions)
        let outputsAfter = FaultInjection.snapshot(out)
        let lines = FaultInjection.lines(result.stderr)

        #expect(result.status == 1, "\(result.stderr)")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains(culprit) == true && lines.first?.contains(reason) == true, "\(result.stderr)")
        let lost = FaultInjection.bytesLost(outputsBefore, outputsAfter)
            + FaultInjection.bytesLost(inputsBefore, FaultInjection.snapshot(TestSupport.checkpoints))
        let left = FaultInjection.leftovers(outputsBefore, outputsAfter)
        #expect(lost == 0)
        #expect(left.isEmpty, "\(left)")
        FaultInjection.record(fault: fault, command: "\(command.tool) … \(command.output)", status: "\(result.status)",
                              message: shown(lines.first ?? "", scratch: folder(of: out)), bytesLost: lost, leftovers: left.count)
    }

    /// `line` with the test's scratch folder shown as `$DIR`.
    private func shown(_ line: String, scratch: String) -> String {
        line.replacingOccurrences(of: scratch, with: "$DIR")
    }

    private func folder(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
