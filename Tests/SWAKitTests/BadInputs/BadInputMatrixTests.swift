import Foundation
import Testing
@testable import SWAFormats

/// The bad-input matrix (docs/RELIABILITY.md, "Bad-input matrix"), run through the built tools.
///
/// `swift test` (and `make test`) runs the cases marked quick: one or two damages of most
/// structures, 63 runs (about 30 s here under load); the controls and the rest need the full run. `make bad-inputs` runs every case
/// (`SWA_BAD_INPUTS=full`) and prints the counts per command.
@Suite(.serialized) struct BadInputMatrixTests {
    /// Whether to run every case rather than the quick subset.
    static let full = ProcessInfo.processInfo.environment["SWA_BAD_INPUTS"] == "full"
    /// A run that takes longer than this is a hang; it is killed and fails.
    static let hangSeconds = 60
    /// What docs/RELIABILITY.md promises: each refusal within a second (counted, printed).
    static let promptSeconds = 1.0

    /// What one run did.
    struct Outcome {
        var label: String
        var expectation: BadInputMatrix.Expectation
        var status: Int32
        /// Wall-clock time; on a loaded machine mostly waiting for a core.
        var seconds: Double
        /// CPU time the tool used (user + system, from the children's rusage).
        var cpuSeconds: Double
        var problem: String?
    }

