/// A whole checkpoint in memory: its header and every tensor's bytes.
///
/// For one model that must be in memory anyway (the forward pass); averaging streams instead.
public struct LoadedCheckpoint: Sendable {
    /// The path as the user gave it.
    public var path: String
    /// The tensors (storage order) and metadata, as the checkpoint's archive presents them.
    public var header: SafetensorsHeader
    /// Raw little-endian bytes by tensor name.
    public var tensors: [String: [UInt8]]

    /// Reads and verifies all of `path`, in any checkpoint format (`TensorArchives.open`):
    /// checksums, exact layout. `options` says how to read a PyTorch file (`--key`, `--strip-prefix`).
    public init(path: String, options: ArchiveOptions = .none) throws {
        let archive = try TensorArchives.open(path: path, options: options)
        let stream = try archive.openDataStream()
        var tensors: [String: [UInt8]] = [:]
        for info in archive.header.tensors {
            tensors[info.name] = try stream.readTensorBytes(info)
        }
        try stream.finish()
        self.path = path
        self.header = archive.header
        self.tensors = tensors
    }

    /// The tensor's values as `Float`, from any float dtype; nil if absent or not floating point.
    public func floats(_ name: String) -> [Float]? {
        guard let info = header.tensor(named: name), info.dtype.isFloatingPoint, let bytes = tensors[name] else { return nil }
        if info.dtype == .f32 {
            return bytes.withUnsafeBytes { raw in (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        }
        var values = [Double](repeating: 0, count: info.elementCount)
        bytes.withUnsafeBytes { source in
            values.withUnsafeMutableBufferPointer { acc in
                accumulate(source.baseAddress!, dtype: info.dtype, count: info.elementCount, into: acc.baseAddress!, keep: 0, weight: 1, first: true)
            }
        }
        return values.map { Float($0) }
    }
}
