import Foundation
import SWAFuzzTargets

// The libFuzzer harness: one executable, the parser chosen by SWA_FUZZ_TARGET (libFuzzer owns
// the command line). Built only by `make fuzz` (scripts/fuzz.sh), with
// `-sanitize=fuzzer,address -D SWA_FUZZ`; a plain `swift build` compiles the stub below instead,
// so the normal build never links libFuzzer.

#if SWA_FUZZ

/// The target of this process and its scratch folder, set once by `LLVMFuzzerInitialize`
/// before libFuzzer calls `LLVMFuzzerTestOneInput` on its one thread.
nonisolated(unsafe) private var selected: (target: FuzzTarget, scratch: FuzzScratch)?

/// Reads SWA_FUZZ_TARGET and makes the scratch folder (removed at exit).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
    guard let name = ProcessInfo.processInfo.environment["SWA_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("swa-fuzz: set SWA_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    do {
        selected = (target, try FuzzScratch())
    } catch {
        FileHandle.standardError.write(Data("swa-fuzz: \(error)\n".utf8))
        exit(1)
    }
    atexit { selected?.scratch.remove() }
    return 0
}

/// One input: anything but success or an SWAError naming the file stops the run as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let (target, scratch) = selected else { return 0 }
    let bytes = count == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: count))
    if case .violation(let what) = FuzzOutcome.check(target, bytes, scratch: scratch) {
        fatalError("swa-fuzz \(target.rawValue): \(what)")
    }
    return 0
}

#else

/// Without libFuzzer: say how to build the real harness.
@main
struct SWAFuzzStub {
    static func main() {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
        FileHandle.standardError.write(Data("""
            swa-fuzz: this build has no fuzzer; run `make fuzz` (FUZZ_SECONDS, FUZZ_TARGETS) to build
            it with -sanitize=fuzzer,address -D SWA_FUZZ and run the targets: \(names)

            """.utf8))
        exit(2)
    }
}

#endif
