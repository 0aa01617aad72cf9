import Foundation
import Testing
@testable import SWAData
@testable import SWAEngine
@testable import SWAFormats
@testable import SWAKit
import SWATestSupport

/// Data files (`.npz` stored and deflated, checkpoint format) opened as `DataSet`s and read in
/// batches: the fixture data against values read once with `numpy.load`, hand-made arrays
/// for layouts, scaling, normalisation, augmentation and limits, and one test per error path.
@Suite("Data sets")
struct DataTests {
    static let train = TestSupport.fixtures + "/data/train.npz"
    static let test = TestSupport.fixtures + "/data/test.npz"
    /// `swa.preprocess` of the fixture checkpoints (fixtures/checkpoints/ckpt-020.safetensors.zst).
    static let fixturePreprocess = #"{"layout": "nchw", "mean": [0.30536583533653844], "std": [0.3759227772412325], "scale": 1.0}"#

    // MARK: - Fixture data

    @Test("train.npz (np.savez, stored ZIP64 members): 1300 samples of [1, 8, 8], labels 0...9, values as numpy reads them")
    func fixtureTrain() throws {
        let data = try DataSet(path: Self.train, preprocessing: nil)
        #expect(data.sampleCount == 1300)
        #expect(data.sampleShape == [1, 8, 8])
        #expect(data.layout == .nchw)
        #expect(data.hasLabels)
        #expect(data.inputs.dtype == .f32)
        let labels = try data.labels()
        // From numpy.load("fixtures/data/train.npz"): y[:10], y[1280:], np.bincount(y) (the
        // training labels carry make_fixtures.py's label noise).
        #expect(labels.prefix(10) == [6, 6, 6, 2, 5, 6, 6, 6, 3, 1])
        #expect(labels.suffix(20) == [3, 8, 2, 3, 6, 6, 7, 8, 4, 6, 3, 8, 1, 8, 2, 2, 5, 1, 7, 2])
        #expect((0...9).map { digit in labels.count { $0 == digit } } == [116, 136, 124, 153, 123, 133, 138, 128, 123, 126])

        let batches = try DataBatches.collect(data, size: 64)
        #expect(batches.count == 21)
        #expect(batches.map(\.count) == Array(repeating: 64, count: 20) + [20])
        #expect(batches.map(\.firstIndex) == (0..<21).map { $0 * 64 })
        #expect(batches.allSatisfy { $0.x.count == $0.count * 64 && $0.y?.count == $0.count })
        #expect(batches.flatMap { $0.y! } == labels)
        let x = batches.flatMap(\.x)
        // From numpy.load: x[0].ravel()[:12], x[63].ravel()[:8], x[-1].ravel()[-5:], x.sum(dtype=float64).
        #expect(Array(x[0..<12]) == [0, 0, 0.0625, 0.8125, 0.4375, 0, 0, 0, 0, 0, 0.4375, 0.875])
        #expect(Array(x[63 * 64..<63 * 64 + 8]) == [0, 0, 0, 0.1875, 1, 0.3125, 0, 0])
        #expect(Array(x.suffix(5)) == [0.4375, 0.9375, 1, 0.5, 0])
        #expect(x.reduce(0.0) { $0 + Double($1) } == 25406.4375)
    }

    @Test("test.npz (np.savez_compressed, deflated members): 497 samples, values as numpy reads them")
    func fixtureTest() throws {
        let data = try DataSet(path: Self.test, preprocessing: nil)
        #expect(data.sampleCount == 497)
        #expect(data.sampleShape == [1, 8, 8])
        let labels = try data.labels()
        // From numpy.load("fixtures/data/test.npz"): y[:10], np.bincount(y).
        #expect(labels.prefix(10) == [5, 2, 2, 9, 1, 8, 5, 5, 0, 1])
        #expect((0...9).map { digit in labels.count { $0 == digit } } == [55, 52, 57, 39, 58, 53, 50, 40, 42, 51])
        let batches = try DataBatches.collect(data, size: 128)
        #expect(batches.map(\.count) == [128, 128, 128, 113])
        let x = batches.flatMap(\.x)
        // From numpy.load: x[0].ravel()[:12], x[63].ravel()[:8], x[-1].ravel()[-5:], x.sum(dtype=float64).
        #expect(Array(x[0..<12]) == [0, 0, 0.8125, 1, 1, 1, 0.5, 0, 0, 0.125, 1, 0.8125])
        #expect(Array(x[63 * 64..<63 * 64 + 8]) == [0, 0, 0.25, 0.875, 1, 0.9375, 0.0625, 0])
        #expect(Array(x.suffix(5)) == [0.375, 0.75, 0.9375, 0.3125, 0])
        #expect(x.reduce(0.0) { $0 + Double($1) } == 9700.9375)
    }

    @Test("Normalised with the checkpoints' swa.preprocess: bit for bit what (torch.from_numpy(x) - mean) / std gives")
    func fixtureNormalised() throws {
        let preprocessing = try Preprocessing.parse(metadataJSON: Self.fixturePreprocess)
        let data = try DataSet(path: Self.train, preprocessing: preprocessing, limit: 1300)
        let batches = try DataBatches.collect(data, size: 500)
        // float32 arithmetic in numpy: (x[0].ravel()[:4] - float32(mean)) / float32(std), and x[-1].ravel()[-2].
        #expect(Array(batches[0].x.prefix(4)) == [-0.8123100399971008, -0.8123100399971008, -0.6460524797439575, 1.3490382432937622])
        #expect(batches[2].x[batches[2].x.count - 2] == 0.5177504420280457)
    }

