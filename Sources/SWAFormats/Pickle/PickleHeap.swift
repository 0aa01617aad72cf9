/// Every tuple, list, dict, set, global and call result an unpickling made, addressed by the
/// index a `PickleValue.ref` holds.
public struct PickleHeap: Sendable {
    /// The nodes, in the order they were made.
    public private(set) var nodes: [PickleNode] = []
    /// Globals named by the pickle that no resolver recognised, in first-seen order.
    public private(set) var inertGlobals: [PickleGlobal] = []
    private var seenInert: Set<PickleGlobal> = []

    public init() {}

    /// Adds `node` and returns a value referring to it.
    public mutating func add(_ node: PickleNode) -> PickleValue {
        nodes.append(node)
        return .ref(nodes.count - 1)
    }

    /// The node `value` refers to, or nil for an inline scalar.
    public func node(_ value: PickleValue) -> PickleNode? {
        guard case .ref(let index) = value else { return nil }
        return nodes[index]
    }

    /// Replaces the node at `index` (containers grow in place, as Python objects do).
    mutating func update(_ index: Int, _ node: PickleNode) {
        nodes[index] = node
    }

    /// Records a global no resolver recognised.
    mutating func noteInert(_ global: PickleGlobal) {
        if seenInert.insert(global).inserted { inertGlobals.append(global) }
    }

    // MARK: - Reading values

    /// The dict `value` is, or nil.
    public func dictionary(_ value: PickleValue) -> PickleDictionary? {
        if case .dict(let dictionary)? = node(value) { return dictionary }
        return nil
    }

    /// The elements of a tuple or list, or nil.
    public func sequence(_ value: PickleValue) -> [PickleValue]? {
        switch node(value) {
        case .tuple(let elements)?, .list(let elements)?: elements
        default: nil
        }
    }

    /// The integer `value` is (bools count, as in Python), or nil.
    public func integer(_ value: PickleValue) -> Int? {
        switch value {
        case .int(let number): number
        case .bool(let flag): flag ? 1 : 0
        default: nil
        }
    }

    /// A list of integers (a tuple or list of them), or nil.
    public func integers(_ value: PickleValue) -> [Int]? {
        guard let elements = sequence(value) else { return nil }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let number = integer(element) else { return nil }
            result.append(number)
        }
        return result
    }

    /// The text of a `str` (or of an ASCII `bytes`, as Python 2 pickles store names), or nil.
    public func text(_ value: PickleValue) -> String? {
        switch value {
        case .string(let string): string
        case .bytes(let bytes) where bytes.allSatisfy({ $0 < 0x80 }): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The key under which a dict files `value`.
    func lookupKey(_ value: PickleValue) -> PickleKey {
        switch value {
        case .string(let string): .string(string)
        case .int(let number): .int(number)
        case .bool(let flag): .int(flag ? 1 : 0)
        case .ref(let index): .other("#\(index)")
        // Python 2 str and Python 3 bytes keys (CIFAR's b'data', b'fine_labels'), by content:
        // two keys of one length must not collide, as describeScalar's "<N bytes>" would.
        case .bytes(let bytes): .other("b'" + String(bytes.map { Character(Unicode.Scalar($0)) }) + "'")
        default: .other(describeScalar(value))
        }
    }

    /// A short rendering of a scalar for keys and reports, e.g. `'lr'`, `0.1`, `None`.
    public func describeScalar(_ value: PickleValue) -> String {
        switch value {
        case .none: "None"
        case .bool(let flag): flag ? "True" : "False"
        case .int(let number): String(number)
        case .bigInt(let bytes): "<int of \(bytes.count) bytes>"
        case .float(let number): String(number)
        case .string(let string): "'\(string)'"
        case .bytes(let bytes): "<\(bytes.count) bytes>"
        case .ref: "<object>"
        }
    }
}

/// Decides what the globals of a pickle mean: the pluggable part of `Unpickler`.
///
/// The unpickler calls nothing itself. A global the resolver does not `recognise` becomes an
/// inert `PickleObject` when called; a recognised one is handed to `call`. Persistent ids
/// (`PERSID`, `BINPERSID`) go to `persistentLoad`. A PyTorch reader recognises
/// `torch._utils._rebuild_tensor_v2`; a CIFAR reader could recognise numpy's
/// `_reconstruct` instead.
public protocol PickleResolver {
    /// Whether calls of `global` are understood by `call`.
    func recognises(_ global: PickleGlobal) -> Bool
    /// The value of calling a recognised `global` with `arguments` (REDUCE, NEWOBJ).
    /// - Throws: a message without file name when the arguments are not what the global takes.
    func call(_ global: PickleGlobal, arguments: [PickleValue], heap: inout PickleHeap) throws -> PickleValue
    /// The object a persistent id stands for.
    /// - Throws: when the id is not one this reader knows.
    func persistentLoad(_ id: PickleValue, heap: inout PickleHeap) throws -> PickleValue
}

/// A resolver that recognises only `collections.OrderedDict` and refuses persistent ids: for
/// plain data pickles.
public struct PlainPickleResolver: PickleResolver {
    public init() {}

    public func recognises(_ global: PickleGlobal) -> Bool {
        global == PickleGlobal("collections", "OrderedDict")
    }

    public func call(_ global: PickleGlobal, arguments: [PickleValue], heap: inout PickleHeap) throws -> PickleValue {
        try Self.orderedDict(arguments: arguments, heap: &heap)
    }

    public func persistentLoad(_ id: PickleValue, heap: inout PickleHeap) throws -> PickleValue {
        throw PickleError("a persistent id, which plain pickles do not use")
    }

    /// `collections.OrderedDict()` or `OrderedDict([(key, value), ...])`: a dict.
    public static func orderedDict(arguments: [PickleValue], heap: inout PickleHeap) throws -> PickleValue {
        var dictionary = PickleDictionary()
        if let pairs = arguments.first, arguments.count == 1 {
            guard let elements = heap.sequence(pairs) else { throw PickleError("OrderedDict called with an argument that is not a list of pairs") }
            for pair in elements {
                guard let keyValue = heap.sequence(pair), keyValue.count == 2 else {
                    throw PickleError("OrderedDict called with an argument that is not a list of pairs")
                }
                dictionary.set(keyValue[0], keyValue[1], lookupKey: heap.lookupKey(keyValue[0]))
            }
        } else if !arguments.isEmpty {
            throw PickleError("OrderedDict called with \(arguments.count) arguments")
        }
        return heap.add(.dict(dictionary))
    }
}

/// Why a pickle could not be read, without the file name (the reader adds it).
public struct PickleError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
