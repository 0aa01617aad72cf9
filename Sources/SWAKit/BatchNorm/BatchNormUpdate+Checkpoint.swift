import SWAData
import SWAEngine
import SWAFormats
// MARK: - Writing the updated checkpoint

extension BatchNormUpdate.Result {
    /// Writes `source` with its BN running statistics and counters replaced by this result's,
    /// each in the dtype the source stores it in, and `metadata` as the new `__metadata__`.
    public func write(over source: LoadedCheckpoint, metadata: [String: String], to destination: String, overwrite: Bool) throws {
        let tensors = try source.header.tensors.map { info -> (spec: TensorSpec, bytes: [UInt8]) in
            var bytes = source.tensors[info.name]!
            if let values = statistics[info.name] {
                let doubles = values.map(Double.init)
                bytes = [UInt8](repeating: 0, count: info.byteCount)
                let fits = doubles.withUnsafeBufferPointer { acc in
                    bytes.withUnsafeMutableBytes { out in
                        encodeAverage(acc.baseAddress!, count: doubles.count, divisor: 1, as: info.dtype, into: out.baseAddress!)
                    }
                }
                guard fits else {
                    throw SWAError(file: destination, "tensor '\(info.name)': the recomputed statistic is not finite in \(info.dtype.name)")
                }
            } else if let counter = counters[info.name] {
                bytes = try encodeCounter(counter, as: info, file: source.path)
            }
            return (TensorSpec(name: info.name, dtype: info.dtype, shape: info.shape), bytes)
        }
        try CheckpointWriter.write(tensors, metadata: metadata, to: destination, overwrite: overwrite)
    }

    private func encodeCounter(_ value: Int64, as info: TensorInfo, file: String) throws -> [UInt8] {
        func bytes<T: FixedWidthInteger>(_ integer: T) -> [UInt8] { withUnsafeBytes(of: integer.littleEndian) { Array($0) } }
        switch info.dtype {
        case .i64: return bytes(value)
        case .i32: return bytes(Int32(clamping: value))
        case .i16: return bytes(Int16(clamping: value))
        case .i8: return bytes(Int8(clamping: value))
        case .u8: return bytes(UInt8(clamping: value))
        default: throw SWAError(file: file, "tensor '\(info.name)' has dtype \(info.dtype.name), expected an integer counter")
        }
    }
}
