import SWAData
import SWAEngine
import SWAFormats
import ArgumentParser
import Foundation
import SWAKit

/// Exit statuses of every tool (docs/CLI.md); after a signal, 128 + its number
/// (`SignalCleanup.exitStatus(after:)`).
public enum ToolExit {
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2
}

extension ParsableCommand {
    /// Parses the command line and runs, mapping outcomes to the exit statuses of docs/CLI.md:
    /// 0 success, 1 failure of the work (one line on stderr naming file and tensor),
    /// 2 bad usage (the parser's message and a pointer to `--help`). SIGINT, SIGTERM and SIGHUP
    /// remove unfinished outputs and exit with 128 + the signal number (`SignalCleanup`).
    public static func runAsTool() {
        // Before anything else: a process on fallback BLAS kernels restarts itself on better ones.
        BLASKernelSelection.reexecutingIfKernelsFellBack()
        // Then, while this is the only thread: every thread started later inherits the mask.
        SignalCleanup.install()
        let name = configuration.commandName ?? "swa"
        // A misspelt SWA_CONV_BACKEND or SWA_THREADS is bad usage, caught before any work.
        do {
            let environment = ProcessInfo.processInfo.environment
            _ = try ConvolutionBackendPolicy(environmentValue: environment[ConvolutionBackendPolicy.environmentVariable])
            _ = try WorkerThreads.requested(environmentValue: environment[WorkerThreads.environmentVariable])
        } catch let error as SWAError {
            printError("\(name): \(error)")
            Foundation.exit(ToolExit.usage)
        } catch {}
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SWAError {
            printError("\(name): \(error)")
            Foundation.exit(ToolExit.failure)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            printError("\(name): \(fullMessage(for: error))")
            Foundation.exit(ToolExit.usage)
        }
    }
}

/// Writes one line to standard error.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Whether standard error is a terminal (progress bars are drawn only there).
public var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

/// Prints `value`, a JSON object, as pretty JSON with snake_case keys on standard output, with
/// a `backend` member naming the BLAS library and kernels this process runs (`ComputeBackend`).
public func printJSON(_ value: some Encodable) throws {
    try printPrettyJSON(ReportWithBackend(report: value, backend: .current))
}

/// Encodes `report`'s members and then `backend` into the same JSON object.
private struct ReportWithBackend<Report: Encodable>: Encodable {
    var report: Report
    var backend: ComputeBackend
    private enum CodingKeys: String, CodingKey { case backend }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(backend, forKey: .backend)
    }
}

private func printPrettyJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// `84.2 KB`, `1.5 GB`: decimal units, as `ls -h --si` prints them (`formatByteSize`).
public func formatBytes(_ bytes: Int) -> String {
    formatByteSize(bytes)
}

/// `22,074`: thousands separated for reading.
public func formatCount(_ count: Int) -> String {
    let digits = String(count)
    var out = ""
    for (index, character) in digits.reversed().enumerated() {
        if index > 0, index % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return String(out.reversed())
}
