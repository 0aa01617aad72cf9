import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// Values that fit the inputs' dtype but not the output's are an error, never a silent ±inf.
@Suite struct OutputRangeTests {
    @Test func encodingBeyondTheOutputRangeIsReported() {
        for (dtype, limit) in [(DType.f16, 65504.0), (.bf16, 3.3895313892515355e38), (.f32, Double(Float.greatestFiniteMagnitude))] {
            var out = [UInt8](repeating: 0, count: 2 * dtype.byteSize)
            let fits = [limit, -limit].withUnsafeBufferPointer { acc in
                out.withUnsafeMutableBytes { encodeAverage(acc.baseAddress!, count: 2, divisor: 1, as: dtype, into: $0.baseAddress!) }
            }
            #expect(fits, "\(dtype) largest finite")
            let overflows = [1.0, limit * 2].withUnsafeBufferPointer { acc in
                out.withUnsafeMutableBytes { encodeAverage(acc.baseAddress!, count: 2, divisor: 1, as: dtype, into: $0.baseAddress!) }
            }
            #expect(!overflows, "\(dtype) twice the largest")
        }
    }

    @Test(arguments: [(BufferPolicy.average, "the average overflows F16"),
                      (.last, "a value copied from the last input overflows F16")])
    func averagingToF16NamesTheTensor(_ buffers: BufferPolicy, _ message: String) throws {
        try TestSupport.withTemporaryDirectory { folder in
            var inputs: [String] = []
            for (index, value) in [Float(70000), Float(90000)].enumerated() {
                let path = folder + "/ckpt-\(index).safetensors"
                let bytes = { (values: [Float]) in values.withUnsafeBytes { Array($0) } }
                try CheckpointWriter.write([(TensorSpec(name: "weight", dtype: .f32, shape: [2]), bytes([1, 2])),
                                            (TensorSpec(name: "bn.running_var", dtype: .f32, shape: [1]), bytes([value]))],
                                           metadata: [:], to: path, overwrite: false)
                inputs.append(path)
            }
            let entries = try discoverCheckpoints(inputs).entries
            let request = AveragingRequest(inputs: entries, method: .weighted([1, 1]), buffers: buffers, outputDType: .convert(.f16),
                                           destination: folder + "/out.bin")
            let error = try #require(throws: SWAError.self) { try StreamingAverager(request: request).run() }
            #expect(error.description == "\(folder)/out.bin: tensor 'bn.running_var': \(message)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/out.bin"))
        }
    }

    @Test func detectionPrefersSafetensorsToAPickleLookalike() {
        // A header of 640 bytes: the length field starts 0x80 0x02, a pickle's first two bytes.
        var prefix: [UInt8] = [0x80, 0x02, 0, 0, 0, 0, 0, 0]
        prefix += Array("{\"t\":{}}".utf8)
        #expect(FileFormat.detect(prefix: prefix, fileSize: 8 + 640) == .safetensors)
        #expect(FileFormat.detect(prefix: [0x80, 0x02, 0x8A, 0x0A], fileSize: 4) == .pickle)
    }
}

/// Outputs get the permissions of any new file (0666 less the umask), not mkstemp's 0600.
@Suite struct OutputPermissionTests {
    @Test func committedOutputsFollowTheUmask() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try AtomicOutputFile.writeText("k\n", to: folder + "/out.csv")
            var status = stat()
            #expect(stat(folder + "/out.csv", &status) == 0)
            let mask = umask(0o022)
            umask(mask)
            #expect(status.st_mode & 0o777 == 0o666 & ~mask)
            #expect(processUmask == mask)
        }
    }
}
