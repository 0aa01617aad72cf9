/// A restricted unpickler for pickle protocols 2 to 5 (and the protocol 0/1 opcodes they may
/// contain) that never imports or calls anything.
///
/// It builds `None`, bools, ints, floats, strings, bytes, tuples, lists, dicts and sets. A
/// global (`GLOBAL`, `STACK_GLOBAL`) is only a name: calling it (`REDUCE`, `NEWOBJ`) asks the
/// `PickleResolver`, and a global the resolver does not recognise yields an inert
/// `PickleObject` that records the call; `BUILD`, `APPEND`, `SETITEM` on it are recorded too.
/// This is what PyTorch's `torch/_weights_only_unpickler.py` allows, minus the execution: an
/// unknown global such as `posix.system` is a name in a report, never a function.
///
/// Every length is checked against the bytes left before allocating; the stack, the memo and
/// the number of objects are bounded (`Limits`), so a hostile pickle is refused with a
/// `PickleError` instead of exhausting memory. The machine is iterative: nesting depth costs
/// no native stack.
public struct Unpickler<Resolver: PickleResolver> {
    /// Bounds on what one pickle may build.
    public struct Limits: Sendable {
        /// Most values on the stack at once.
        public var stackDepth = 1 << 22
        /// Most memo entries.
        public var memoEntries = 1 << 24
        /// Most heap nodes (tuples, lists, dicts, calls).
        public var nodes = 1 << 25
        /// Most bytes of a `LONG` integer.
        public var longBytes = 1 << 12

        public init() {}
    }

    /// The objects built; the result of `load()` refers into it.
    public private(set) var heap = PickleHeap()
    private let input: PickleInput
    private let resolver: Resolver
    private let limits: Limits
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// An unpickler reading `input` and asking `resolver` about globals and persistent ids.
    public init(input: PickleInput, resolver: Resolver, limits: Limits = Limits()) {
        self.input = input
        self.resolver = resolver
        self.limits = limits
    }

    /// Reads one pickle up to and including its STOP opcode and returns its value.
    ///
    /// The input is left just after STOP, so consecutive pickles (the legacy `torch.save`
    /// format) are read by calling `load` again on a new unpickler over the same input.
    /// - Throws: `PickleError` naming the opcode and its offset for anything malformed,
    ///   unsupported or over the limits.
    public mutating func load() throws -> PickleValue {
        stack.removeAll()
        marks.removeAll()
        memo.removeAll()
        while true {
            let position = input.offset
            let opcode = try input.byte()
            do {
                if let result = try execute(opcode) { return result }
            } catch let error as PickleError {
                throw PickleError("\(error.message) (opcode 0x\(String(opcode, radix: 16)) at byte \(position))")
            }
        }
    }

    // MARK: - The machine

