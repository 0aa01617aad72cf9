import Foundation
import Testing
@testable import SWAData
@testable import SWAFormats
import SWATestSupport

/// The fast image paths against their plain references, byte for byte: the region resize
/// (`BilinearResize.resize(_:box:width:height:keep:)`) against the reference resize then a crop,
/// the pipeline against the reference transforms one after the other, and the uint8 look-up
/// tables against scaling and normalising value by value.
@Suite struct ImageKernelTests {
    /// A `width × height` image of seeded pseudo-random bytes, with smooth and sharp parts so
    /// that sums land on every side of a rounding.
    static func randomImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var generator = SplitMix64(seed: seed, stream: 0)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<height {
            for column in 0..<width {
                for channel in 0..<3 {
                    let noise = UInt8(truncatingIfNeeded: generator.next() >> 56)
                    let ramp = UInt8(truncatingIfNeeded: (row * 7 + column * 3 + channel * 50) % 256)
                    pixels[(row * width + column) * 3 + channel] = (row + column) % 5 == 0 ? noise : ramp
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Down, up, one axis, no change; whole images, boxes at the image's edges, kept regions at
    /// every corner.
    @Test func regionResizeEqualsTheReferenceResizeThenCrop() {
        let cases: [(image: (Int, Int), box: BilinearResize.Region?, size: (Int, Int))] = [
            ((37, 29), nil, (17, 23)), ((37, 29), nil, (64, 50)), ((37, 29), nil, (37, 11)), ((37, 29), nil, (13, 29)),
            ((37, 29), nil, (37, 29)), ((37, 29), nil, (1, 5)), ((120, 90), nil, (45, 34)), ((90, 120), nil, (34, 45)),
            ((41, 33), BilinearResize.Region(left: 5, top: 7, width: 36, height: 26), (20, 20)),
            ((41, 33), BilinearResize.Region(left: 0, top: 0, width: 19, height: 33), (24, 24)),
            ((41, 33), BilinearResize.Region(left: 22, top: 3, width: 19, height: 30), (31, 9)),
        ]
        for (index, item) in cases.enumerated() {
            let image = Self.randomImage(width: item.image.0, height: item.image.1, seed: UInt64(index))
            let box = item.box ?? .whole(width: image.width, height: image.height)
            let (width, height) = item.size
            let reference = BilinearResize.resize(image.cropped(left: box.left, top: box.top, width: box.width, height: box.height),
                                                  width: width, height: height)
            var keeps: [BilinearResize.Region] = [.whole(width: width, height: height)]
            if width > 2 && height > 2 {
                let (w, h) = (width / 2 + 1, height / 2 + 1)
                keeps += [BilinearResize.Region(left: 0, top: 0, width: w, height: h),
                          BilinearResize.Region(left: width - w, top: height - h, width: w, height: h),
                          BilinearResize.Region(left: 1, top: height - 2, width: width - 2, height: 2)]
            }
            for keep in keeps {
                let fast = BilinearResize.resize(image, box: box, width: width, height: height, keep: keep)
                let expected = reference.cropped(left: keep.left, top: keep.top, width: keep.width, height: keep.height)
                #expect(fast == expected, "case \(index): \(item.image) box \(box) to \(item.size), keep \(keep)")
            }
        }
    }

    /// `ImagePipeline.apply` (which resizes only what the crop keeps) against torchvision's
    /// transforms one after the other, through the reference resize: landscape, portrait,
    /// square, smaller than the crop (padded), and random resized crops with flips.
    @Test func pipelineEqualsTheReferenceTransformsInTurn() {
        let sizes = [(97, 61), (61, 97), (50, 50), (30, 20), (40, 36), (333, 250)]
        for (index, (width, height)) in sizes.enumerated() {
            let image = Self.randomImage(width: width, height: height, seed: 100 + UInt64(index))
            for (resize, crop) in [(36, 32), (64, 56), (48, 48), (40, 45)] {
                let expected = ImagePipeline.centerCropped(ImagePipeline.resizeShorterSide(image, to: resize), size: crop)
                let pipeline = ImagePipeline(resize: resize, centerCrop: crop)
                #expect(pipeline.apply(image, seed: 0, index: index) == expected, "\(width)×\(height), Resize \(resize), CenterCrop \(crop)")
            }
            let resizeOnly = ImagePipeline(resize: 24)
            #expect(resizeOnly.apply(image, seed: 0, index: index) == ImagePipeline.resizeShorterSide(image, to: 24))
            let train = ImagePipeline(randomResizedCrop: 24, horizontalFlip: true)
            for sample in 0..<6 {
                var generator = SplitMix64(seed: 7, stream: UInt64(sample))
                let box = ImagePipeline.randomResizedCropBox(width: width, height: height, using: &generator)
                var expected = BilinearResize.resize(image.cropped(left: box.left, top: box.top, width: box.width, height: box.height),
                                                     width: 24, height: 24)
                if generator.next() >> 63 == 1 { expected = expected.flippedHorizontally() }
                #expect(train.apply(image, seed: 7, index: sample) == expected, "\(width)×\(height), sample \(sample)")
            }
        }
    }

    /// Several blocks, the next decoded while the consumer holds the current one: the stream
    /// equals each image decoded and transformed on its own, in order, and stopping after the
    /// first block ends the pass cleanly.
    @Test func blocksDecodedAheadStreamTheImagesInOrder() throws {
        try TestSupport.withTemporaryDirectory { root in
            let fixtures = ImageDataTests.folder + "/china"
            let names = try FileManager.default.contentsOfDirectory(atPath: fixtures).sorted()
            for classIndex in 0..<2 {
                let folder = root + "/class\(classIndex)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for index in 0..<37 {
                    let name = names[(index + classIndex) % names.count]
                    try FileManager.default.createSymbolicLink(atPath: folder + "/\(String(format: "%03d", index))." + (name as NSString).pathExtension,
                                                               withDestinationPath: fixtures + "/" + name)
                }
            }
            let pipeline = ImagePipeline(resize: 20, centerCrop: 16)
            let archive = try ImageFolderArchive(path: root, pipeline: pipeline)
            #expect(archive.samples.count == 74)
            let decoder = ImageDecoder()
            var expected: [UInt8] = []
            for (index, sample) in archive.samples.enumerated() {
                let image = pipeline.apply(try decoder.decode(path: sample.file), seed: 0, index: index)
                var planar = [UInt8](repeating: 0, count: image.pixels.count)
                planar.withUnsafeMutableBufferPointer { image.writePlanar(to: $0) }
                expected += planar
            }
            var streamed: [UInt8] = []
            var chunks = 0
            try archive.streamElements(of: "x") { chunk in
                streamed += chunk
                chunks += 1
                return .more
            }
            #expect(chunks > 2)
            #expect(streamed == expected)
            var firstChunk: [UInt8] = []
            try archive.streamElements(of: "x") { chunk in
                firstChunk = Array(chunk)
                return .stop
            }
            #expect(!firstChunk.isEmpty && firstChunk == Array(expected[..<firstChunk.count]))
        }
    }

    /// uint8 samples are converted through per-channel tables: the same Float32 bits as
    /// `(Float(v) / 255 − mean) / std` computed value by value, in both layouts.
    @Test(arguments: [DataLayout.nchw, .nhwc])
    func byteTablesGiveTheSameBitsAsScalingThenNormalising(layout: DataLayout) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let (count, channels, height, width) = (3, 3, 5, 4)
            let bytes = (0..<(count * channels * height * width)).map { UInt8(truncatingIfNeeded: $0 * 37 + $0 / 7) }
            let shape = layout == .nchw ? [count, channels, height, width] : [count, height, width, channels]
            let path = folder + "/d.npz"
            try NpzWriter.write([("x", .init(uint8: bytes, shape: shape))], to: path, compressed: false)
            let mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]
            let data = try DataSet(path: path, preprocessing: Preprocessing(layout: layout, mean: mean, std: std))
            let batches = try DataBatches.collect(data, size: 2)
            var expected: [Float] = []
            for sample in 0..<count {
                for channel in 0..<channels {
                    for pixel in 0..<(height * width) {
                        let offset = layout == .nchw ? (sample * channels + channel) * height * width + pixel
                                                     : (sample * height * width + pixel) * channels + channel
                        expected.append((Float(bytes[offset]) / 255 - Float(mean[channel])) / Float(std[channel]))
                    }
                }
            }
            let converted = batches.flatMap(\.x)
            #expect(converted.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }
}
