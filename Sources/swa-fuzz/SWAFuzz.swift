import CLibFuzzer
import Foundation
import SWAFuzzTargets

/// The libFuzzer harness: one executable, the parser chosen by `SWA_FUZZ_TARGET` (libFuzzer owns
/// the command line: flags, corpus folders, or inputs to replay).
///
/// Built only by `make fuzz` (scripts/fuzz.sh), with `-D SWA_FUZZ`, ASan and libFuzzer's coverage
/// instrumentation, and linked against `libclang_rt.fuzzer_no_main`: SwiftPM renames an executable's
/// `main` to the module's entry point, so the harness keeps its own `@main` and hands control to
/// `LLVMFuzzerRunDriver` rather than linking libFuzzer's `main`. A plain `swift build` compiles a
/// stub that says how to build the real harness.
@main
struct SWAFuzz {
    static func main() {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
        #if SWA_FUZZ
        guard let name = ProcessInfo.processInfo.environment["SWA_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
            fail("set SWA_FUZZ_TARGET to one of: \(names)", status: 2)
        }
        do {
            harness = (target, try FuzzScratch())
        } catch {
            fail("\(error)", status: 1)
        }
        // libFuzzer leaves through exit(), never returning here: remove the scratch folder then.
        atexit { harness?.scratch.remove() }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
        #else
        fail("""
            this build has no fuzzer; `make fuzz` (FUZZ_SECONDS, FUZZ_TARGETS) builds it with libFuzzer \
            and AddressSanitizer and runs the targets: \(names)
            """, status: 2)
        #endif
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("swa-fuzz: \(message)\n".utf8))
        exit(status)
    }
}

#if SWA_FUZZ
/// The target of this process and its scratch folder, set once before libFuzzer starts calling
/// `testOneInput` on its one thread.
nonisolated(unsafe) private var harness: (target: FuzzTarget, scratch: FuzzScratch)?

/// One input: anything but success or an `SWAError` naming the file stops the run as a crash,
/// with the input saved by libFuzzer.
private func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let (target, scratch) = harness else { return 0 }
    let bytes = count == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: count))
    if case .violation(let what) = FuzzOutcome.check(target, bytes, scratch: scratch) {
        fatalError("swa-fuzz \(target.rawValue): \(what)")
    }
    return 0
}
#endif