    /// Runs one opcode; returns the result at STOP.
    private mutating func execute(_ opcode: UInt8) throws -> PickleValue? {
        switch opcode {
        case 0x80: // PROTO
            let protocolVersion = try input.byte()
            guard protocolVersion <= 5 else { throw PickleError("pickle protocol \(protocolVersion) (at most 5 is read)") }
        case 0x95: // FRAME: a hint only
            _ = try input.unsigned(8)
        case UInt8(ascii: "."): // STOP
            let result = try pop()
            return result
        case UInt8(ascii: "("): // MARK
            guard marks.count < limits.stackDepth else { throw PickleError("too many marks") }
            marks.append(stack.count)
        case UInt8(ascii: "0"): _ = try pop() // POP
        case UInt8(ascii: "1"): _ = try popMark() // POP_MARK
        case UInt8(ascii: "2"): try push(try top()) // DUP

        // Scalars.
        case UInt8(ascii: "N"): try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case UInt8(ascii: "K"): try push(.int(Int(try input.unsigned(1))))
        case UInt8(ascii: "M"): try push(.int(Int(try input.unsigned(2))))
        case UInt8(ascii: "J"): try push(.int(Int(Int32(truncatingIfNeeded: try input.unsigned(4)))))
        case 0x8a: try push(try long(byteCount: Int(try input.unsigned(1))))
        case 0x8b: try push(try long(byteCount: try input.length(4)))
        case UInt8(ascii: "G"): try push(.float(Double(bitPattern: UInt64(bigEndian: try input.unsigned(8)))))
        case UInt8(ascii: "I"): try push(try textInteger())
        case UInt8(ascii: "L"): try push(try textInteger(long: true))
        case UInt8(ascii: "F"):
            let text = String(decoding: try input.line(), as: UTF8.self)
            guard let number = Double(text) else { throw PickleError("a malformed FLOAT '\(text)'") }
            try push(.float(number))

        // Strings and bytes.
        case 0x8c: try push(.string(try utf8(try input.bytes(try input.length(1)))))
        case UInt8(ascii: "X"): try push(.string(try utf8(try input.bytes(try input.length(4)))))
        case 0x8d: try push(.string(try utf8(try input.bytes(try input.length(8)))))
        case UInt8(ascii: "V"): try push(.string(String(decoding: try input.line(), as: UTF8.self)))
        case UInt8(ascii: "C"): try push(.bytes(try input.bytes(try input.length(1))))
        case UInt8(ascii: "B"): try push(.bytes(try input.bytes(try input.length(4))))
        case 0x8e, 0x96: try push(.bytes(try input.bytes(try input.length(8))))
        case UInt8(ascii: "U"): try push(.bytes(try input.bytes(try input.length(1))))
        case UInt8(ascii: "T"): try push(.bytes(try input.bytes(try input.length(4))))
        case UInt8(ascii: "S"): try push(.bytes(try quotedString()))

        // Containers.
        case UInt8(ascii: ")"): try push(try add(.tuple([])))
        case UInt8(ascii: "t"): try push(try add(.tuple(try popMark())))
        case 0x85, 0x86, 0x87:
            let count = Int(opcode - 0x84)
            let elements = try popCount(count)
            try push(try add(.tuple(elements)))
        case UInt8(ascii: "]"): try push(try add(.list([])))
        case UInt8(ascii: "l"): try push(try add(.list(try popMark())))
        case UInt8(ascii: "}"): try push(try add(.dict(PickleDictionary())))
        case UInt8(ascii: "d"):
            let items = try popMark()
            let dictionary = try add(.dict(PickleDictionary()))
            try setItems(items, into: dictionary)
            try push(dictionary)
        case 0x8f: try push(try add(.set([])))
        case 0x91: try push(try add(.set(try popMark())))
        case UInt8(ascii: "a"): // APPEND
            let item = try pop()
            try append([item], to: try top())
        case UInt8(ascii: "e"): // APPENDS
            let items = try popMark()
            try append(items, to: try top())
        case 0x90: // ADDITEMS
            let items = try popMark()
            try append(items, to: try top())
        case UInt8(ascii: "s"): // SETITEM
            let value = try pop()
            let key = try pop()
            try setItems([key, value], into: try top())
        case UInt8(ascii: "u"): // SETITEMS
            let items = try popMark()
            try setItems(items, into: try top())

        // Globals and calls.
        case UInt8(ascii: "c"): // GLOBAL
            let module = String(decoding: try input.line(), as: UTF8.self)
            let name = String(decoding: try input.line(), as: UTF8.self)
            try push(try add(.global(PickleGlobal(module, name))))
        case 0x93: // STACK_GLOBAL
            let name = try pop()
            let module = try pop()
            guard let moduleText = heap.text(module), let nameText = heap.text(name) else {
                throw PickleError("STACK_GLOBAL with a module or name that is not a string")
            }
            try push(try add(.global(PickleGlobal(moduleText, nameText))))
        case UInt8(ascii: "R"): // REDUCE
            let arguments = try pop()
            let callee = try pop()
            try push(try call(callee, arguments: arguments))
        case 0x81: // NEWOBJ
            let arguments = try pop()
            let cls = try pop()
            try push(try call(cls, arguments: arguments))
        case 0x92: // NEWOBJ_EX
            _ = try pop() // keyword arguments: recorded by nobody, they never run
            let arguments = try pop()
            let cls = try pop()
            try push(try call(cls, arguments: arguments))
        case UInt8(ascii: "b"): // BUILD
            let state = try pop()
            try build(try top(), state: state)
        case UInt8(ascii: "i"): // INST
            let module = String(decoding: try input.line(), as: UTF8.self)
            let name = String(decoding: try input.line(), as: UTF8.self)
            let arguments = try popMark()
            let cls = try add(.global(PickleGlobal(module, name)))
            try push(try call(cls, arguments: try add(.tuple(arguments))))
        case UInt8(ascii: "o"): // OBJ
            var items = try popMark()
            guard !items.isEmpty else { throw PickleError("OBJ without a class") }
            let cls = items.removeFirst()
            try push(try call(cls, arguments: try add(.tuple(items))))

        // Persistent ids.
        case UInt8(ascii: "P"):
            let id = PickleValue.string(String(decoding: try input.line(), as: UTF8.self))
            try push(try resolver.persistentLoad(id, heap: &heap))
        case UInt8(ascii: "Q"):
            let id = try pop()
            try push(try resolver.persistentLoad(id, heap: &heap))

        // The memo.
        case UInt8(ascii: "p"): try memoize(try textIndex())
        case UInt8(ascii: "q"): try memoize(Int(try input.unsigned(1)))
        case UInt8(ascii: "r"): try memoize(Int(try input.unsigned(4)))
        case 0x94: try memoize(memo.count)
        case UInt8(ascii: "g"): try push(try recall(try textIndex()))
        case UInt8(ascii: "h"): try push(try recall(Int(try input.unsigned(1))))
        case UInt8(ascii: "j"): try push(try recall(Int(try input.unsigned(4))))

        case 0x82, 0x83, 0x84:
            throw PickleError("an extension-registry code (EXT1/2/4), which is not read")
        case 0x97, 0x98:
            throw PickleError("an out-of-band buffer (protocol 5 NEXT_BUFFER), which is not read")
        default:
            throw PickleError("unknown opcode")
        }
        return nil
    }

