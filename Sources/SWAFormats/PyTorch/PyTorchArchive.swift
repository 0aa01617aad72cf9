/// A `torch.save` file (zip or legacy format) seen as a safetensors payload: its state dict's
/// tensors, in the dict's order, each contiguous and little-endian, back to back.
///
/// Opening unpickles the object with `TorchPickleResolver` (nothing is imported or called),
/// finds the state dict (`ArchiveOptions`, `StateDictLocator`) and checks that every tensor
/// lies inside its storage. Data streams then read each tensor in place from the file by
/// offset: contiguous tensors straight into the reader's buffer, views (slices, transposes,
/// expanded dimensions, storage offsets) gathered one tensor at a time. Tensors sharing a
/// storage (tied weights) each get their own copy in the payload. Memory is bounded by the
/// largest tensor, never by the file.
public final class PyTorchArchive: TensorArchive {
    public let path: String
    /// `.pytorchZip` or `.pickle` (the legacy format).
    public let format: FileFormat
    public let header: SafetensorsHeader
    public let fileByteCount: Int
    /// What the file holds besides the tensors, for `swa-inspect`.
    public let structure: PyTorchStructure

    let placements: [TensorPlacement]
    private let onRawBytes: ((UnsafeRawBufferPointer) -> Void)?
    private var observerUsed = false

    /// Opens and parses `path`, whose first bytes told `format` (`.pytorchZip` or `.pickle`).
    /// - Parameter onRawBytes: sees every byte of the file in order through the first data
    ///   stream opened without an observer (hashing, progress).
    /// - Throws: naming the file (and the tensor) if it is damaged, holds no reachable state
    ///   dict, or a tensor lies outside its storage.
    public init(path: String, format: FileFormat, options: ArchiveOptions = .none,
                onRawBytes: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        let file = try InputFile(path: path)
        let parsed = try PyTorchFile.parse(file: file, format: format)
        let locator = StateDictLocator(heap: parsed.heap, root: parsed.root, path: path)
        let found = try locator.locate(options)
        var placements: [TensorPlacement] = []
        var specs: [TensorSpec] = []
        for (name, tensor) in found.tensors {
            let placement = try TensorPlacement(name: name, tensor: tensor, file: parsed, path: path)
            placements.append(placement)
            specs.append(TensorSpec(name: name, dtype: tensor.storage.dtype, shape: tensor.shape))
        }
        self.path = path
        self.format = parsed.format
        header = SafetensorsHeader(laying: specs, metadata: parsed.metadata())
        fileByteCount = file.size
        self.placements = placements
        self.onRawBytes = onRawBytes
        structure = PyTorchStructure(file: parsed, found: found)
    }

    public func openDataStream(onRawBytes: ((UnsafeRawBufferPointer) -> Void)?) throws -> any TensorDataStream {
        var observer = onRawBytes
        if observer == nil, !observerUsed {
            observer = self.onRawBytes
            observerUsed = true
        }
        let file = try InputFile(path: path)
        guard file.size == fileByteCount else { throw SWAError(file: path, "changed on disk while being read") }
        return PyTorchDataStream(file: file, tensors: header.tensors, placements: placements, onRawBytes: observer)
    }

    public func readTensor(named name: String) throws -> [UInt8] {
        guard let index = header.tensors.firstIndex(where: { $0.name == name }) else { throw missingTensorError(name) }
        let file = try InputFile(path: path)
        guard file.size == fileByteCount else { throw SWAError(file: path, "changed on disk while being read") }
        let reader = StorageReader(file: file, onRawBytes: nil)
        return try placements[index].materialise(reader)
    }
}