    /// User plus system CPU seconds of the waited-for children of this process so far. Runs
    /// are sequential, so the difference around one run is that run's.
    static func childCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    @Test func everyBadInputIsRefusedInOneLineNamingTheFileWithNothingWritten() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder + "/inputs")
            let cases = try matrix.cases().filter { Self.full || $0.inQuickSubset }
            let before = try Self.snapshot(folder + "/inputs")
            var outcomes: [Outcome] = []
            var runNumber = 0
            for testCase in cases {
                for run in testCase.runs {
                    runNumber += 1
                    let out = folder + "/out/\(runNumber)"
                    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                    let outcome = try Self.execute(run, of: testCase, output: out)
                    if let problem = outcome.problem {
                        Issue.record("\(testCase.structure), \(testCase.damage): \(run.label) \(run.arguments.joined(separator: " ")): \(problem)")
                    }
                    outcomes.append(outcome)
                }
                if let check = testCase.unchangedCheck, let problem = Self.unchanged(check.damaged, as: check.original) {
                    Issue.record("\(testCase.structure), \(testCase.damage): \(problem)")
                }
            }
            // No input was changed, and nothing was added beside the inputs (temporary files).
            #expect(try Self.snapshot(folder + "/inputs") == before, "an input changed or a file appeared beside the inputs")
            print(Self.report(cases: cases, outcomes: outcomes))
        }
    }

    // MARK: - One run

    /// Runs `run` with `{OUT}` in `output` (killed after `hangSeconds`) and judges it.
    static func execute(_ run: BadInputMatrix.Run, of testCase: BadInputMatrix.Case, output: String) throws -> Outcome {
        let arguments = run.arguments.map { $0.replacingOccurrences(of: "{OUT}", with: output) }
        let started = Date(), cpuBefore = childCPUSeconds()
        let result = try TestSupport.run("/usr/bin/timeout", ["-s", "KILL", "\(hangSeconds)", ToolRunner.binaries + "/" + run.tool] + arguments,
                                         directory: TestSupport.root)
        let seconds = Date().timeIntervalSince(started), cpu = childCPUSeconds() - cpuBefore
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        var outcome = Outcome(label: run.label, expectation: run.expectation, status: result.status, seconds: seconds, cpuSeconds: cpu)
        let left = TestSupport.contents(of: output)
        switch run.expectation {
        case let .succeeds(mentioning):
            if result.status != 0 {
                outcome.problem = "expected success, got exit \(result.status): \(result.stderr)"
            } else if let mentioning, !stdout.contains(mentioning) {
                outcome.problem = "expected the output to mention '\(mentioning)': \(stdout.suffix(400))"
            }
        case .refused:
            outcome.problem = refusalProblem(result.status, stderr: result.stderr, tool: run.tool, testCase: testCase, left: left)
        case .refusedOrUnchanged:
            if result.status != 0 {
                outcome.problem = refusalProblem(result.status, stderr: result.stderr, tool: run.tool, testCase: testCase, left: left)
            }
        }
        if result.status == 137 { outcome.problem = "killed after \(hangSeconds) s: a hang" }
        return outcome
    }

    /// Why a refusal is not the promised one: exit 1, one line starting with the tool's name
    /// and naming the file (and the tensor, where the case has one), nothing in the output folder.
    static func refusalProblem(_ status: Int32, stderr: String, tool: String, testCase: BadInputMatrix.Case, left: [String]) -> String? {
        let message = stderr.hasSuffix("\n") ? String(stderr.dropLast()) : stderr
        if status != 1 { return "expected exit 1, got \(status): \(stderr.prefix(600))" }
        if message.isEmpty || message.contains("\n") { return "expected one line on stderr, got: \(stderr.prefix(600))" }
        if !message.hasPrefix(tool + ": ") { return "the line does not start with '\(tool): ': \(message)" }
        if !testCase.culprits.contains(where: { message.contains($0) }) {
            return "the line names none of \(testCase.culprits.map { URL(fileURLWithPath: $0).lastPathComponent }): \(message)"
        }
        if let tensor = testCase.tensor, !message.contains("'\(tensor)'") { return "the line does not name tensor '\(tensor)': \(message)" }
        if !left.isEmpty { return "left \(left) in the output folder" }
        return nil
    }

    /// For damage readers cannot see: `nil` if `damaged` reads as the same tensors and
    /// metadata as `original`, or is refused; else what differs.
    static func unchanged(_ damaged: String, as original: String) -> String? {
        guard let read = try? LoadedCheckpoint(path: damaged) else { return nil }
        guard let expected = try? LoadedCheckpoint(path: original) else { return "the original does not read" }
        if read.header.tensors != expected.header.tensors { return "read with other tensors than the original" }
        if read.header.metadata != expected.header.metadata { return "read with other metadata than the original" }
        if read.tensors != expected.tensors { return "read with other tensor bytes than the original" }
        return nil
    }

    /// Every file under `folder` (links as their targets' text) with its bytes.
    static func snapshot(_ folder: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let name = enumerator?.nextObject() as? String {
            let path = folder + "/" + name
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                files[name] = Data(("-> " + target).utf8)
            } else if let data = FileManager.default.contents(atPath: path) {
                files[name] = data
            }
        }
        return files
    }

    // MARK: - Counts

    /// The table docs/RELIABILITY.md quotes: per command, inputs tried, refused as promised,
    /// accepted as promised (controls, NaN reports, unseen damage), failures, and the slowest.
    static func report(cases: [BadInputMatrix.Case], outcomes: [Outcome]) -> String {
        var lines = ["bad-input matrix (\(full ? "full" : "quick subset; make bad-inputs runs all")): "
                     + "\(cases.count) cases (\(Set(cases.map(\.structure)).count) structures), \(outcomes.count) runs"]
        lines.append("command                 runs  refused  exit 0 as expected  failed  refusals over \(promptSeconds) s: wall  cpu   slowest refusal s: wall  cpu")
        let labels = ["swa-avg", "swa-avg --merge", "swa-inspect", "swa-inspect --verify", "swa-convert", "swa-bn-update", "swa-eval", "swa-landscape"]
        for label in labels {
            let mine = outcomes.filter { $0.label == label }
            guard !mine.isEmpty else { continue }
            let refused = mine.filter { $0.problem == nil && $0.status == 1 }.count
            let accepted = mine.filter { $0.problem == nil && $0.status == 0 }.count
            let failed = mine.filter { $0.problem != nil }.count
            let refusals = mine.filter { $0.status != 0 }
            let slow = refusals.filter { $0.seconds > promptSeconds }.count, slowCPU = refusals.filter { $0.cpuSeconds > promptSeconds }.count
            let slowest = refusals.map(\.seconds).max() ?? 0, slowestCPU = refusals.map(\.cpuSeconds).max() ?? 0
            lines.append(label.padding(toLength: 22, withPad: " ", startingAt: 0)
                         + String(format: "%6d %8d %19d %7d %25d %5d %24.2f %5.2f", mine.count, refused, accepted, failed, slow, slowCPU, slowest, slowestCPU))
        }
        lines.append("per structure: " + Dictionary(grouping: cases, by: \.structure).map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
