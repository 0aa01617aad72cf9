import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit

/// Image folders and CIFAR folders against PIL, torchvision and PyTorch's update_bn
/// (fixtures/make_image_fixtures.py).
@Suite struct ImageDataTests {
    static let images = TestSupport.fixtures + "/images"
    static let folder = images + "/folder"

    /// A whole array of `fixtures/images/golden.npz` as raw bytes, with its shape.
    static func golden(_ key: String) throws -> (shape: [Int], bytes: [UInt8]) {
        let archive = try NpzArchive(path: images + "/golden.npz")
        let info = try archive.info(of: key)
        var bytes: [UInt8] = []
        try archive.streamElements(of: key) { chunk in
            bytes += chunk
            return .more
        }
        return (info.shape, bytes)
    }

    static func int64s(_ bytes: [UInt8]) -> [Int64] {
        stride(from: 0, to: bytes.count, by: 8).map { offset in
            bytes[offset..<offset + 8].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
    }

    nonisolated(unsafe) static let goldenBN: [String: Any] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: images + "/golden_bn.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    // MARK: - Image folders

    @Test func folderIsListedAndLabelledAsTorchvisionDoes() throws {
        let archive = try ImageFolderArchive(path: Self.folder, pipeline: ImagePipeline())
        #expect(archive.classes == Self.goldenBN["classes"] as? [String])
        let relative = archive.samples.map { String($0.file.dropFirst(Self.folder.count + 1)) }
        #expect(relative == Self.goldenBN["files"] as? [String])
        #expect(archive.samples.map { Int64($0.label) } == Self.int64s(try Self.golden("folder_y").bytes))
    }

    /// Every kind of file in the folder: baseline, 4:4:4, progressive, grayscale and CMYK JPEG;
    /// RGB, palette, RGBA, gray and gray+alpha PNG.
    @Test func decodingEqualsPILConvertRGB() throws {
        let archive = try ImageFolderArchive(path: Self.folder, pipeline: ImagePipeline())
        let decoder = ImageDecoder()
        for (index, sample) in archive.samples.enumerated() {
            let image = try decoder.decode(path: sample.file)
            let expected = try Self.golden("decoded_\(index)")
            #expect([image.height, image.width, 3] == expected.shape, "\(sample.file)")
            #expect(image.pixels == expected.bytes, "\(sample.file)")
        }
    }

    /// Down and up, one axis or both, to a single pixel: within one level of PIL's
    /// `resize(BILINEAR)` everywhere, and byte for byte in most images (docs/DATA.md: Pillow 13
    /// sometimes runs the vertical pass first, which moves a rounding by one level).
    @Test func bilinearResizeIsWithinOneLevelOfPIL() throws {
        let archive = try ImageFolderArchive(path: Self.folder, pipeline: ImagePipeline())
        let decoder = ImageDecoder()
        var identical = 0, total = 0
        for (index, sample) in archive.samples.enumerated() {
            let image = try decoder.decode(path: sample.file)
            for (width, height) in [(17, 23), (64, 50), (40, 13), (1, 5)] {
                let expected = try Self.golden("resize_\(index)_\(width)x\(height)")
                let resized = BilinearResize.resize(image, width: width, height: height)
                #expect(resized.pixels.count == expected.bytes.count)
                let largest = zip(resized.pixels, expected.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 0
                #expect(largest <= 1, "\(sample.file) to \(width)x\(height): off by \(largest)")
                identical += resized.pixels == expected.bytes ? 1 : 0
                total += 1
            }
        }
        #expect(identical * 2 > total, "\(identical) of \(total) resizes identical")
    }

    /// torchvision's Resize(36) + CenterCrop(32) + PILToTensor, streamed as the array x.
    @Test func pipelineStreamEqualsTorchvision() throws {
        let archive = try ImageFolderArchive(path: Self.folder, pipeline: ImagePipeline(resize: 36, centerCrop: 32))
        #expect(try archive.info(of: "x").shape == [15, 3, 32, 32])
        var streamed: [UInt8] = []
        try archive.streamElements(of: "x") { chunk in
            streamed += chunk
            return .more
        }
        var expected: [UInt8] = []
        for index in 0..<15 { expected += try Self.golden("pipeline_\(index)").bytes }
        #expect(streamed == expected)
    }

    @Test func bnStatisticsOverTheFolderMatchUpdateBN() throws {
        let folderGolden = try #require(Self.goldenBN["folder"] as? [String: Any])
        let preprocessing = Preprocessing(layout: .nchw, mean: folderGolden["mean"] as! [Double], std: folderGolden["std"] as! [Double])
        let data = try DataSet(path: Self.folder, preprocessing: preprocessing,
                               folder: DataFolderOptions(imagePipeline: ImagePipeline(resize: 36, centerCrop: 32)))
        try Self.expectStatistics(data: data, golden: folderGolden)
    }

    static func expectStatistics(data: DataSet, golden: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let checkpoint = try LoadedCheckpoint(path: images + "/model.safetensors")
        let parameters = try ModelParameters(graph: try ModelSource.metadata.graph(for: checkpoint), checkpoint: checkpoint)
        let result = try BatchNormUpdate(parameters: parameters, weighting: .batch).run(data: data, batchSize: golden["batch_size"] as! Int)
        let running = golden["running"] as! [String: [Double]]
        #expect(Set(result.statistics.keys) == Set(running.keys), sourceLocation: sourceLocation)
        for (key, values) in result.statistics {
            #expect(TestSupport.allClose(values.map(Double.init), running[key] ?? [], rtol: 1e-4, atol: 1e-6), "\(key)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Errors

    @Test func aFolderOfNeitherFormIsOneClearLine() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try "x".write(toFile: folder + "/notes.txt", atomically: true, encoding: .utf8)
            let message = TestSupport.errorDescription { _ = try DataSet(path: folder, preprocessing: nil) }
            #expect(message?.contains("no class folders") == true, "\(message ?? "")")
            #expect(message?.hasPrefix(folder) == true, "\(message ?? "")")
        }
    }

    @Test func anEmptyClassFolderIsNamed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try FileManager.default.createDirectory(atPath: folder + "/cats", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: folder + "/dogs", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.folder + "/flower/a_rgb.png", toPath: folder + "/cats/1.png")
            let message = TestSupport.errorDescription { _ = try DataSet(path: folder, preprocessing: nil) }
            #expect(message == "\(folder)/dogs: class folder 'dogs' holds no .jpg, .jpeg or .png images", "\(message ?? "")")
        }
    }

