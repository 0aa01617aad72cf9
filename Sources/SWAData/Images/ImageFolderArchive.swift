import Foundation
import Synchronization
import SWAFormats

/// A folder of images laid out as torchvision's `ImageFolder` reads it, served as the arrays
/// `x` (`[N, 3, S, S]` uint8, decoded and transformed) and `y` (`[N]` int64 class indices).
///
/// `root/<class>/<file>`: class folders sorted by name and labelled 0, 1, ... in that order;
/// within a class, files sorted by name (torchvision's order). Files are taken by their
/// extension, as torchvision takes them (`.jpg`, `.jpeg`, `.png`, any case); other files are
/// ignored, hidden ones too. Images are decoded (`ImageDecoder`) and transformed
/// (`ImagePipeline`) on all cores, a block of images at a time, so memory is bounded by a
/// block whatever the folder's size.
public final class ImageFolderArchive: ArrayContainer {
    /// The folder as the user gave it.
    public let path: String
    /// Class folder names, in label order.
    public let classes: [String]
    /// Every image file and its label, in sample order.
    public let samples: [(file: String, label: Int)]
    /// Files skipped because their header did not decode (only with `skipBad`).
    public let skipped: [String]
    /// What is done to each decoded image.
    public let pipeline: ImagePipeline
    /// Seeds the pipeline's random crops and flips.
    public let seed: UInt64
    /// Output images are `width × height`.
    public let width: Int, height: Int

    /// Extensions taken as images, lower-cased.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]
    /// Images decoded per block, per thread.
    static let imagesPerThreadPerBlock = 16

    public var keys: [String] { ["x", "y"] }

