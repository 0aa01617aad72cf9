import Foundation
import Testing
@testable import SWACommandLine
@testable import SWAFormats

/// The registry of unfinished outputs and the command-line cleanup that empties it after a
/// signal. Each test uses a registry of its own: emptying the shared one would remove the
/// outputs of tests running beside it.
@Suite struct TemporaryFileCleanupTests {
    /// More files than the old fixed table of 64 held.
    static let fileCount = 200

    /// `count` unfinished outputs in `folder`, each with a few bytes written, listed in `registry`.
    private func openOutputs(_ count: Int, in folder: String, registry: TemporaryFileRegistry) throws -> [AtomicOutputFile] {
        try (0..<count).map { index in
            let output = try AtomicOutputFile(destination: "\(folder)/out-\(index).bin", overwrite: false, registry: registry,
                                            allowUnnamed: false)
            try [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 16).withUnsafeBytes { try output.write($0) }
            return output
        }
    }

    private func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".out-") && name.contains(".bin.swa-tmp-")
    }

    @Test func removeAllRemovesEveryRegisteredFileWhateverTheirNumber() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let registry = TemporaryFileRegistry()
            let outputs = try openOutputs(Self.fileCount, in: folder, registry: registry)
            #expect(registry.count == Self.fileCount)
            let names = TestSupport.contents(of: folder)
            #expect(names.count == Self.fileCount && names.allSatisfy(isTemporaryName))

            #expect(registry.removeAll() == Self.fileCount)
            #expect(TestSupport.contents(of: folder).isEmpty)
            #expect(registry.count == 0)

            // A writer whose file was removed under it cannot commit, and nothing appears.
            #expect(throws: SWAError.self) { try outputs[0].commit() }
            for output in outputs { output.discard() }
            #expect(TestSupport.contents(of: folder).isEmpty)
        }
    }

    @Test func finishedAndDiscardedOutputsLeaveTheRegistry() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let registry = TemporaryFileRegistry()
            let outputs = try openOutputs(3, in: folder, registry: registry)
            try outputs[0].commit()
            outputs[1].discard()
            #expect(registry.count == 1)
            #expect(registry.removeAll() == 1)
            // The committed output is the only file left; removeAll never touches finished files.
            #expect(TestSupport.contents(of: folder) == ["out-0.bin"])
        }
    }

    @Test("The command-line cleanup removes every file, then exits with 128 + the signal",
          arguments: [SIGINT, SIGTERM, SIGHUP])
    func signalCleanupRemovesFilesBeforeFinishing(signal: Int32) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let registry = TemporaryFileRegistry()
            let outputs = try openOutputs(Self.fileCount, in: folder, registry: registry)
            // `finish` stands in for `_exit`: it sees the folder as the exiting process would.
            let (status, leftAtExit) = SignalCleanup.cleanUp(after: signal, registry: registry) { status in
                (status, TestSupport.contents(of: folder))
            }
            #expect(status == 128 + signal)
            #expect(leftAtExit.isEmpty)
            #expect(registry.count == 0)
            withExtendedLifetime(outputs) {}
        }
    }

    @Test func exitStatusesAreTheShellConvention() {
        #expect(SignalCleanup.exitStatus(after: SIGINT) == 130)
        #expect(SignalCleanup.exitStatus(after: SIGTERM) == 143)
        #expect(SignalCleanup.exitStatus(after: SIGHUP) == 129)
    }

    // MARK: - No process-wide signal state in the library

    /// The library layers; only SWACommandLine may decide what a signal does to the process.
    static let libraryModules = ["SWAFormats", "SWAData", "SWAEngine", "SWAKit"]

    @Test func theLibraryInstallsNoSignalHandler() throws {
        let calls = try NSRegularExpression(pattern: #"(?<![A-Za-z0-9_.])(signal|sigaction|sigwait|pthread_sigmask)\s*\("#)
        var swiftFiles = 0
        for module in Self.libraryModules {
            let root = TestSupport.root + "/Sources/" + module
            let enumerator = try #require(FileManager.default.enumerator(atPath: root))
            for case let file as String in enumerator where file.hasSuffix(".swift") {
                swiftFiles += 1
                let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
                let range = NSRange(text.startIndex..., in: text)
                for match in calls.matches(in: text, range: range) {
                    let line = text[..<Range(match.range, in: text)!.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).count
                    Issue.record("Sources/\(module)/\(file):\(line) calls \((text as NSString).substring(with: match.range(at: 1)))(")
                }
            }
        }
        #expect(swiftFiles > 20, "the source folders were not found under \(TestSupport.root)")
    }
}