    @Test func anImageThatDoesNotDecodeIsNamedOrSkipped() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try FileManager.default.createDirectory(atPath: folder + "/a", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.folder + "/flower/a_rgb.png", toPath: folder + "/a/1.png")
            let jpeg = try TestSupport.bytes(of: Self.folder + "/china/a_baseline.jpg")
            try TestSupport.write(Array(jpeg.prefix(jpeg.count / 2)), to: folder + "/a", name: "2.jpg")
            try TestSupport.write(Array("not an image".utf8), to: folder + "/a", name: "3.png")
            let options = DataFolderOptions(imagePipeline: ImagePipeline(resize: 36, centerCrop: 32))
            let data = try DataSet(path: folder, preprocessing: nil, folder: options)
            let message = TestSupport.errorDescription { try data.forEachBatch(size: 4) { _ in } }
            #expect(message?.hasPrefix("\(folder)/a/2.jpg: JPEG does not decode") == true, "\(message ?? "")")

            var skipping = options
            skipping.skipBad = true
            let archive = try ImageFolderArchive(path: folder, pipeline: skipping.imagePipeline, skipBad: true)
            #expect(archive.samples.map(\.file) == [folder + "/a/1.png"])
            #expect(archive.skipped == [folder + "/a/2.jpg", folder + "/a/3.png"])
        }
    }

    /// A shard of a pass decodes only its own images: with the folder's first image broken, the
    /// batches from the second on still come, equal to the whole pass's over the intact folder.
    @Test func aShardOfAFolderDecodesOnlyItsImages() throws {
        try TestSupport.withTemporaryDirectory { folder in
            try FileManager.default.removeItem(atPath: folder)
            try FileManager.default.copyItem(atPath: Self.folder, toPath: folder)
            let options = DataFolderOptions(imagePipeline: ImagePipeline(resize: 36, centerCrop: 32))
            let intact = try DataSet(path: Self.folder, preprocessing: nil, folder: options)
            let firstImage = try #require((try ImageFolderArchive(path: folder, pipeline: options.imagePipeline)).samples.first?.file)
            try TestSupport.write(Array("not an image".utf8), to: (firstImage as NSString).deletingLastPathComponent,
                                  name: (firstImage as NSString).lastPathComponent)
            let broken = try DataSet(path: folder, preprocessing: nil, folder: options)

            var expected: [(Int, [Float], [Int64]?)] = []
            try intact.forEachBatch(size: 4) { batch in
                if batch.firstIndex >= 4 { expected.append((batch.firstIndex, batch.x, batch.y)) }
            }
            var shard: [(Int, [Float], [Int64]?)] = []
            try broken.forEachBatch(size: 4, samples: 3..<broken.sampleCount) { batch in shard.append((batch.firstIndex, batch.x, batch.y)) }
            #expect(!expected.isEmpty)
            #expect(shard.map(\.0) == expected.map(\.0))
            #expect(shard.map(\.1) == expected.map(\.1))
            #expect(shard.map(\.2) == expected.map(\.2))
            let whole = TestSupport.errorDescription { try broken.forEachBatch(size: 4) { _ in } }
            #expect(whole?.hasPrefix(firstImage) == true, "\(whole ?? "")")
        }
    }

    // MARK: - CIFAR

    @Test(arguments: ["cifar-10-batches-bin", "cifar-10-batches-py"])
    func cifar10SplitsEqualTheImagesWritten(form: String) throws {
        let x = try Self.golden("cifar_x").bytes
        let y = Self.int64s(try Self.golden("cifar10_y").bytes)
        for (split, range) in [(DataSplit.train, 0..<12), (.test, 12..<17)] {
            let data = try DataSet(path: Self.images + "/" + form, preprocessing: nil, folder: DataFolderOptions(split: split))
            #expect(data.sampleShape == [3, 32, 32])
            #expect(data.sampleCount == range.count)
            #expect(try data.labels() == Array(y[range]))
            var streamed: [UInt8] = []
            try data.container.streamElements(of: "x") { chunk in
                streamed += chunk
                return .more
            }
            #expect(streamed == Array(x[(range.lowerBound * 3072)..<(range.upperBound * 3072)]))
        }
    }

    @Test func cifar100HasFineAndCoarseLabels() throws {
        let fine = Self.int64s(try Self.golden("cifar100_fine").bytes)
        let coarse = Self.int64s(try Self.golden("cifar100_coarse").bytes)
        let path = Self.images + "/cifar-100-binary"
        #expect(try DataSet(path: path, preprocessing: nil).labels() == Array(fine[0..<12]))
        #expect(try DataSet(path: path, preprocessing: nil, folder: DataFolderOptions(split: .test, labelKind: .coarse)).labels()
                == Array(coarse[12..<17]))
    }

    @Test(arguments: ["cifar-10-batches-bin", "cifar-10-batches-py"])
    func bnStatisticsOverCIFARMatchUpdateBN(form: String) throws {
        let golden = try #require(Self.goldenBN["cifar10_train"] as? [String: Any])
        let preprocessing = Preprocessing(layout: .nchw, mean: golden["mean"] as! [Double], std: golden["std"] as! [Double])
        let data = try DataSet(path: Self.images + "/" + form, preprocessing: preprocessing)
        try Self.expectStatistics(data: data, golden: golden)
    }

    /// torchvision's download root holds the CIFAR folder: it is found inside.
    @Test func theCIFARFolderIsFoundInsideTheDownloadRoot() throws {
        try TestSupport.withTemporaryDirectory { root in
            try FileManager.default.createSymbolicLink(atPath: root + "/cifar-10-batches-py", withDestinationPath: Self.images + "/cifar-10-batches-py")
            let data = try DataSet(path: root, preprocessing: nil, folder: DataFolderOptions(split: .test))
            #expect(data.sampleCount == 5)
        }
    }

    @Test func aTruncatedPickleIsNamed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let source = Self.images + "/cifar-10-batches-py"
            for name in try FileManager.default.contentsOfDirectory(atPath: source) {
                try FileManager.default.copyItem(atPath: source + "/" + name, toPath: folder + "/" + name)
            }
            let bytes = try TestSupport.bytes(of: folder + "/data_batch_3")
            try TestSupport.write(Array(bytes.prefix(bytes.count - 40)), to: folder, name: "data_batch_3")
            let message = TestSupport.errorDescription { _ = try DataSet(path: folder, preprocessing: nil) }
            #expect(message?.hasPrefix("\(folder)/data_batch_3: not a readable CIFAR batch pickle: ") == true, "\(message ?? "")")
        }
    }

    @Test func aRecordFileOfTheWrongSizeIsNamed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let source = Self.images + "/cifar-10-batches-bin"
            for name in try FileManager.default.contentsOfDirectory(atPath: source) {
                try FileManager.default.copyItem(atPath: source + "/" + name, toPath: folder + "/" + name)
            }
            let bytes = try TestSupport.bytes(of: folder + "/data_batch_2.bin")
            try TestSupport.write(Array(bytes.dropLast(100)), to: folder, name: "data_batch_2.bin")
            let message = TestSupport.errorDescription { _ = try DataSet(path: folder, preprocessing: nil) }
            #expect(message == "\(folder)/data_batch_2.bin: holds \(bytes.count - 100) bytes, not a whole number of 3073-byte CIFAR-10 records",
                    "\(message ?? "")")
        }
    }
}