    /// Lists the folder and fixes the output size: the pipeline's crop, else the first image's
    /// size, which every image must then share.
    /// - Parameter skipBad: check every image's header now and leave out those that fail,
    ///   listing them in `skipped`; without it, the first image that does not decode ends the
    ///   pass with an error naming it.
    /// - Throws: naming the folder when it holds no class folders or a class folder holds no
    ///   images; naming the file when the first image does not decode.
    public init(path: String, pipeline: ImagePipeline, seed: UInt64 = 0, skipBad: Bool = false) throws {
        self.path = path
        self.pipeline = pipeline
        self.seed = seed
        let classes = try Self.visibleEntries(of: path).filter { Self.isDirectory(Self.join(path, $0)) }
        guard !classes.isEmpty else {
            throw SWAError(file: path, "no class folders: an image folder holds one folder of images per class (root/<class>/<image>)")
        }
        var samples: [(file: String, label: Int)] = []
        var skipped: [String] = []
        let checker = skipBad ? ImageDecoder() : nil
        for (label, name) in classes.enumerated() {
            let folder = Self.join(path, name)
            let images = try Self.visibleEntries(of: folder).filter {
                Self.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) && !Self.isDirectory(Self.join(folder, $0))
            }
            guard !images.isEmpty else {
                throw SWAError(file: folder, "class folder '\(name)' holds no .jpg, .jpeg or .png images")
            }
            for image in images {
                let file = Self.join(folder, image)
                if let checker, (try? checker.decode(path: file)) == nil {
                    skipped.append(file)
                    continue
                }
                samples.append((file, label))
            }
        }
        guard !samples.isEmpty else { throw SWAError(file: path, "no image decodes (\(skipped.count) skipped)") }
        self.classes = classes
        self.samples = samples
        self.skipped = skipped
        if let size = pipeline.fixedSize {
            width = size
            height = size
        } else {
            let first = pipeline.apply(try ImageDecoder().decode(path: samples[0].file), seed: seed, index: 0)
            width = first.width
            height = first.height
        }
    }

    public func info(of key: String) throws -> ArrayInfo {
        switch key {
        case "x": ArrayInfo(key: "x", dtype: .u8, shape: [samples.count, 3, height, width], source: ArraySource(file: path))
        case "y": ArrayInfo(key: "y", dtype: .i64, shape: [samples.count], source: ArraySource(file: path))
        default: throw missingKeyError(key)
        }
    }

    public func streamElements(of key: String, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        switch key {
        case "x": try streamImages(from: 0, body)
        case "y":
            let labels = samples.map { Int64($0.label).littleEndian }
            _ = try labels.withUnsafeBytes { try body($0) }
        default: throw missingKeyError(key)
        }
    }

    /// For `x` from a whole image on, decodes only the images from there (a shard of a pass);
    /// otherwise reads and drops, as every container does.
    public func streamElements(of key: String, skippingBytes skip: Int, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        let imageBytes = 3 * width * height
        guard key == "x", skip % imageBytes == 0 else {
            return try streamElementsReadingAndDropping(of: key, skippingBytes: skip, body)
        }
        try streamImages(from: skip / imageBytes, body)
    }

    /// A digest of the folder's listing: every sample's relative path, size and label, and the
    /// classes (reading every image to hash it would cost as much as a pass).
    public var listingDigestInput: [UInt8] {
        var text = "image-folder\n" + classes.joined(separator: "\n") + "\n"
        for (file, label) in samples {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? -1
            text += "\(label)\t\(size)\t\(file.dropFirst(path.count))\n"
        }
        return Array(text.utf8)
    }

    // MARK: - Decoding in parallel

    /// Decodes block after block into two buffers: while `body` takes one block, the decoding
    /// threads fill the other, so the cores stay busy while the consumer converts and runs the
    /// model (about 13% of a pass with a tiny model; docs/PERFORMANCE.md).
    private func streamImages(from firstImage: Int, _ body: (UnsafeRawBufferPointer) throws -> ReadStep) throws {
        let threads = WorkerThreads.count
        let blockCount = threads * Self.imagesPerThreadPerBlock
        let imageBytes = 3 * width * height
        let buffers = (0..<2).map { _ in BlockPointer(address: .allocate(capacity: blockCount * imageBytes)) }
        let decoders = (0..<threads).map { _ in ImageDecoder() }
        let work = DispatchGroup()
        defer {
            // A block may still be decoding when `body` stops or throws: wait before freeing.
            work.wait()
            for buffer in buffers { buffer.address.deallocate() }
        }
        /// Starts decoding the block of `count` images from `first` into `buffer`; wait on `work`.
        func startBlock(first: Int, count: Int, into buffer: BlockPointer) -> ErrorSlots {
            let errors = ErrorSlots(count: count)
            let samples = self.samples, pipeline = self.pipeline, seed = self.seed, width = self.width, height = self.height
            work.enter()
            DispatchQueue.global().async {
                let next = WorkCounter()
                DispatchQueue.concurrentPerform(iterations: threads) { worker in
                    // Each thread takes the next image not yet taken: images differ in size, so
                    // a fixed share per thread would leave one idle at the end of every block.
                    while case let offset = next.take(), offset < count {
                        let index = first + offset
                        do {
                            let decoded = try decoders[worker].decode(path: samples[index].file)
                            let image = pipeline.apply(decoded, seed: seed, index: index)
                            guard image.width == width, image.height == height else {
                                throw SWAError(file: samples[index].file, "image is \(image.width)×\(image.height) after the transforms, but the first is \(width)×\(height); give a crop size (--crop) so that all images agree")
                            }
                            image.writePlanar(to: UnsafeMutableBufferPointer(start: buffer.address + offset * imageBytes, count: imageBytes))
                        } catch {
                            errors.set(offset, error)
                        }
                    }
                }
                work.leave()
            }
            return errors
        }
        var start = min(firstImage, samples.count)
        var current = 0
        var count = min(blockCount, samples.count - start)
        var errors = startBlock(first: start, count: count, into: buffers[0])
        while count > 0 {
            work.wait()
            if let error = errors.first { throw error }
            let nextStart = start + count
            let nextCount = min(blockCount, samples.count - nextStart)
            let nextErrors = nextCount > 0 ? startBlock(first: nextStart, count: nextCount, into: buffers[1 - current]) : nil
            let step = try body(UnsafeRawBufferPointer(start: buffers[current].address, count: count * imageBytes))
            if case .stop = step { return }
            start = nextStart
            count = nextCount
            current = 1 - current
            if let nextErrors { errors = nextErrors }
        }
    }

    // MARK: - Listing

    static func visibleEntries(of folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw SWAError(file: folder, "cannot list the folder: \(error.localizedDescription)")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}

/// A block buffer, shared by the decoding threads; each writes only its own images' bytes, and
/// the consumer reads it only after the group that fills it has finished.
private struct BlockPointer: @unchecked Sendable {
    var address: UnsafeMutablePointer<UInt8>
}

/// Hands out 0, 1, 2, ... to the decoding threads, each number once.
private final class WorkCounter: Sendable {
    private let value = Atomic<Int>(0)

    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

/// The errors of a block's images, one slot per image, written from several threads.
private final class ErrorSlots: @unchecked Sendable {
    private var slots: [(any Error)?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ error: any Error) {
        lock.lock()
        slots[index] = error
        lock.unlock()
    }

    /// The error of the lowest-numbered image, so that the report does not depend on timing.
    var first: (any Error)? { slots.lazy.compactMap { $0 }.first }
}
