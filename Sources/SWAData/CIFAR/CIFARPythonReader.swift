import SWAFormats

/// The python form of CIFAR: each batch file is a dict pickled by Python 2's `cPickle`
/// (protocol 2), read with the restricted unpickler, which never imports or calls anything.
///
/// Keys are byte strings: `data` holds a numpy uint8 array `[N, 3072]` (pickled as
/// `numpy.core.multiarray._reconstruct` with its state: version, shape, dtype, Fortran flag and
/// the raw bytes), `labels` (CIFAR-10) or `fine_labels`/`coarse_labels` (CIFAR-100) a list of
/// ints. The numpy globals stay inert records: the reader only checks their names and takes
/// the bytes out of the recorded state, so no numpy code is involved.
struct CIFARPythonReader: CIFARBatchReader {
    var layout: CIFARLayout
    var labelKind: CIFARLabelKind

    static func make(layout: CIFARLayout, labelKind: CIFARLabelKind) throws -> CIFARPythonReader {
        CIFARPythonReader(layout: layout, labelKind: labelKind)
    }

    /// The array key of the labels read.
    var labelsKey: String {
        layout.classes == 10 ? "labels" : (labelKind == .fine ? "fine_labels" : "coarse_labels")
    }

    func labels(of file: String) throws -> [Int64] { try batch(of: file).labels }

    func images(of file: String) throws -> [UInt8] { try batch(of: file).images }

    /// The whole batch file: labels and images (`count × 3072` bytes).
    func batch(of file: String) throws -> (labels: [Int64], images: [UInt8]) {
        let input = PickleInput(file: try InputFile(path: file), offset: 0)
        var unpickler = Unpickler(input: input, resolver: PlainPickleResolver())
        let root: PickleValue
        do {
            root = try unpickler.load()
        } catch let error as PickleError {
            throw SWAError(file: file, "not a readable CIFAR batch pickle: \(error.message)")
        }
        let heap = unpickler.heap
        guard let dictionary = heap.dictionary(root) else {
            throw SWAError(file: file, "not a CIFAR batch: the pickle holds \(heap.describeScalar(root)), not a dict")
        }
        func entry(_ key: String) throws -> PickleValue {
            let wanted = Array(key.utf8)
            for (name, value) in dictionary.entries {
                if case .bytes(let bytes) = name, bytes == wanted { return value }
                if case .string(let text) = name, text == key { return value }
            }
            throw SWAError(file: file, "not a CIFAR-\(layout.classes) batch: no '\(key)' entry")
        }
        let limit = layout.classes == 100 && labelKind == .coarse ? 20 : layout.classes
        guard let labelValues = heap.sequence(try entry(labelsKey)) else {
            throw SWAError(file: file, "'\(labelsKey)' is not a list of integers")
        }
        let labels = try labelValues.enumerated().map { index, value -> Int64 in
            guard let label = heap.integer(value), label >= 0, label < limit else {
                throw SWAError(file: file, "label \(index) is \(heap.describeScalar(value)); CIFAR-\(layout.classes) \(labelKind.rawValue) labels are 0 to \(limit - 1)")
            }
            return Int64(label)
        }
        let images = try imageBytes(try entry("data"), heap: heap, file: file)
        guard images.count == labels.count * CIFARLayout.imageBytes else {
            throw SWAError(file: file, "holds \(images.count / CIFARLayout.imageBytes) images but \(labels.count) labels")
        }
        return (labels, images)
    }

    /// The bytes of the pickled numpy array `value`, checked to be uint8 `[N, 3072]` in C order.
    func imageBytes(_ value: PickleValue, heap: PickleHeap, file: String) throws -> [UInt8] {
        func failure(_ why: String) -> SWAError { SWAError(file: file, "'data' is not a uint8 array of N×3072 pixels: \(why)") }
        guard case .object(let array)? = heap.node(value),
              ["numpy.core.multiarray", "numpy._core.multiarray"].contains(array.callee.module), array.callee.name == "_reconstruct" else {
            throw failure("not a pickled numpy array")
        }
        guard let stateValue = array.state, let state = heap.sequence(stateValue), state.count == 5 else {
            throw failure("the array's state is not (version, shape, dtype, fortran, data)")
        }
        guard let shape = heap.integers(state[1]), shape.count == 2, shape[1] == CIFARLayout.imageBytes else {
            throw failure("shape \(heap.sequence(state[1]).map { "\($0.count) dimensions" } ?? "unreadable")")
        }
        guard case .object(let dtype)? = heap.node(state[2]), dtype.callee.name == "dtype",
              let code = dtype.arguments.first.flatMap({ text($0, heap: heap) }), code == "u1" else {
            throw failure("dtype is not u1")
        }
        if case .bool(true) = state[3] { throw failure("Fortran order") }
        let bytes: [UInt8]
        switch state[4] {
        case .bytes(let raw): bytes = raw
        case .string(let latin1):
            // Python 3 keeps the bytes of a Python 2 str as a latin-1 str.
            bytes = try latin1.unicodeScalars.map { scalar in
                guard scalar.value < 256 else { throw failure("data is text, not bytes") }
                return UInt8(scalar.value)
            }
        default:
            if case .object(let encoded)? = heap.node(state[4]), encoded.callee == PickleGlobal("_codecs", "encode"),
               let text = encoded.arguments.first.flatMap({ heap.text($0) }) {
                // Protocol 2 written by Python 3: _codecs.encode(str, 'latin1').
                bytes = try text.unicodeScalars.map { scalar in
                    guard scalar.value < 256 else { throw failure("data is text, not bytes") }
                    return UInt8(scalar.value)
                }
            } else {
                throw failure("no raw bytes in the array's state")
            }
        }
        guard bytes.count == shape[0] * shape[1] else {
            throw failure("\(bytes.count) bytes for shape [\(shape[0]), \(shape[1])]")
        }
        return bytes
    }

    private func text(_ value: PickleValue, heap: PickleHeap) -> String? {
        if case .bytes(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
        return heap.text(value)
    }
}