    // MARK: - Stack and memo

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < limits.stackDepth else { throw PickleError("more than \(limits.stackDepth) values on the stack") }
        stack.append(value)
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw PickleError("the stack is empty") }
        return value
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw PickleError("the stack is empty") }
        return value
    }

    private mutating func popCount(_ count: Int) throws -> [PickleValue] {
        guard stack.count - count >= (marks.last ?? 0) else { throw PickleError("the stack is empty") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw PickleError("no MARK to pop to") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func add(_ node: PickleNode) throws -> PickleValue {
        guard heap.nodes.count < limits.nodes else { throw PickleError("more than \(limits.nodes) objects") }
        return heap.add(node)
    }

    private mutating func memoize(_ index: Int) throws {
        guard index >= 0, memo.count < limits.memoEntries || memo[index] != nil else {
            throw PickleError("more than \(limits.memoEntries) memo entries")
        }
        memo[index] = try top()
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw PickleError("memo entry \(index) was never stored") }
        return value
    }

    // MARK: - Containers and calls

    /// Applies `body` to a heap node in place (the node is taken out first, so its arrays
    /// are uniquely referenced and grow without copying).
    private mutating func mutate(_ value: PickleValue, _ body: (inout PickleNode) throws -> Void) throws {
        guard case .ref(let index) = value else { throw PickleError("an item added to a \(heap.describeScalar(value))") }
        var node = heap.nodes[index]
        heap.update(index, .tuple([]))
        defer { heap.update(index, node) }
        try body(&node)
    }

    private mutating func append(_ items: [PickleValue], to target: PickleValue) throws {
        try mutate(target) { node in
            switch node {
            case .list(var elements):
                node = .tuple([])
                elements.append(contentsOf: items)
                node = .list(elements)
            case .set(var elements):
                node = .tuple([])
                elements.append(contentsOf: items)
                node = .set(elements)
            case .object(var object):
                object.items.append(contentsOf: items)
                node = .object(object)
            default:
                throw PickleError("APPEND to an object that is not a list")
            }
        }
    }

    private mutating func setItems(_ items: [PickleValue], into target: PickleValue) throws {
        guard items.count % 2 == 0 else { throw PickleError("SETITEMS with an odd number of values") }
        let keys = stride(from: 0, to: items.count, by: 2).map { heap.lookupKey(items[$0]) }
        try mutate(target) { node in
            switch node {
            case .dict(var dictionary):
                node = .tuple([])
                for (pair, key) in zip(stride(from: 0, to: items.count, by: 2), keys) {
                    dictionary.set(items[pair], items[pair + 1], lookupKey: key)
                }
                node = .dict(dictionary)
            case .object(var object):
                object.items.append(contentsOf: items)
                node = .object(object)
            default:
                throw PickleError("SETITEM on an object that is not a dict")
            }
        }
    }

    /// REDUCE / NEWOBJ: a recognised global is resolved, anything else is recorded inert.
    private mutating func call(_ callee: PickleValue, arguments: PickleValue) throws -> PickleValue {
        let argumentList = heap.sequence(arguments) ?? [arguments]
        switch heap.node(callee) {
        case .global(let global)?:
            if resolver.recognises(global) {
                do {
                    return try resolver.call(global, arguments: argumentList, heap: &heap)
                } catch let error as PickleError {
                    throw PickleError("\(global): \(error.message)")
                }
            }
            heap.noteInert(global)
            return try add(.object(PickleObject(callee: global, arguments: argumentList)))
        case .object(let object)?:
            // Calling an inert value (e.g. a method of an inert object): still inert.
            return try add(.object(PickleObject(callee: object.callee, arguments: argumentList)))
        default:
            throw PickleError("a call of something that is not a global")
        }
    }

    /// BUILD: state is recorded on inert objects and ignored elsewhere (an `OrderedDict` or a
    /// tensor receives nothing a state dict needs).
    private mutating func build(_ target: PickleValue, state: PickleValue) throws {
        guard case .object? = heap.node(target) else { return }
        try mutate(target) { node in
            if case .object(var object) = node {
                object.state = state
                node = .object(object)
            }
        }
    }

    // MARK: - Text and integers

    private func utf8(_ bytes: [UInt8]) throws -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw PickleError("a string that is not valid UTF-8") }
        return string
    }

    /// LONG1/LONG4: little-endian two's complement.
    private func long(byteCount: Int) throws -> PickleValue {
        guard byteCount <= limits.longBytes else { throw PickleError("an integer of \(byteCount) bytes") }
        let bytes = try input.bytes(byteCount)
        guard !bytes.isEmpty else { return .int(0) }
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        var value: UInt64 = bytes.last! >= 0x80 ? ~0 : 0
        for (index, byte) in bytes.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * UInt64(index)))
            value |= UInt64(byte) << (8 * UInt64(index))
        }
        return .int(Int(bitPattern: UInt(value)))
    }

    /// INT and LONG in text ("01"/"00" are True and False in protocol 0).
    private func textInteger(long: Bool = false) throws -> PickleValue {
        var text = String(decoding: try input.line(), as: UTF8.self)
        if !long, text == "01" { return .bool(true) }
        if !long, text == "00" { return .bool(false) }
        if text.hasSuffix("L") { text.removeLast() }
        guard let number = Int(text) else { throw PickleError("an integer '\(text.prefix(40))' that is malformed or beyond 64 bits") }
        return .int(number)
    }

    private func textIndex() throws -> Int {
        let text = String(decoding: try input.line(), as: UTF8.self)
        guard let index = Int(text), index >= 0 else { throw PickleError("a malformed memo index '\(text.prefix(40))'") }
        return index
    }

    /// STRING: a quoted Python literal; only simple escapes are decoded.
    private func quotedString() throws -> [UInt8] {
        let line = try input.line()
        guard line.count >= 2, let quote = line.first, quote == line.last, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw PickleError("a STRING that is not quoted")
        }
        return Array(line[1..<(line.count - 1)])
    }
}
