import Foundation
import Testing
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// `swa-inspect --verify` (`CheckpointVerification`) and the non-finite report
/// (`NonFiniteValues`, `CheckpointInspection`): docs/RELIABILITY.md, "Integrity checks".
@Suite struct IntegrityTests {
    // MARK: - Counting NaN and Inf

    /// The bit-pattern count equals a naive one through Double, in every float dtype, whole
    /// or in pieces, with NaNs of any payload and both infinities.
    @Test(arguments: [DType.f64, .f32, .f16, .bf16])
    func nonFiniteCountMatchesANaiveScan(dtype: DType) throws {
        var generator = SeededGenerator(seed: 7)
        let count = 1_001
        var values = (0..<count).map { _ in Double.random(in: -70_000...70_000, using: &generator) }
        for (index, value) in [(3, Double.nan), (500, .infinity), (501, -.infinity), (999, -.nan)] { values[index] = value }
        var bytes = Self.encode(values, as: dtype)
        if dtype == .f32 {
            // A signalling NaN with another payload: still NaN.
            withUnsafeBytes(of: UInt32(0x7F80_0001).littleEndian) { for k in 0..<4 { bytes[700 * 4 + k] = $0[k] } }
        }
        let decoded = TestSupport.doubles(bytes, dtype: dtype)
        let naive = decoded.enumerated().filter { !$0.element.isFinite }
        var whole = NonFiniteValues()
        bytes.withUnsafeBytes { whole.scan($0.baseAddress!, dtype: dtype, count: count, firstElement: 0) }
        #expect(whole.count == naive.count)
        #expect(whole.nan == naive.filter { $0.element.isNaN }.count)
        #expect(whole.firstIndex == naive.first?.offset)
        // f16 overflows to inf beyond 65,504: more infinities than the four placed.
        #expect(whole.count >= (dtype == .f32 ? 5 : 4))
        var pieces = NonFiniteValues()
        bytes.withUnsafeBytes { raw in
            for start in stride(from: 0, to: count, by: 97) {
                let n = min(97, count - start)
                pieces.scan(raw.baseAddress! + start * dtype.byteSize, dtype: dtype, count: n, firstElement: start)
            }
        }
        #expect(pieces == whole)
    }

    @Test func integerTensorsHoldNoNonFiniteValues() {
        let bytes = [UInt8](repeating: 0xFF, count: 64)
        for dtype in [DType.i64, .i32, .i16, .i8, .u8, .bool] {
            var values = NonFiniteValues()
            bytes.withUnsafeBytes { values.scan($0.baseAddress!, dtype: dtype, count: 64 / dtype.byteSize, firstElement: 0) }
            #expect(values.count == 0)
        }
    }

    static func encode(_ values: [Double], as dtype: DType) -> [UInt8] {
        values.flatMap { value -> [UInt8] in
            switch dtype {
            case .f64: withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
            case .f32: withUnsafeBytes(of: Float(value).bitPattern.littleEndian, Array.init)
            case .f16: withUnsafeBytes(of: float16Bits(rounding: value).littleEndian, Array.init)
            default: withUnsafeBytes(of: bfloat16Bits(rounding: value).littleEndian, Array.init)
            }
        }
    }

    // MARK: - swa-inspect reports them

