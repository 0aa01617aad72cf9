// MARK: - Reading every tensor and counting its NaN and Inf

extension TensorDataStream {
    /// Reads the data section from its first byte to the end of the last of `tensors` (a
    /// header's tensors, in payload order, contiguous from data offset 0) and counts each float
    /// tensor's NaN and infinite elements.
    ///
    /// Memory is one 1 MiB buffer. Call `finish()` afterwards to check that nothing follows.
    /// - Parameter reading: told of each tensor before its bytes are read, so that an error
    ///   thrown by the stream can be blamed on the tensor it broke in.
    /// - Returns: one entry per tensor, in order: `nil` where every element is finite.
    public func countNonFiniteValues(in tensors: [TensorInfo],
                                     reading: ((TensorInfo) -> Void)? = nil) throws -> [NonFiniteValues?] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        return try tensors.map { tensor in
            reading?(tensor)
            try skipData(to: tensor.dataOffsets.lowerBound)
            let elementSize = tensor.dtype.byteSize
            let step = buffer.count / elementSize * elementSize
            var values = NonFiniteValues()
            var done = 0
            while done < tensor.byteCount {
                let count = min(step, tensor.byteCount - done)
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
                try readData(into: chunk)
                values.scan(UnsafeRawPointer(chunk.baseAddress!), dtype: tensor.dtype, count: count / elementSize, firstElement: done / elementSize)
                done += count
            }
            return values.count > 0 ? values : nil
        }
    }
}
