/// A storage a `torch.save` pickle refers to by persistent id: which record holds its bytes,
/// its element type and its length.
public struct TorchStorageReference: Sendable, Hashable {
    /// The record key: `data/<key>` in the zip format, the position in the storage list in
    /// the legacy format.
    public var key: String
    public var dtype: DType
    /// Elements in the storage.
    public var elementCount: Int
    /// Legacy format only: the element offset of a view of the root storage `key` (else 0).
    public var viewOffset: Int
}

/// A tensor as `torch._utils._rebuild_tensor_v2` would build it: a strided view of a storage.
public struct TorchTensorReference: Sendable {
    public var storage: TorchStorageReference
    /// Offset of element `[0, ..., 0]` in the storage, in elements.
    public var storageOffset: Int
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// Element steps per dimension (PyTorch strides, in elements; 0 for an expanded dimension).
    public var strides: [Int]
}

/// The globals a PyTorch state dict needs and nothing else (compare PyTorch's
/// `torch/_weights_only_unpickler.py`): `collections.OrderedDict`, `torch.device`, the tensor
/// and parameter rebuild functions, and the storage types named inside persistent ids.
public struct TorchPickleResolver: PickleResolver {
    public init() {}

    /// Storage class names and the dtypes they hold (`torch.FloatStorage` ...). An
    /// `UntypedStorage` holds bytes.
    public static let storageTypes: [String: DType] = [
        "DoubleStorage": .f64, "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool, "UntypedStorage": .u8,
    ]

    static let rebuildTensor = PickleGlobal("torch._utils", "_rebuild_tensor_v2")
    static let rebuildTensorV1 = PickleGlobal("torch._utils", "_rebuild_tensor")
    static let rebuildParameter = PickleGlobal("torch._utils", "_rebuild_parameter")
    static let rebuildParameterWithState = PickleGlobal("torch._utils", "_rebuild_parameter_with_state")
    static let rebuildFromType = PickleGlobal("torch._tensor", "_rebuild_from_type_v2")
    static let orderedDict = PickleGlobal("collections", "OrderedDict")
    static let device = PickleGlobal("torch", "device")

    static let recognised: Set<PickleGlobal> = [
        rebuildTensor, rebuildTensorV1, rebuildParameter, rebuildParameterWithState, rebuildFromType, orderedDict, device,
    ]

    public func recognises(_ global: PickleGlobal) -> Bool {
        Self.recognised.contains(global)
    }

    public func call(_ global: PickleGlobal, arguments: [PickleValue], heap: inout PickleHeap) throws -> PickleValue {
        switch global {
        case Self.orderedDict:
            return try PlainPickleResolver.orderedDict(arguments: arguments, heap: &heap)
        case Self.device:
            return .string(arguments.first.flatMap(heap.text) ?? "cpu")
        case Self.rebuildTensor, Self.rebuildTensorV1:
            // (storage, storage_offset, size, stride, requires_grad?, backward_hooks?, metadata?)
            guard arguments.count >= 4, case .native(let native)? = heap.node(arguments[0]), let storage = native as? TorchStorageReference,
                  let offset = heap.integer(arguments[1]), let shape = heap.integers(arguments[2]), let strides = heap.integers(arguments[3]) else {
                throw PickleError("arguments are not (storage, offset, size, stride)")
            }
            guard shape.count == strides.count, shape.count <= 64, offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
                throw PickleError("a tensor with size \(shape), stride \(strides) and offset \(offset)")
            }
            return heap.add(.native(TorchTensorReference(storage: storage, storageOffset: offset, shape: shape, strides: strides)))
        case Self.rebuildParameter, Self.rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the parameter is its data.
            guard let data = arguments.first else { throw PickleError("no arguments") }
            return data
        case Self.rebuildFromType:
            // (func, new_type, args, state): a tensor subclass rebuilt by func(*args).
            guard arguments.count >= 3, case .global(let function)? = heap.node(arguments[0]), recognises(function),
                  let inner = heap.sequence(arguments[2]) else {
                throw PickleError("arguments are not (function, type, args, state)")
            }
            return try call(function, arguments: inner, heap: &heap)
        default:
            throw PickleError("not recognised")
        }
    }

    /// `('storage', storage_type, key, location, numel)` (zip format) or the legacy
    /// `('storage', storage_type, root_key, location, numel, view_metadata)`.
    public func persistentLoad(_ id: PickleValue, heap: inout PickleHeap) throws -> PickleValue {
        guard let fields = heap.sequence(id), fields.count == 5 || fields.count == 6, heap.text(fields[0]) == "storage" else {
            throw PickleError("a persistent id that is not a storage reference")
        }
        guard case .global(let type)? = heap.node(fields[1]) else { throw PickleError("a storage reference without a storage type") }
        guard type.module == "torch" || type.module == "torch.storage", let dtype = Self.storageTypes[type.name] else {
            throw PickleError("storage type \(type) is not supported (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)")
        }
        guard let key = heap.text(fields[2]), let count = heap.integer(fields[4]), count >= 0 else {
            throw PickleError("a storage reference with a malformed key or size")
        }
        var viewOffset = 0
        if fields.count == 6, case let metadata = fields[5], heap.sequence(metadata) != nil {
            // (view_key, offset, view_size): old files saved storage views of a root storage.
            guard let view = heap.sequence(metadata), view.count == 3, let offset = heap.integer(view[1]), offset >= 0 else {
                throw PickleError("malformed storage view metadata")
            }
            viewOffset = offset
        }
        return heap.add(.native(TorchStorageReference(key: key, dtype: dtype, elementCount: count, viewOffset: viewOffset)))
    }
}
