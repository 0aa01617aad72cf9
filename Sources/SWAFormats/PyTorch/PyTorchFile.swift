/// A `torch.save` file parsed up to its storages: the unpickled object and where each
/// storage's bytes lie in the file. No storage is read here.
///
/// Two layouts (PyTorch `torch/serialization.py`):
/// - **zip** (PyTorch 1.6 and later): `PREFIX/data.pkl` (the object, storages as persistent
///   ids `('storage', type, key, location, numel)`), `PREFIX/data/KEY` (each storage's raw
///   bytes, stored uncompressed), `PREFIX/byteorder` (`little` or `big`; absent means little).
/// - **legacy** (before 1.6, or `_use_new_zipfile_serialization=False`): consecutive pickles
///   of the magic number `0x1950a86a20f9469cfc6c`, the protocol version 1001, a `sys_info`
///   dict (`little_endian`, type sizes), the object, and the sorted list of storage keys; then
///   each storage in that order as an 8-byte little-endian element count and its elements.
///   PyTorch's C++ writer (`torch/csrc/serialization.cpp`, `THPStorage_writeFileRaw`)
///   always stores those elements little-endian, whatever `little_endian` says about the
///   machine that saved them, so no swap is needed.
struct PyTorchFile {
    /// `.pytorchZip` or `.pickle` (legacy).
    var format: FileFormat
    var heap: PickleHeap
    var root: PickleValue
    /// Byte range in the file of each storage's elements, by key.
    var storages: [String: Range<Int>]
    /// Whether elements are big-endian (a zip `byteorder` record saying `big`).
    var bigEndian: Bool
    /// Zip only: the archive's folder name (`archive/`, or the file's stem for older writers).
    var recordPrefix: String

    /// The legacy format's magic number, as the first pickle stores it (LONG1, 10 bytes).
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let legacyProtocolVersion = 1001

    /// Parses `file`, whose format `FileFormat.detect` found to be `format`.
    static func parse(file: InputFile, format: FileFormat) throws -> PyTorchFile {
        switch format {
        case .pytorchZip, .zip: try PyTorchFile(zip: file)
        default: try PyTorchFile(legacy: file)
        }
    }

    private init(zip file: InputFile) throws {
        let path = file.path
        let directory = try ZipDirectory(file: file)
        guard let pickleName = directory.names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }),
              let pickle = directory.members[pickleName] else {
            throw SWAError(file: path, "a zip archive without data.pkl: not a torch.save file")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        guard pickle.method == 0 else { throw SWAError(file: path, "\(pickleName) is compressed; torch.save stores it uncompressed") }
        var bigEndian = false
        if let order = directory.members[prefix + "byteorder"] {
            let text = try file.bytes(at: order.dataRange.lowerBound, count: min(order.dataRange.count, 16)).map { String(decoding: $0, as: UTF8.self) }
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw SWAError(file: path, "\(prefix)byteorder says '\(text ?? "")', neither 'little' nor 'big'")
            }
        }
        let input = PickleInput(file: file, offset: pickle.dataRange.lowerBound, end: pickle.dataRange.upperBound)
        var unpickler = Unpickler(input: input, resolver: TorchPickleResolver())
        do {
            root = try unpickler.load()
        } catch let error as PickleError {
            throw SWAError(file: path, "\(pickleName): \(error.message)")
        }
        heap = unpickler.heap
        var storages: [String: Range<Int>] = [:]
        let dataPrefix = prefix + "data/"
        for name in directory.names where name.hasPrefix(dataPrefix) {
            let member = directory.members[name]!
            guard member.method == 0 else { throw SWAError(file: path, "storage \(name) is compressed; torch.save stores storages uncompressed") }
            storages[String(name.dropFirst(dataPrefix.count))] = member.dataRange
        }
        self.format = .pytorchZip
        self.storages = storages
        self.bigEndian = bigEndian
        recordPrefix = prefix
    }

    private init(legacy file: InputFile) throws {
        let path = file.path
        let input = PickleInput(file: file, offset: 0)
        func next<R: PickleResolver>(_ what: String, _ resolver: R) throws -> (PickleValue, PickleHeap) {
            var unpickler = Unpickler(input: input, resolver: resolver)
            do {
                return (try unpickler.load(), unpickler.heap)
            } catch let error as PickleError {
                throw SWAError(file: path, "legacy torch.save format, \(what): \(error.message)")
            }
        }
        let (magic, _) = try next("magic number", PlainPickleResolver())
        guard case .bigInt(let bytes) = magic, bytes == Self.legacyMagic else {
            throw SWAError(file: path, "a Python pickle without torch.save's magic number; not a PyTorch checkpoint")
        }
        let (version, _) = try next("protocol version", PlainPickleResolver())
        guard case .int(Self.legacyProtocolVersion) = version else {
            throw SWAError(file: path, "legacy torch.save protocol version \(version), expected \(Self.legacyProtocolVersion)")
        }
        let (systemInfo, systemHeap) = try next("sys_info", PlainPickleResolver())
        guard systemHeap.dictionary(systemInfo) != nil else { throw SWAError(file: path, "legacy torch.save format: sys_info is not a dict") }
        (root, heap) = try next("object", TorchPickleResolver())
        let (keyList, keyHeap) = try next("storage keys", PlainPickleResolver())
        guard let keyValues = keyHeap.sequence(keyList) else { throw SWAError(file: path, "legacy torch.save format: the storage key list is not a list") }
        // Element sizes come from the object's storage references.
        var elementSizes: [String: Int] = [:]
        for node in heap.nodes {
            if case .native(let native) = node, let storage = native as? TorchStorageReference {
                elementSizes[storage.key] = storage.dtype.byteSize
            }
        }
        var storages: [String: Range<Int>] = [:]
        var offset = input.offset
        for value in keyValues {
            guard let key = keyHeap.text(value), let elementSize = elementSizes[key] else {
                throw SWAError(file: path, "legacy torch.save format: storage key \(keyHeap.describeScalar(value)) is not used by the object")
            }
            guard let countBytes = try file.bytes(at: offset, count: 8) else {
                throw SWAError(file: path, "truncated: the file ends before storage '\(key)'")
            }
            let count = countBytes.le64(0)
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: UInt64(elementSize))
            guard !overflow, byteCount <= UInt64(file.size - offset - 8) else {
                throw SWAError(file: path, "truncated: storage '\(key)' claims \(count) elements, more than the file holds")
            }
            storages[key] = (offset + 8)..<(offset + 8 + Int(byteCount))
            offset += 8 + Int(byteCount)
        }
        format = .pickle
        self.storages = storages
        bigEndian = false
        recordPrefix = ""
    }

    /// `epoch`, and `global_step` or `step`, from a root dict, as `swa.*` metadata.
    func metadata() -> [String: String] {
        var metadata = CheckpointMetadata()
        guard let top = heap.dictionary(root) else { return [:] }
        func number(_ key: String) -> Double? {
            switch top[key] {
            case .int(let value)?: Double(value)
            case .float(let value)? where value.isFinite: value
            default: nil
            }
        }
        metadata.epoch = number("epoch")
        metadata.step = number("global_step") ?? number("step")
        return metadata.values
    }
}
