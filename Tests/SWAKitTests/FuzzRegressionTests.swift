import Foundation
import SWAFuzzTargets
import Testing

/// The fuzz targets (docs/RELIABILITY.md, "Fuzzing") replayed in the normal test suite, through
/// the same `FuzzTarget.run` the libFuzzer harness calls: every committed seed is accepted, and
/// every regression input (a crash the fuzzer once found, or a hand-made hostile input such as a
/// header claiming 2^40 elements) is refused with one `SWAError` naming the file, without
/// trapping or allocating what it claims.
@Suite struct FuzzRegressionTests {
    static let fuzzFolder = TestSupport.root + "/Tests/Fuzz"

    /// The files of `Tests/Fuzz/KIND/TARGET/`, sorted; empty if there is no such folder.
    static func inputs(_ kind: String, _ target: FuzzTarget) -> [String] {
        let folder = "\(fuzzFolder)/\(kind)/\(target.rawValue)"
        return TestSupport.contents(of: folder).map { folder + "/" + $0 }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func everyTargetHasSeeds() {
        for target in FuzzTarget.allCases {
            #expect(!Self.inputs("corpus", target).isEmpty, "no seeds for \(target.rawValue)")
        }
    }

    /// Seeds are real files the parsers accept (those named `refused-*` are valid files of a kind
    /// we refuse, e.g. a Fortran-order array), so the fuzzer starts deep inside each parser.
    @Test(arguments: FuzzTarget.allCases)
    func seedsAreAccepted(_ target: FuzzTarget) throws {
        let scratch = try FuzzScratch()
        defer { scratch.remove() }
        for seed in Self.inputs("corpus", target) {
            let outcome = FuzzOutcome.check(target, try Self.bytes(seed), scratch: scratch)
            let name = (seed as NSString).lastPathComponent
            if name.hasPrefix("refused-") {
                guard case .refused(let message) = outcome else {
                    Issue.record("\(target.rawValue)/\(name): expected a refusal, got \(outcome)")
                    continue
                }
                #expect(message.hasPrefix(scratch.folder), "\(name): \(message)")
            } else {
                #expect(outcome == .accepted, "\(target.rawValue)/\(name)")
            }
        }
    }

    /// Every input the fuzzer crashed on, and every crafted hostile input, is refused cleanly
    /// with the file named first (or, for `*accepted-*` inputs that are valid, accepted).
    @Test(arguments: FuzzTarget.allCases)
    func regressionsAreRefusedCleanly(_ target: FuzzTarget) throws {
        let scratch = try FuzzScratch()
        defer { scratch.remove() }
        for input in Self.inputs("regressions", target) {
            let name = (input as NSString).lastPathComponent
            let outcome = FuzzOutcome.check(target, try Self.bytes(input), scratch: scratch)
            if name.contains("accepted-") {
                #expect(outcome == .accepted, "\(target.rawValue)/\(name)")
                continue
            }
            guard case .refused(let message) = outcome else {
                Issue.record("\(target.rawValue)/\(name): expected a refusal naming the file, got \(outcome)")
                continue
            }
            #expect(message.hasPrefix(scratch.folder), "\(target.rawValue)/\(name): \(message)")
            #expect(!message.contains("\n"), "\(target.rawValue)/\(name): more than one line")
        }
    }

    /// A header claiming 2^40 float32 elements (4 TiB) in a 112-byte file is refused as truncated,
    /// not allocated: the message states both sizes.
    @Test func headerClaimingTebibytesIsRefusedBeforeAllocating() throws {
        let scratch = try FuzzScratch()
        defer { scratch.remove() }
        let input = "\(Self.fuzzFolder)/regressions/safetensors-header/crafted-2e40-elements.safetensors"
        let outcome = FuzzOutcome.check(.safetensorsHeader, try Self.bytes(input), scratch: scratch)
        guard case .refused(let message) = outcome else { Issue.record("got \(outcome)"); return }
        #expect(message.contains("4398046511104"), "\(message)")
    }

    /// Found by `make fuzz` (png, a libFuzzer timeout): 281 bytes declaring 3,145,768×40 RGB
    /// pixels had the decoder zero-fill 500 MB before libspng noticed the missing data. Deflate
    /// expands at most 1032:1, so the header alone shows the file cannot hold them.
    @Test func pngDeclaringMorePixelsThanItsFileCanHoldIsRefusedBeforeDecoding() throws {
        let scratch = try FuzzScratch()
        defer { scratch.remove() }
        let input = "\(Self.fuzzFolder)/regressions/png/timeout-5926cdee56dbf0cec1fe671d182239cc52b2062b"
        let outcome = FuzzOutcome.check(.png, try Self.bytes(input), scratch: scratch)
        #expect(outcome == .refused("\(scratch.name): PNG of 3145768×40 pixels needs 377492200 bytes of image data; its 281 bytes cannot hold them (truncated or corrupt)"))
    }

    /// An in-memory input is named by the scratch file in errors, as a file the user gave would be.
    @Test func inMemoryRefusalsNameTheInput() throws {
        let scratch = try FuzzScratch()
        defer { scratch.remove() }
        #expect(FuzzOutcome.check(.png, Array("not an image".utf8), scratch: scratch)
            == .refused("\(scratch.name): not a JPEG or PNG image"))
    }
}