    @Test func inspectionCountsNonFiniteValuesPerTensor() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let payload = matrix.payload(setting: [("block.conv1.weight", 37, .nan), ("block.conv1.weight", 40, .infinity), ("head.4.weight", 7, -.infinity)])
            let path = try TestSupport.write(try BaseInputs.compressed(payload), to: folder, name: "nan.bin")
            let info = try CheckpointInspection.inspect(path: path)
            #expect(info.nonFiniteTensors == 2)
            #expect(info.nonFiniteElements == 3)
            let conv = try #require(info.tensors.first { $0.name == "block.conv1.weight" }?.nonFinite)
            #expect(conv == { var v = NonFiniteValues(); v.count = 2; v.nan = 1; v.firstIndex = 37; return v }())
            #expect(info.tensors.first { $0.name == "head.4.weight" }?.nonFinite?.firstIndex == 7)
            #expect(info.tensors.filter { $0.nonFinite != nil }.count == 2)
            let clean = try CheckpointInspection.inspect(path: matrix.base.zstd)
            #expect(clean.nonFiniteTensors == 0 && clean.tensors.allSatisfy { $0.nonFinite == nil })
        }
    }

    @Test func inspectPrintsAndEncodesTheReportAndExitsZero() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let path = try TestSupport.write(matrix.payload(setting: [("head.0.bias", 5, .nan)]), to: folder, name: "nan.safetensors")
            let text = try ToolRunner.run("swa-inspect", [path])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("1 non-finite (1 NaN, 0 inf), first at element 5"))
            #expect(text.stdout.contains("non-finite values: 1 in 1 tensor (marked !)"))
            let json = try ToolRunner.run("swa-inspect", [path, "--json"])
            let report = try JSONValue.parse(json.stdout)
            #expect(report["non_finite_tensors"]?.unsignedIntegerValue == 1)
            #expect(report["non_finite_elements"]?.unsignedIntegerValue == 1)
            let tensor = try #require(report["tensors"]?.arrayValue?.first { $0["name"]?.stringValue == "head.0.bias" })
            #expect(tensor["non_finite"]?["count"]?.unsignedIntegerValue == 1)
            #expect(tensor["non_finite"]?["nan"]?.unsignedIntegerValue == 1)
            #expect(tensor["non_finite"]?["first_index"]?.unsignedIntegerValue == 5)
            let clean = try JSONValue.parse(try ToolRunner.run("swa-inspect", [matrix.base.plain, "--json"]).stdout)
            #expect(clean["non_finite_tensors"]?.unsignedIntegerValue == 0)
            #expect(clean["tensors"]?.arrayValue?.allSatisfy { $0["non_finite"] == nil } == true)
        }
    }

    // MARK: - Weights are refused where they would be computed with

    @Test func bindingAndConversionRefuseNonFiniteWeightsNamingTheTensor() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let path = try TestSupport.write(matrix.payload(setting: [("stem.1.running_var", 2, -.infinity)]), to: folder, name: "inf.safetensors")
            let bind = TestSupport.errorDescription { _ = try LoadedModel(path: path, source: .metadata) }
            #expect(bind == "\(path): tensor 'stem.1.running_var' holds 1 non-finite (0 NaN, 1 inf), first at element 2; see swa-inspect")
            let convert = TestSupport.errorDescription { _ = try ConversionJob.run(ConversionRequest(input: path, destination: folder + "/out.bin")) }
            #expect(convert == "\(path): tensor 'stem.1.running_var' holds NaN or Inf (first at element 2); see swa-inspect")
            #expect(!FileManager.default.fileExists(atPath: folder + "/out.bin"))
        }
    }

    // MARK: - --verify

    @Test func verifyPassesGoodFilesOfEveryFormat() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let zstd = try CheckpointVerification.verify(path: matrix.base.zstd)
            let frames = try matrix.base.zstdFrames()
            #expect(zstd.files.count == 1)
            // The header's frame, then frames of 16 KiB of tensor data.
            #expect(zstd.files[0].frames == frames.count && frames.count == 1 + (matrix.base.header.dataByteCount + BaseInputs.frameByteCount - 1) / BaseInputs.frameByteCount)
            #expect(zstd.files[0].seekTableFrames == frames.count && zstd.files[0].skippableFrames == 1 && zstd.files[0].framesWithoutChecksum == 0)
            #expect(zstd.tensors == 27 && zstd.dataBytes == matrix.base.header.dataByteCount && zstd.nonFiniteTensors == 0)
            let plain = try CheckpointVerification.verify(path: matrix.base.plain)
            #expect(plain.container == "safetensors" && plain.files[0].frames == 0 && plain.files[0].seekTableFrames == nil)
            // zstd -19 of the payload: one frame without a seek table, with a checksum.
            let single = try TestSupport.write(try BaseInputs.compressed(matrix.base.payload), to: folder, name: "single.zst")
            let one = try CheckpointVerification.verify(path: single)
            #expect(one.files[0].frames == 1 && one.files[0].seekTableFrames == nil)
            let hf = try CheckpointVerification.verify(path: TestSupport.fixtures + "/hf/output/checkpoint-10")
            #expect(hf.files.count == 2 && hf.container == "safetensorsIndex")
            let pt = try CheckpointVerification.verify(path: TestSupport.fixtures + "/pytorch/run/epoch-018.pt")
            #expect(pt.container == "pytorchZip" && pt.tensors == 27)
        }
    }

    /// A flipped bit in frame k is reported as frame k, with the first tensor whose bytes it
    /// holds, worked out here from the seek table's sizes and the header's offsets.
    @Test func verifyNamesTheFrameAndTheFirstTensorInIt() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let bytes = try TestSupport.bytes(of: matrix.base.zstd)
            let frames = try matrix.base.zstdFrames()
            let table = try #require(try SeekTable.read(from: InputFile(path: matrix.base.zstd)))
            let dataStart = 8 + matrix.base.header.jsonByteCount
            var payloadStart = 0
            for (index, frame) in frames.enumerated() {
                defer { payloadStart += table.entries[index].decompressedByteCount }
                let path = try TestSupport.write(BadInputMatrix.flipping(bytes, at: frame.offset + frame.size / 2, bit: 3), to: folder, name: "flip-\(index).bin")
                let message = try #require(TestSupport.errorDescription { _ = try CheckpointVerification.verify(path: path) })
                #expect(message.hasPrefix("\(path): zstd frame \(index + 1) (at byte \(frame.offset) of the file)"), "\(message)")
                if payloadStart < dataStart {
                    #expect(message.contains("which holds the safetensors header"), "\(message)")
                } else {
                    let tensor = try #require(matrix.base.header.tensors.first { $0.dataOffsets.upperBound > payloadStart - dataStart })
                    #expect(message.contains("first tensor in it '\(tensor.name)'"), "\(message)")
                }
                // Every reader refuses it too.
                #expect(TestSupport.errorDescription { _ = try LoadedCheckpoint(path: path) } != nil)
            }
        }
    }

    /// The seek table lives in a skippable frame: readers never look at it, so a flipped bit
    /// there changes nothing they read, and --verify compares every field with the frames.
    @Test func seekTableFlipsLeaveReadsUnchangedAndVerifyFindsThem() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let bytes = try TestSupport.bytes(of: matrix.base.zstd)
            let frames = try matrix.base.zstdFrames()
            let tableStart = bytes.count - (8 + frames.count * 8 + 9)
            let original = try LoadedCheckpoint(path: matrix.base.zstd)
            let table = try #require(try SeekTable.read(from: InputFile(path: matrix.base.zstd)))
            let last = table.entries.count - 1, lastSize = table.entries[last].decompressedByteCount
            let cases: [(Int, Int, String?)] = [
                // Sizes that no longer add up to the file: SeekTable.read's own check.
                (tableStart + 8, 2, "corrupt seek table: it describes \(bytes.count + (frames[0].size ^ 4) - frames[0].size) bytes, the file has \(bytes.count)"),
                (tableStart + 8 + last * 8 + 4, 0, "corrupt seek table: entry \(last + 1) says \(lastSize ^ 1) decompressed bytes, frame \(last + 1) gives \(lastSize)"),
                (bytes.count - 9, 1, "corrupt seek table: "),
                (bytes.count - 5, 4, "corrupt seek table: reserved bits of its descriptor are set (0x10)"),
                (bytes.count - 1, 0, "corrupt seek table: the file ends with a seek table frame whose footer magic is not 0x8F92EAB1"),
                (tableStart, 1, "corrupt seek table: the file ends with the seek table footer but not inside a skippable frame of magic 0x184D2A5E"),
                (bytes.count - 5, 0, nil),  // an unused bit: the format leaves it free
            ]
            for (offset, bit, expected) in cases {
                let path = try TestSupport.write(BadInputMatrix.flipping(bytes, at: offset, bit: bit), to: folder, name: "table-\(offset)-\(bit).bin")
                let read = try LoadedCheckpoint(path: path)
                #expect(read.header.tensors == original.header.tensors && read.tensors == original.tensors && read.header.metadata == original.header.metadata)
                let message = TestSupport.errorDescription { _ = try CheckpointVerification.verify(path: path) }
                if let expected {
                    #expect(message?.hasPrefix("\(path): \(expected)") == true, "\(message ?? "passed")")
                } else {
                    #expect(message == nil, "\(message ?? "")")
                }
            }
        }
    }

    @Test func verifyCommandPrintsOneLine() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let matrix = try BadInputMatrix(folder: folder)
            let good = try ToolRunner.run("swa-inspect", [matrix.base.zstd, "--verify"])
            #expect(good.status == 0, "\(good.stderr)")
            let frames = try matrix.base.zstdFrames().count
            #expect(good.stdout == "\(matrix.base.zstd): OK: zstd-compressed safetensors, \(frames) zstd frames (every checksum verified), seek table matches \(frames) frames, "
                    + "27 tensors laid out exactly, \(TestSupport.formatted(matrix.base.header.dataByteCount)) bytes of tensor data decoded\n")
            let plain = try ToolRunner.run("swa-inspect", [matrix.base.plain, "--verify"])
            #expect(plain.stdout.contains("OK: safetensors, no checksums in plain safetensors (layout checked only), 27 tensors"), "\(plain.stdout)")
            let bytes = try TestSupport.bytes(of: matrix.base.zstd)
            let path = try TestSupport.write(Array(bytes.dropLast(bytes.count - 100)), to: folder, name: "cut.bin")
            let cut = try ToolRunner.run("swa-inspect", [path, "--verify"])
            #expect(cut.status == 1)
            #expect(cut.stderr == "swa-inspect: \(path): zstd frame 1 (at byte 0 of the file), which holds the safetensors header: the file ends inside it\n")
            #expect(cut.stdout.isEmpty)
        }
    }
}

extension TestSupport {
    /// `84,096`: as the tools print counts.
    static func formatted(_ count: Int) -> String {
        let digits = Array(String(count))
        return String(digits.enumerated().flatMap { index, digit in
            index > 0 && (digits.count - index) % 3 == 0 ? [",", digit] : [digit]
        })
    }
}
