#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where one tensor's elements lie in a `torch.save` file, and how to gather them into a
/// contiguous little-endian block.
struct TensorPlacement: Sendable {
    var name: String
    var dtype: DType
    var shape: [Int]
    /// Element strides (PyTorch's, in elements).
    var strides: [Int]
    /// File offset of storage element 0 of this tensor's view (storage start plus the view
    /// and storage offsets), in bytes.
    var firstElementOffset: Int
    /// Whether the elements are stored big-endian.
    var byteSwap: Bool
    /// Whether the elements are stored in C order without gaps: read straight through.
    var isContiguous: Bool
    var elementCount: Int
    var byteCount: Int { elementCount * dtype.byteSize }

    /// Checks `tensor` against its storage's record in `file`.
    /// - Throws: naming the tensor if its storage is missing, too short for its own size, or
    ///   the view reaches past the storage's end ("storage out of range").
    init(name: String, tensor: TorchTensorReference, file: PyTorchFile, path: String) throws {
        let storage = tensor.storage
        let recordName = file.format == .pytorchZip ? "\(file.recordPrefix)data/\(storage.key)" : "storage '\(storage.key)'"
        guard let range = file.storages[storage.key] else {
            throw SWAError(file: path, "tensor '\(name)': its storage \(recordName) is not in the file")
        }
        let elementSize = storage.dtype.byteSize
        let available = range.count / elementSize
        guard storage.elementCount <= available else {
            throw SWAError(file: path, "tensor '\(name)': storage \(recordName) holds \(available) elements, the pickle says \(storage.elementCount)")
        }
        // Element indices are absolute in the storage record (a legacy view starts at its offset).
        var count = 1
        var (lastIndex, overflow) = storage.viewOffset.addingReportingOverflow(tensor.storageOffset)
        let start = lastIndex
        for (size, stride) in zip(tensor.shape, tensor.strides) {
            var step: Int
            (count, overflow) = count.multipliedReportingOverflow(by: size)
            if overflow { break }
            (step, overflow) = max(0, size - 1).multipliedReportingOverflow(by: stride)
            if overflow { break }
            (lastIndex, overflow) = lastIndex.addingReportingOverflow(step)
            if overflow { break }
        }
        guard !overflow, start <= storage.elementCount, count == 0 || lastIndex < storage.elementCount else {
            throw SWAError(file: path, "tensor '\(name)' (size \(TensorInfo.describe(tensor.shape)), stride \(TensorInfo.describe(tensor.strides)), offset \(tensor.storageOffset)) reaches past the end of its storage \(recordName) of \(storage.elementCount) elements: storage out of range")
        }
        self.name = name
        dtype = storage.dtype
        shape = tensor.shape
        strides = tensor.strides
        firstElementOffset = range.lowerBound + start * elementSize
        byteSwap = file.bigEndian && elementSize > 1
        elementCount = count
        var expected = 1
        var contiguous = true
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { contiguous = false }
            expected *= size
        }
        isContiguous = contiguous || count <= 1
    }

    /// The tensor as a contiguous little-endian block of `byteCount` bytes.
    func materialise(_ reader: StorageReader) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: byteCount)
        try result.withUnsafeMutableBytes { try materialise(reader, into: $0) }
        return result
    }

    /// Writes the tensor as a contiguous little-endian block into `destination` (`byteCount` bytes).
    func materialise(_ reader: StorageReader, into destination: UnsafeMutableRawBufferPointer) throws {
        guard elementCount > 0 else { return }
        let size = dtype.byteSize
        if isContiguous {
            try reader.read(at: firstElementOffset, into: destination)
        } else {
            // Read the span the view covers once, then gather in C order.
            let lastElement = zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
            var span = [UInt8](repeating: 0, count: (lastElement + 1) * size)
            try span.withUnsafeMutableBytes { try reader.read(at: firstElementOffset, into: $0) }
            span.withUnsafeBytes { source in gather(source, into: destination, elementSize: size) }
        }
        if byteSwap { Self.swapBytes(destination, elementSize: size) }
    }

    /// Copies the strided view out of `source` (the storage from this view's first element).
    private func gather(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize: Int) {
        let rank = shape.count
        let innerSize = shape[rank - 1]
        let innerStride = strides[rank - 1] * elementSize
        var index = [Int](repeating: 0, count: rank)
        var written = 0
        let rows = elementCount / innerSize
        for _ in 0..<rows {
            var base = 0
            for dimension in 0..<(rank - 1) { base += index[dimension] * strides[dimension] }
            let from = source.baseAddress! + base * elementSize
            let to = destination.baseAddress! + written
            if innerStride == elementSize {
                memcpy(to, from, innerSize * elementSize)
            } else {
                for element in 0..<innerSize { memcpy(to + element * elementSize, from + element * innerStride, elementSize) }
            }
            written += innerSize * elementSize
            var dimension = rank - 2
            while dimension >= 0 {
                index[dimension] += 1
                if index[dimension] < shape[dimension] { break }
                index[dimension] = 0
                dimension -= 1
            }
        }
    }

    static func swapBytes(_ buffer: UnsafeMutableRawBufferPointer, elementSize: Int) {
        let bytes = buffer.bindMemory(to: UInt8.self)
        var start = 0
        while start + elementSize <= bytes.count {
            var low = start
            var high = start + elementSize - 1
            while low < high {
                bytes.swapAt(low, high)
                low += 1
                high -= 1
            }
            start += elementSize
        }
    }
}
