import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// swa-bn-update and swa-eval on data folders as users download them (issue: CIFAR and
/// ImageFolder), run as a user runs them.
@Suite struct DataFolderCommandTests {
    static let images = TestSupport.fixtures + "/images"

    /// The BN update over an image folder through the command line equals update_bn through
    /// torchvision's ImageFolder, Resize(36), CenterCrop(32), ToTensor and Normalize.
    @Test func bnUpdateOverAnImageFolderMatchesUpdateBN() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let golden = try #require(ImageDataTests.goldenBN["folder"] as? [String: Any])
            let mean = (golden["mean"] as! [Double]).map { String($0) }.joined(separator: ",")
            let std = (golden["std"] as! [Double]).map { String($0) }.joined(separator: ",")
            let result = try ToolRunner.run("swa-bn-update", [Self.images + "/model.safetensors", "--data", Self.images + "/folder",
                                                              "--resize", "36", "--crop", "32", "--mean", mean, "--std", std,
                                                              "--batch-size", "4", "-o", folder + "/bn.safetensors.zst", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONValue.parse(result.stdout)
            #expect(report["samples"]?.unsignedIntegerValue == 15)
            let updated = try LoadedCheckpoint(path: folder + "/bn.safetensors.zst")
            for (key, values) in golden["running"] as! [String: [Double]] {
                let floats = try #require(updated.floats(key)).map(Double.init)
                #expect(TestSupport.allClose(floats, values, rtol: 1e-4, atol: 1e-6), "\(key)")
            }
        }
    }

    /// swa-eval reads the test split by default; CIFAR-10's ten classes do not fit a model of three.
    @Test func evaluationReadsTheTestSplitAndChecksTheClasses() throws {
        let result = try ToolRunner.run("swa-eval", [Self.images + "/model.safetensors", "--data", Self.images + "/cifar-10-batches-bin",
                                                     "--preprocess", "cifar10"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("swa-eval: \(Self.images)/cifar-10-batches-bin"), "\(result.stderr)")
        #expect(result.stderr.contains("label"), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)")
    }

    @Test func evaluationOfAnImageFolderWithAPreset() throws {
        let result = try ToolRunner.run("swa-eval", [Self.images + "/model.safetensors", "--data", Self.images + "/folder",
                                                     "--preprocess", "cifar10", "--resize", "36", "--crop", "32", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONValue.parse(result.stdout)
        #expect(report["data"]?["samples"]?.unsignedIntegerValue == 15)
        #expect(report["data"]?["normalization"]?["source"]?.stringValue == "flags")
        #expect(report["data"]?["normalization"]?["mean"]?.arrayValue?.compactMap(\.doubleValue) == [0.4914, 0.4822, 0.4465])
    }

    @Test func aFolderOfNeitherFormIsOneLineAndNoOutput() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
            try "x".write(toFile: folder + "/data/notes.txt", atomically: true, encoding: .utf8)
            let result = try ToolRunner.run("swa-bn-update", [Self.images + "/model.safetensors", "--data", folder + "/data",
                                                              "-o", folder + "/out.bin"])
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("swa-bn-update: \(folder)/data: no class folders"), "\(result.stderr)")
            #expect(TestSupport.contents(of: folder) == ["data"])
        }
    }
}