    @Test("SHA-256 of the data file's bytes (sha256sum fixtures/data/*.npz)")
    func sha256() throws {
        #expect(try DataSet(path: Self.train, preprocessing: nil).sha256 == "4e1a96040de9a6869b6bf1bfd8186250039619cca76604d45c7b8f24cba20a5a")
        #expect(try DataSet(path: Self.test, preprocessing: nil).sha256 == "1334a54c79022048f6124295de3a2da2cb72166dd7de4d81caf5a7ea8a856da3")
    }

    // MARK: - Archives made here

    @Test("Stored and deflated archives read the same; arrays larger than a chunk stream across chunk and batch boundaries",
          arguments: [false, true])
    func storedAndDeflated(compressed: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            // 300 samples of 3×7×9 float32: 226,800 bytes, several 64 KiB chunks, samples split across chunks.
            let count = 300, sample = 3 * 7 * 9
            let values = (0..<count * sample).map { Float($0 % 1000) * 0.25 - 17 }
            let labels = (0..<count).map { Int64($0 % 10) }
            let path = folder + "/d.npz"
            try NpzWriter.write([("x", .init(float32: values, shape: [count, 3, 7, 9])), ("y", .init(int64: labels, shape: [count]))],
                                to: path, compressed: compressed)
            let archive = try NpzArchive(path: path)
            #expect(archive.keys == ["x", "y"])
            #expect(try archive.header(of: "x").shape == [count, 3, 7, 9])
            #expect(try archive.info(of: "y") == ArrayInfo(key: "y", dtype: .i64, shape: [count], source: ArraySource(file: path, member: "y.npy")))

            let data = try DataSet(path: path, preprocessing: nil)
            // A member of exactly 64 KiB (128-byte header + 1022×16 float32): zlib's output fills the chunk exactly.
            let exact = folder + "/exact.npz"
            let exactValues = (0..<1022 * 16).map { Float($0) }
            try NpzWriter.write([("x", .init(float32: exactValues, shape: [1022, 16]))], to: exact, compressed: compressed)
            #expect(try DataBatches.collect(DataSet(path: exact, preprocessing: nil), size: 100).flatMap(\.x) == exactValues)
            for size in [1, 7, 64, 299, 300, 1000] {
                let batches = try DataBatches.collect(data, size: size)
                #expect(batches.count == (count + size - 1) / size)
                #expect(batches.flatMap(\.x) == values)
                #expect(batches.flatMap { $0.y! } == labels)
            }
        }
    }

    @Test("Every supported element type decodes: float32, float64, uint8 inputs; int64, int32, uint8 labels")
    func elementTypes() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let floats: [Double] = [-1.5, 0, 2.25, 1e-3, 3.5e7, -0.0]
            let inputs: [(NpzWriter.ArrayData, [Float])] = [
                (.init(float32: floats.map(Float.init), shape: [3, 2]), floats.map(Float.init)),
                (.init(descr: "<f8", shape: [3, 2], bytes: NpyBytes.bytes(floats)), floats.map(Float.init)),
                (.init(uint8: [0, 1, 51, 128, 254, 255], shape: [3, 2]), [0, 1, 51, 128, 254, 255].map { Float($0) / 255 }),
            ]
            let labels: [(NpzWriter.ArrayData, [Int64])] = [
                (.init(int64: [-5, 1 << 40, 9], shape: [3]), [-5, 1 << 40, 9]),
                (.init(descr: "<i4", shape: [3], bytes: NpyBytes.bytes([Int32(-7), Int32.max, 0])), [-7, Int64(Int32.max), 0]),
                (.init(uint8: [0, 200, 255], shape: [3]), [0, 200, 255]),
            ]
            for (xIndex, (x, expectedX)) in inputs.enumerated() {
                for (yIndex, (y, expectedY)) in labels.enumerated() {
                    let path = folder + "/d\(xIndex)\(yIndex).npz"
                    try NpzWriter.write([("x", x), ("y", y)], to: path, compressed: yIndex == 1)
                    let data = try DataSet(path: path, preprocessing: nil)
                    #expect(data.layout == .nf)
                    #expect(data.sampleShape == [2])
                    let batches = try DataBatches.collect(data, size: 2)
                    #expect(batches.flatMap(\.x) == expectedX)
                    #expect(batches.flatMap { $0.y! } == expectedY)
                    #expect(try data.labels() == expectedY)
                }
            }
        }
    }

    @Test("NHWC input comes out NCHW")
    func nhwcTransposed() throws {
        try TestSupport.withTemporaryDirectory { folder in
            // Value n·1000 + h·100 + w·10 + c stored at [n, h, w, c].
            let (n, h, w, c) = (2, 2, 3, 2)
            var values: [Float] = []
            for ni in 0..<n { for hi in 0..<h { for wi in 0..<w { for ci in 0..<c { values.append(Float(ni * 1000 + hi * 100 + wi * 10 + ci)) } } } }
            let path = folder + "/d.npz"
            try NpzWriter.write([("x", .init(float32: values, shape: [n, h, w, c]))], to: path, compressed: false)
            let data = try DataSet(path: path, layout: .nhwc, preprocessing: nil)
            #expect(data.sampleShape == [2, 2, 3])
            #expect(!data.hasLabels)
            let batches = try DataBatches.collect(data, size: 2)
            #expect(batches[0].y == nil)
            var expected: [Float] = []
            for ni in 0..<n { for ci in 0..<c { for hi in 0..<h { for wi in 0..<w { expected.append(Float(ni * 1000 + hi * 100 + wi * 10 + ci)) } } } }
            #expect(batches[0].x == expected)
            // The layout may also come from the preprocessing.
            let viaPreprocessing = try DataSet(path: path, preprocessing: Preprocessing(layout: .nhwc, mean: [0], std: [1]))
            #expect(try DataBatches.collect(viaPreprocessing, size: 2)[0].x == expected)
        }
    }

    @Test("Normalisation: per-channel mean and std, a single value broadcast, uint8 divided by 255, float scale")
    func normalisation() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/d.npz"
            // One sample, 2 channels of 2×1 pixels.
            try NpzWriter.write([("x", .init(uint8: [0, 255, 51, 102], shape: [1, 2, 2, 1]))], to: path, compressed: false)
            let perChannel = try DataSet(path: path, preprocessing: Preprocessing(mean: [0.5, 0.1], std: [0.5, 0.2], scale: 7))
            let x = try DataBatches.collect(perChannel, size: 1)[0].x
            // uint8 ignores `scale`: Float(v) / 255 (torchvision ToTensor), then (v − mean) / std in Float32.
            let expected: [Float] = [(0 - 0.5) / 0.5, (1 - 0.5) / 0.5, (Float(51) / 255 - 0.1) / 0.2, (Float(102) / 255 - 0.1) / 0.2]
            #expect(x == expected)
            let broadcast = try DataSet(path: path, preprocessing: Preprocessing(mean: [0.5], std: [0.25]))
            #expect(try DataBatches.collect(broadcast, size: 1)[0].x == [0, 255, 51, 102].map { (Float($0) / 255 - 0.5) / 0.25 })

            let floats = folder + "/f.npz"
            try NpzWriter.write([("x", .init(float32: [0, 255, 51, 102], shape: [2, 2]))], to: floats, compressed: true)
            let scaled = try DataSet(path: floats, preprocessing: Preprocessing(layout: .nf, mean: [1, 0], std: [2, 1], scale: 1.0 / 255))
            let scale = Float(1.0 / 255)
            #expect(try DataBatches.collect(scaled, size: 2)[0].x == [(0 * scale - 1) / 2, 255 * scale, (51 * scale - 1) / 2, 102 * scale])
            let unscaled = try DataSet(path: floats, preprocessing: nil)
            #expect(try DataBatches.collect(unscaled, size: 2)[0].x == [0, 255, 51, 102])
        }
    }

    @Test("limit takes the first N samples and their labels")
    func limit() throws {
        let data = try DataSet(path: Self.train, preprocessing: nil, limit: 100)
        #expect(data.sampleCount == 100)
        let labels = try data.labels()
        #expect(labels.count == 100)
        #expect(labels == Array(try DataSet(path: Self.train, preprocessing: nil).labels().prefix(100)))
        let batches = try DataBatches.collect(data, size: 64)
        #expect(batches.map(\.count) == [64, 36])
        #expect(batches.flatMap { $0.y! } == labels)
        let full = try DataBatches.collect(DataSet(path: Self.train, preprocessing: nil), size: 100)
        #expect(batches.flatMap(\.x) == full[0].x)
        #expect(try DataSet(path: Self.test, preprocessing: nil, limit: 10_000).sampleCount == 497)
    }

    @Test("An error thrown by the batch body comes back unchanged and ends the pass")
    func bodyErrorsPassThrough() throws {
        struct Stop: Error, Equatable {}
        for path in [Self.train, Self.test] {
            var seen = 0
            #expect(throws: Stop()) {
                try DataSet(path: path, preprocessing: nil).forEachBatch(size: 10) { _ in
                    seen += 1
                    if seen == 3 { throw Stop() }
                }
            }
            #expect(seen == 3)
        }
    }

    // MARK: - Checkpoint-format data files

    @Test("A checkpoint-format file holding x and y, in either payload order, reads like an .npz")
    func checkpointFormat() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let count = 1000
            let values = (0..<count * 4 * 5).map { Float($0) / 8 }
            let labels = (0..<count).map { Int64($0 % 7) - 3 }
            let x = (spec: TensorSpec(name: "x", dtype: .f32, shape: [count, 1, 4, 5]), bytes: NpyBytes.bytes(values))
            let y = (spec: TensorSpec(name: "y", dtype: .i64, shape: [count]), bytes: NpyBytes.bytes(labels))
            let w = (spec: TensorSpec(name: "a", dtype: .u8, shape: [70_000]), bytes: [UInt8](repeating: 1, count: 70_000))
            for (name, tensors) in [("xy.bin", [x, y]), ("yx.bin", [w, y, x])] {
                let path = folder + "/" + name
                try CheckpointWriter.write(tensors, metadata: [:], to: path, overwrite: false)
                let data = try DataSet(path: path, preprocessing: nil)
                #expect(data.sampleCount == count)
                #expect(data.sampleShape == [1, 4, 5])
                #expect(try data.labels() == labels)
                let batches = try DataBatches.collect(data, size: 128)
                #expect(batches.map(\.count) == Array(repeating: 128, count: 7) + [104])
                #expect(batches.flatMap(\.x) == values)
                #expect(batches.flatMap { $0.y! } == labels)
                #expect(try DataBatches.collect(DataSet(path: path, preprocessing: nil, limit: 3), size: 2).flatMap(\.x) == Array(values.prefix(60)))
            }
            let message = TestSupport.errorDescription { _ = try DataSet(path: folder + "/xy.bin", xKey: "inputs", preprocessing: nil) }
            #expect(message == "\(folder)/xy.bin: no array 'inputs'; arrays present: 'x', 'y'; pass --x-key x")
            let floatLabels = folder + "/float-labels.bin"
            try CheckpointWriter.write([x, (spec: TensorSpec(name: "y", dtype: .f32, shape: [count]), bytes: NpyBytes.bytes(values.prefix(count).map { $0 }))],
                                       metadata: [:], to: floatLabels, overwrite: false)
            #expect(TestSupport.errorDescription { _ = try DataSet(path: floatLabels, preprocessing: nil) }
                == "\(floatLabels): tensor 'y': labels are not integers (dtype float32)")
        }
    }

    // MARK: - Augmentation

    @Test("Augmentation is a function of the seed and the sample index: same seed same batches, any batch size")
    func augmentationDeterminism() throws {
        let augmentation = try Augmentation.parse("crop:2,flip")
        func pass(seed: UInt64, size: Int) throws -> [Float] {
            let data = try DataSet(path: Self.test, preprocessing: nil, augmentation: augmentation, seed: seed)
            return try DataBatches.collect(data, size: size).flatMap(\.x)
        }
        let first = try pass(seed: 1, size: 64)
        #expect(try pass(seed: 1, size: 64) == first)
        #expect(try pass(seed: 1, size: 50) == first)
        #expect(try pass(seed: 2, size: 64) != first)
        let plain = try DataBatches.collect(DataSet(path: Self.test, preprocessing: nil), size: 497)[0].x
        #expect(first != plain)
        #expect(first.count == plain.count)
    }

    @Test("Every augmented sample is its input shifted by the drawn offset with zeros shifted in, then maybe mirrored")
    func augmentationMatchesDraws() throws {
        let augmentation = Augmentation(cropPadding: 3, horizontalFlip: true)
        let seed: UInt64 = 42
        let plain = try DataBatches.collect(DataSet(path: Self.train, preprocessing: nil, limit: 200), size: 200)[0].x
        let data = try DataSet(path: Self.train, preprocessing: nil, augmentation: augmentation, seed: seed, limit: 200)
        let augmented = try DataBatches.collect(data, size: 32).flatMap(\.x)
        var draws: [Augmentation.Draw] = []
        for index in 0..<200 {
            let draw = augmentation.draw(seed: seed, index: index)
            draws.append(draw)
            #expect((0...6).contains(draw.top) && (0...6).contains(draw.left))
            for row in 0..<8 {
                for column in 0..<8 {
                    let sourceRow = row + draw.top - 3
                    let sourceColumn = (draw.flip ? 7 - column : column) + draw.left - 3
                    let inside = (0..<8).contains(sourceRow) && (0..<8).contains(sourceColumn)
                    let expected = inside ? plain[index * 64 + sourceRow * 8 + sourceColumn] : 0
                    #expect(augmented[index * 64 + row * 8 + column] == expected)
                }
            }
        }
        // Over 200 samples both flips and every offset turn up.
        #expect(Set(draws.map(\.flip)) == [false, true])
        #expect(Set(draws.map(\.top)) == Set(0...6))
        #expect(Set(draws.map(\.left)) == Set(0...6))
    }

    @Test("Crop keeps the shape and pads with raw zeros; flip mirrors each row")
    func cropAndFlip() {
        // 2 channels of 3×4: value c·100 + r·10 + col + 1 (never 0).
        let (channels, height, width) = (2, 3, 4)
        let source = (0..<channels * height * width).map { index -> Float in
            let c = index / 12, r = index / 4 % 3, col = index % 4
            return Float(c * 100 + r * 10 + col + 1)
        }
        func run(_ draw: Augmentation.Draw, padding: Int) -> [Float] {
            var out = [Float](repeating: -1, count: source.count)
            source.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { output in
                    Augmentation.apply(draw, padding: padding, channels: channels, height: height, width: width,
                                       source: input.baseAddress!, destination: output.baseAddress!)
                }
            }
            return out
        }
        // Window at the top-left corner of the padded image: one row and one column of zeros shifted in.
        let shifted = run(.init(top: 0, left: 0, flip: false), padding: 1)
        #expect(shifted == [0, 0, 0, 0, 0, 1, 2, 3, 0, 11, 12, 13, 0, 0, 0, 0, 0, 101, 102, 103, 0, 111, 112, 113])
        // Window two down and two across with padding 1: shifted the other way.
        let other = run(.init(top: 2, left: 2, flip: false), padding: 1)
        #expect(other == [12, 13, 14, 0, 22, 23, 24, 0, 0, 0, 0, 0, 112, 113, 114, 0, 122, 123, 124, 0, 0, 0, 0, 0])
        // The centred window is the image itself.
        #expect(run(.init(top: 4, left: 4, flip: false), padding: 4) == source)
        // Flip only mirrors each row of each channel.
        let mirrored = run(.init(top: 0, left: 0, flip: true), padding: 0)
        #expect(mirrored == [4, 3, 2, 1, 14, 13, 12, 11, 24, 23, 22, 21, 104, 103, 102, 101, 114, 113, 112, 111, 124, 123, 122, 121])
        // Crop, then mirror the cropped window (torchvision's order).
        #expect(run(.init(top: 1, left: 0, flip: true), padding: 1) == [3, 2, 1, 0, 13, 12, 11, 0, 23, 22, 21, 0,
                                                                          103, 102, 101, 0, 113, 112, 111, 0, 123, 122, 121, 0])
    }

    @Test("Padding is zero before normalisation: it comes out as (0 − mean) / std")
    func paddingIsRawZero() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/d.npz"
            try NpzWriter.write([("x", .init(uint8: [UInt8](repeating: 255, count: 40 * 16), shape: [40, 1, 4, 4]))], to: path, compressed: false)
            let data = try DataSet(path: path, preprocessing: Preprocessing(mean: [0.5], std: [0.25]),
                                   augmentation: Augmentation(cropPadding: 2), seed: 7)
            let x = try DataBatches.collect(data, size: 40).flatMap(\.x)
            #expect(Set(x) == Set<Float>([(0 - 0.5) / 0.25, (1 - 0.5) / 0.25]))
            for index in 0..<40 {
                let draw = data.augmentation!.draw(seed: 7, index: index)
                let zeros = x[index * 16..<(index + 1) * 16].count { $0 == -2 }
                #expect(zeros == 16 - (4 - abs(draw.top - 2)) * (4 - abs(draw.left - 2)))
            }
        }
    }

    @Test("Augmentation texts", arguments: [
        ("crop:4,flip", Augmentation(cropPadding: 4, horizontalFlip: true)),
        ("flip, crop:2", Augmentation(cropPadding: 2, horizontalFlip: true)),
        ("flip", Augmentation(cropPadding: nil, horizontalFlip: true)),
        ("crop:4", Augmentation(cropPadding: 4, horizontalFlip: false)),
        ("crop:0", Augmentation(cropPadding: 0, horizontalFlip: false)),
    ])
    func augmentationParse(text: String, expected: Augmentation) throws {
        #expect(try Augmentation.parse(text) == expected)
    }

    @Test("Bad augmentation texts name the item", arguments: [
        ("", "augmentation '': empty"),
        ("crop", "unknown item 'crop'"),
        ("crop:-1", "'crop:-1' needs a padding in pixels"),
        ("crop:x", "'crop:x' needs a padding in pixels"),
        ("flip,flip", "'flip' given twice"),
        ("crop:1,crop:2", "'crop' given twice"),
        ("crop:4,,flip", "an empty item"),
        ("rotate", "unknown item 'rotate'"),
    ])
    func augmentationParseErrors(text: String, expected: String) {
        let message = TestSupport.errorDescription { _ = try Augmentation.parse(text) }
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
        #expect(message?.hasSuffix("expected 'crop:P', 'flip' or 'crop:P,flip'") == true)
    }

    @Test("The generator is SplitMix64 and its bounded draws are uniform over 0..<n")
    func generator() {
        // SplitMix64 from seed 0 (Vigna's reference splitmix64.c): first output.
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        var counts = [Int](repeating: 0, count: 9)
        for _ in 0..<9000 { counts[Int(generator.next(below: 9))] += 1 }
        #expect(counts.allSatisfy { (850...1150).contains($0) })
    }

    // MARK: - Preprocessing metadata

    @Test("swa.preprocess parses; layout defaults to nchw, scale may be absent or null; round trip")
    func preprocessingParse() throws {
        let fixture = try Preprocessing.parse(metadataJSON: Self.fixturePreprocess)
        #expect(fixture == Preprocessing(layout: .nchw, mean: [0.30536583533653844], std: [0.3759227772412325], scale: 1))
        let minimal = try Preprocessing.parse(metadataJSON: #"{"mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.201], "scale": null, "note": "x"}"#)
        #expect(minimal == Preprocessing(layout: .nchw, mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201], scale: nil))
        let features = try Preprocessing.parse(metadataJSON: #"{"layout": "nf", "mean": [0], "std": [1e-3]}"#)
        #expect(features.layout == .nf)
        #expect(try Preprocessing.parse(metadataJSON: fixture.metadataJSON) == fixture)
        #expect(try Preprocessing.parse(metadataJSON: minimal.metadataJSON) == minimal)
    }

    @Test("Bad swa.preprocess JSON is one line naming the key", arguments: [
        ("{", "swa.preprocess: not valid JSON"),
        ("[1]", "expected a JSON object"),
        (#"{"std": [1]}"#, "'mean' is missing"),
        (#"{"mean": [0]}"#, "'std' is missing"),
        (#"{"mean": [], "std": [1]}"#, "'mean' is []; expected a non-empty list of numbers"),
        (#"{"mean": 0.5, "std": [1]}"#, "'mean' is 0.5; expected a non-empty list"),
        (#"{"mean": [0], "std": [0]}"#, "'std' holds 0; expected positive numbers"),
        (#"{"mean": ["a"], "std": [1]}"#, "'mean' holds \"a\"; expected finite numbers"),
        (#"{"mean": [0], "std": [1], "layout": "chw"}"#, "'layout' is \"chw\"; expected \"nchw\", \"nhwc\" or \"nf\""),
        (#"{"mean": [0], "std": [1], "scale": -1}"#, "'scale' is -1; expected a positive number"),
    ])
    func preprocessingParseErrors(json: String, expected: String) {
        let message = TestSupport.errorDescription { _ = try Preprocessing.parse(metadataJSON: json, file: "m.bin") }
        #expect(message?.hasPrefix("m.bin: swa.preprocess: ") == true, "\(message ?? "no error")")
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
    }
}

// MARK: - Error paths

extension DataTests {
@Suite("Data set errors")
struct Errors {
    /// The error message of opening `arrays` (written as an .npz in a fresh folder as `d.npz`), with the folder cut off.
    static func openError(_ arrays: [(key: String, array: NpzWriter.ArrayData)], compressed: Bool = false,
                          xKey: String = "x", layout: DataLayout? = nil, preprocessing: Preprocessing? = nil,
                          augmentation: Augmentation? = nil, limit: Int? = nil) throws -> String? {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/d.npz"
            try NpzWriter.write(arrays, to: path, compressed: compressed)
            return TestSupport.errorDescription {
                _ = try DataSet(path: path, xKey: xKey, layout: layout, preprocessing: preprocessing, augmentation: augmentation, limit: limit)
            }?.replacingOccurrences(of: folder + "/", with: "")
        }
    }

    static let images = NpzWriter.ArrayData(float32: [Float](repeating: 0.5, count: 4 * 3 * 2 * 2), shape: [4, 3, 2, 2])
    static let labels = NpzWriter.ArrayData(int64: [0, 1, 2, 3], shape: [4])

    @Test("Missing x lists the arrays present")
    func missingKey() throws {
        #expect(try Self.openError([("inputs", Self.images), ("y", Self.labels)]) == "d.npz: no array 'x'; arrays present: 'inputs', 'y'; pass --x-key inputs")
        #expect(try Self.openError([("x", Self.images)], xKey: "images") == "d.npz: no array 'images'; arrays present: 'x'; pass --x-key x")
    }

    @Test("labels() without labels names the key and lists the arrays present")
    func missingLabels() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/d.npz"
            try NpzWriter.write([("x", Self.images), ("label", Self.labels)], to: path, compressed: false)
            let data = try DataSet(path: path, preprocessing: nil)
            #expect(!data.hasLabels)
            #expect(TestSupport.errorDescription { _ = try data.labels() } == "\(path): no array 'y'; arrays present: 'x', 'label'; pass --y-key label")
            #expect(try DataSet(path: path, yKey: "label", preprocessing: nil).labels() == [0, 1, 2, 3])
        }
    }

    @Test("x and y sample counts differ")
    func countMismatch() throws {
        #expect(try Self.openError([("x", Self.images), ("y", .init(int64: [0, 1, 2], shape: [3]))])
            == "d.npz: x has 4 samples but y has 3 labels")
    }

    @Test("Float labels, 2-D labels")
    func badLabels() throws {
        #expect(try Self.openError([("x", Self.images), ("y", .init(float32: [0, 1, 2, 3], shape: [4]))])
            == "d.npz: member 'y.npy': labels are not integers (dtype float32)")
        #expect(try Self.openError([("x", Self.images), ("y", .init(descr: "<f8", shape: [4], bytes: [UInt8](repeating: 0, count: 32)))], compressed: true)
            == "d.npz: member 'y.npy': labels are not integers (dtype float64)")
        #expect(try Self.openError([("x", Self.images), ("y", .init(int64: [0, 1, 2, 3], shape: [4, 1]))])
            == "d.npz: member 'y.npy': labels have shape [4, 1]; expected one label per sample (1-D)")
    }

    @Test("Wrong rank for the layout, empty samples, no samples")
    func wrongRank() throws {
        #expect(try Self.openError([("x", .init(float32: [1, 2, 3], shape: [3]))])
            == "d.npz: member 'x.npy': inputs have shape [3] (1 dimensions); expected N×C×H×W or N×H×W×C (4) or N×F (2)")
        #expect(try Self.openError([("x", .init(float32: [1, 2, 3, 4], shape: [1, 2, 2]))], layout: .nchw)
            == "d.npz: member 'x.npy': inputs have shape [1, 2, 2] (3 dimensions); layout nchw needs 4 (N×C×H×W)")
        #expect(try Self.openError([("x", .init(float32: [1, 2], shape: [1, 2]))], layout: .nhwc)
            == "d.npz: member 'x.npy': inputs have shape [1, 2] (2 dimensions); layout nhwc needs 4 (N×H×W×C)")
        #expect(try Self.openError([("x", Self.images)], preprocessing: Preprocessing(layout: .nf, mean: [0], std: [1]))
            == "d.npz: member 'x.npy': inputs have shape [4, 3, 2, 2] (4 dimensions); layout nf needs 2 (N×F)")
        #expect(try Self.openError([("x", .init(float32: [], shape: [2, 0]))])
            == "d.npz: member 'x.npy': inputs have shape [2, 0]: a sample holds no values")
        #expect(try Self.openError([("x", .init(float32: [], shape: [0, 3]))])
            == "d.npz: member 'x.npy': x holds no samples (shape [0, 3])")
    }

    @Test("Unsupported dtypes name the file, the member and the dtype")
    func unsupportedDtypes() throws {
        #expect(try Self.openError([("x", .init(int64: [1, 2], shape: [1, 2]))])
            == "d.npz: member 'x.npy': inputs of dtype int64 are not supported (float32, float64 or uint8)")
        let half = try Self.openError([("x", .init(descr: "<f2", shape: [1, 2], bytes: [0, 0, 0, 0]))], compressed: true)
        #expect(half == "d.npz: member 'x.npy': unsupported dtype '<f2' (float16); supported: <f4 (float32), <f8 (float64), |u1 (uint8), <i4 (int32), <i8 (int64)")
        let bigEndian = try Self.openError([("x", Self.images), ("y", .init(descr: ">i8", shape: [4], bytes: [UInt8](repeating: 0, count: 32)))])
        #expect(bigEndian?.hasPrefix("d.npz: member 'y.npy': unsupported dtype '>i8' (big-endian)") == true)
    }

    @Test("Fortran order, truncated members and members with extra bytes", arguments: [false, true])
    func malformedMembers(compressed: Bool) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let data = [UInt8](repeating: 0, count: 24)
            func open(_ member: [UInt8]) throws -> String? {
                let path = folder + "/d.npz"
                try? FileManager.default.removeItem(atPath: path)
                try NpzWriter.writeMembers([("x.npy", member)], to: path, compressed: compressed)
                return TestSupport.errorDescription { _ = try DataSet(path: path, preprocessing: nil) }?
                    .replacingOccurrences(of: folder + "/", with: "")
            }
            let fortran = try open(NpyBytes.file(dict: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data: data))
            #expect(fortran == "d.npz: member 'x.npy': array in Fortran order (fortran_order: True) is not supported; save it with numpy.ascontiguousarray first")
            #expect(try open(NpyBytes.file(descr: "<f4", shape: "(2, 3)", data: Array(data.prefix(20))))
                == "d.npz: member 'x.npy': truncated: 20 bytes of data follow the .npy header, <f4 [2, 3] needs 24")
            #expect(try open(NpyBytes.file(descr: "<f4", shape: "(2, 3)", data: data + [1]))
                == "d.npz: member 'x.npy': 25 bytes of data follow the .npy header, <f4 [2, 3] needs 24: the member has bytes after the array")
            #expect(try open(Array(NpyBytes.file(descr: "<f4", shape: "(2, 3)").prefix(30)))
                == "d.npz: member 'x.npy': truncated: the member holds 30 bytes, too few for a .npy header")
            #expect(try open(Array("not an array at all".utf8))
                == "d.npz: member 'x.npy': not a .npy array: the magic bytes \\x93NUMPY are missing")
        }
    }

    @Test("A cut-off zip is a clear error naming the file")
    func truncatedZip() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let whole = try TestSupport.bytes(of: DataTests.test)
            for keep in [whole.count - 10, whole.count / 2, 100, 4] {
                let path = try TestSupport.write(Array(whole.prefix(keep)), to: folder, name: "cut\(keep).npz")
                let message = TestSupport.errorDescription { _ = try DataSet(path: path, preprocessing: nil) }
                #expect(message == "\(path): not a readable .npz (zip) archive: no end-of-central-directory record (the file is truncated or not a zip)")
            }
        }
    }

    @Test("Corrupt member data is caught by zlib or the CRC-32, in stored and deflated archives")
    func corruptZip() throws {
        try TestSupport.withTemporaryDirectory { folder in
            // Stored: flip a byte inside x's data; only the CRC-32 can tell.
            var stored = try TestSupport.bytes(of: DataTests.train)
            stored[50_000] ^= 0x40
            let storedPath = try TestSupport.write(stored, to: folder, name: "stored.npz")
            let storedData = try DataSet(path: storedPath, preprocessing: nil)
            let storedMessage = TestSupport.errorDescription { try storedData.forEachBatch(size: 100) { _ in } }
            #expect(storedMessage?.hasPrefix("\(storedPath): member 'x.npy': corrupt zip: CRC-32 of the member is 0x") == true, "\(storedMessage ?? "no error")")
            // Deflated: damage the middle of x's compressed stream.
            let original = try TestSupport.bytes(of: DataTests.test)
            for offset in [5_000, 9_001, 12_345] {
                var deflated = original
                for index in offset..<offset + 16 { deflated[index] ^= 0xA5 }
                let path = try TestSupport.write(deflated, to: folder, name: "deflated\(offset).npz")
                let message = TestSupport.errorDescription {
                    try DataSet(path: path, preprocessing: nil).forEachBatch(size: 100) { _ in }
                }
                #expect(message?.hasPrefix("\(path): member 'x.npy': ") == true, "\(message ?? "no error")")
                #expect(message?.contains("corrupt") == true || message?.contains("truncated") == true, "\(message ?? "no error")")
            }
        }
    }

    @Test("A stored member whose recorded size runs past the end of the file: read in one chunk, or in several", arguments: [
        (200, "truncated: 273 bytes of data follow the .npy header, |u1 [1, 300] needs 300"),
        (70_000, "truncated: 70073 bytes of data follow the .npy header, |u1 [1, 70100] needs 70100"),
    ])
    func sizeOverrunsFile(dataCount: Int, expected: String) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let path = folder + "/d.npz"
            try NpzWriter.writeMembers([("x.npy", NpyBytes.file(descr: "|u1", shape: "(1, \(dataCount))", data: [UInt8](repeating: 1, count: dataCount)))],
                                       to: path, compressed: false)
            var bytes = try TestSupport.bytes(of: path)
            // The member starts at offset 35 (30-byte local header, "x.npy") with a 128-byte .npy
            // header. Claim a size 8 bytes short of the file's: past its end, though not larger
            // than it, in both zip headers and in the .npy header, so only the end of the file tells.
            let claimed = bytes.count - 8
            let central = try #require(bytes.indices.first { bytes[$0..<min($0 + 4, bytes.count)].elementsEqual([0x50, 0x4B, 0x01, 0x02]) })
            for offset in [18, 22, central + 20, central + 24] {
                withUnsafeBytes(of: UInt32(claimed).littleEndian) { bytes.replaceSubrange(offset..<offset + 4, with: $0) }
            }
            let header = NpyBytes.file(descr: "|u1", shape: "(1, \(claimed - 128))")
            #expect(header.count == 128)
            bytes.replaceSubrange(35..<35 + 128, with: header)
            try TestSupport.write(bytes, to: folder, name: "d.npz")
            let message = TestSupport.errorDescription { try DataSet(path: path, preprocessing: nil).forEachBatch(size: 1) { _ in } }
            #expect(message == "\(path): member 'x.npy': " + expected)
        }
    }

    @Test("mean or std with the wrong number of channels; the hint when x looks NHWC")
    func channelMismatch() throws {
        #expect(try Self.openError([("x", Self.images)], preprocessing: Preprocessing(mean: [0, 0, 0, 0, 0], std: [1]))
            == "d.npz: preprocessing has 5 mean values, but x has 3 channels (layout nchw, shape [4, 3, 2, 2])")
        #expect(try Self.openError([("x", Self.images)], preprocessing: Preprocessing(mean: [0, 0, 0], std: [1, 1, 1, 1]))
            == "d.npz: preprocessing has 4 std values, but x has 3 channels (layout nchw, shape [4, 3, 2, 2])")
        let nhwc = NpzWriter.ArrayData(float32: [Float](repeating: 0, count: 2 * 4 * 4 * 3), shape: [2, 4, 4, 3])
        #expect(try Self.openError([("x", nhwc)], preprocessing: Preprocessing(mean: [0, 0, 0], std: [1]))
            == "d.npz: preprocessing has 3 mean values, but x has 4 channels (layout nchw, shape [2, 4, 4, 3]); is x N×H×W×C? then use layout nhwc")
        #expect(try Self.openError([("x", Self.images)], layout: .nhwc, preprocessing: Preprocessing(mean: [0, 0, 0], std: [1]))
            == "d.npz: preprocessing has 3 mean values, but x has 2 channels (layout nhwc, shape [4, 3, 2, 2]); is x N×C×H×W? then use layout nchw")
        #expect(try Self.openError([("x", .init(float32: [0, 0, 0, 0], shape: [2, 2]))], preprocessing: Preprocessing(layout: .nf, mean: [0, 0, 0], std: [1]))
            == "d.npz: preprocessing has 3 mean values, but x has 2 features (layout nf, shape [2, 2])")
    }

    @Test("Augmenting feature vectors, a limit below 1, a batch size below 1")
    func badOptions() throws {
        let features = NpzWriter.ArrayData(float32: [0, 0, 0, 0], shape: [2, 2])
        #expect(try Self.openError([("x", features)], augmentation: Augmentation(horizontalFlip: true))
            == "d.npz: random crop and flip need images, but x is N×F (layout nf, shape [2, 2])")
        #expect(try Self.openError([("x", features)], augmentation: Augmentation(cropPadding: 0)) == nil)
        #expect(try Self.openError([("x", features)], limit: 0) == "d.npz: limit must be at least 1 sample, got 0")
        let data = try DataSet(path: DataTests.test, preprocessing: nil)
        #expect(TestSupport.errorDescription { try data.forEachBatch(size: 0) { _ in } } == "\(DataTests.test): batch size must be at least 1, got 0")
    }

    @Test("A missing file, a bare .npy file and a file that is neither zip nor checkpoint")
    func notDataFiles() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let missing = folder + "/missing.npz"
            #expect(TestSupport.errorDescription { _ = try DataSet(path: missing, preprocessing: nil) } == "\(missing): cannot open: No such file or directory")
            let npy = try TestSupport.write(NpzWriter.ArrayData(float32: [1], shape: [1, 1]).npyBytes, to: folder, name: "x.npy")
            #expect(TestSupport.errorDescription { _ = try DataSet(path: npy, preprocessing: nil) }
                == "\(npy): a single .npy array; data must be an .npz archive holding x and y (numpy.savez) or a checkpoint-format file")
            let text = try TestSupport.write(Array("hello, world".utf8), to: folder, name: "notes.txt")
            let message = TestSupport.errorDescription { _ = try DataSet(path: text, preprocessing: nil) }
            #expect(message?.hasPrefix("\(text): not a checkpoint") == true, "\(message ?? "no error")")
        }
    }
}

}

/// Collecting a data set's batches for comparison.
enum DataBatches {
    static func collect(_ data: DataSet, size: Int) throws -> [Batch] {
        var batches: [Batch] = []
        try data.forEachBatch(size: size) { batches.append($0) }
        return batches
    }
}
