/// A value built by the restricted unpickler (`Unpickler`).
///
/// Scalars are held inline; everything Python could share or mutate (tuples, lists, dicts,
/// sets, globals, call results) lives in the `PickleHeap` and is referred to by index. The
/// graph therefore has no Swift references between nodes: a pickle nesting a million lists
/// cannot overflow the stack when it is freed, and cycles made through the memo cost nothing.
public enum PickleValue: Sendable {
    case none
    case bool(Bool)
    /// An integer that fits 64 bits.
    case int(Int)
    /// A larger integer: its little-endian two's-complement bytes, as `LONG1`/`LONG4` store them.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A node of the heap: tuple, list, dict, set, global, inert object or reader-defined value.
    case ref(Int)
}

/// A module-qualified Python name, e.g. `collections.OrderedDict` or `posix.system`.
public struct PickleGlobal: Hashable, Sendable, CustomStringConvertible {
    public var module: String
    public var name: String

    public init(_ module: String, _ name: String) {
        self.module = module
        self.name = name
    }

    /// `module.name`, as messages print it.
    public var description: String { "\(module).\(name)" }
}

/// A key of a pickled dict, hashable for lookup: strings and integers by value, anything else
/// by its heap node or description.
public enum PickleKey: Hashable, Sendable {
    case string(String)
    case int(Int)
    case other(String)
}

/// The ordered entries of a pickled dict (Python dicts keep insertion order).
public struct PickleDictionary: Sendable {
    /// Entries in insertion order; a repeated key replaces the value in place, as in Python.
    public private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [PickleKey: Int] = [:]

    public init() {}

    /// Sets `value` for `key`, keeping the first position of a repeated key.
    public mutating func set(_ key: PickleValue, _ value: PickleValue, lookupKey: PickleKey) {
        if let position = index[lookupKey] {
            entries[position].value = value
        } else {
            index[lookupKey] = entries.count
            entries.append((key, value))
        }
    }

    /// The value under the string key `key`, if any.
    public subscript(key: String) -> PickleValue? {
        index[.string(key)].map { entries[$0].value }
    }

    public var count: Int { entries.count }
}

/// The inert result of calling (REDUCE, NEWOBJ) a global the reader does not recognise.
///
/// Nothing is imported or called: the callee and its arguments are kept as data so that a
/// reader can say which global stood between it and what it looked for.
public struct PickleObject: Sendable {
    /// What was called: the global (or an inert object, for calls of call results).
    public var callee: PickleGlobal
    /// The arguments, as a tuple node.
    public var arguments: [PickleValue]
    /// What BUILD would have passed to `__setstate__`, if anything.
    public var state: PickleValue?
    /// Items APPEND/APPENDS/SETITEM(S) added to it (a list or dict subclass).
    public var items: [PickleValue] = []

    public init(callee: PickleGlobal, arguments: [PickleValue]) {
        self.callee = callee
        self.arguments = arguments
    }
}

/// A node of the unpickled object graph.
public enum PickleNode: Sendable {
    case tuple([PickleValue])
    case list([PickleValue])
    case dict(PickleDictionary)
    case set([PickleValue])
    /// A global pushed by GLOBAL/STACK_GLOBAL and not (yet) called.
    case global(PickleGlobal)
    /// An inert call result (see `PickleObject`).
    case object(PickleObject)
    /// A value made by the reader's `PickleResolver` (a tensor, a storage reference).
    case native(any Sendable)
}
