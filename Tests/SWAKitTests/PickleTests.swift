import Foundation
import Testing
@testable import SWAFormats
@testable import SWAData

/// The restricted unpickler on hand-assembled pickles: values, memo sharing, inert globals, and
/// hostile input refused without crashing.
@Suite struct PickleTests {
    /// Unpickles `bytes` with the plain resolver (OrderedDict only).
    static func load(_ bytes: [UInt8], limits: Unpickler<PlainPickleResolver>.Limits = .init()) throws -> (PickleValue, PickleHeap) {
        var unpickler = Unpickler(input: PickleInput(bytes: bytes), resolver: PlainPickleResolver(), limits: limits)
        let value = try unpickler.load()
        return (value, unpickler.heap)
    }

    static func error(_ bytes: [UInt8], limits: Unpickler<PlainPickleResolver>.Limits = .init()) -> String? {
        do {
            _ = try load(bytes, limits: limits)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func unicode(_ text: String) -> [UInt8] { PyTorchErrorTests.unicode(text) }

    @Test("Scalars: ints of every width, LONG1 signs and big integers, floats, strings, bytes, bools, None")
    func scalars() throws {
        // (K 7, M 0x1234, J -2, LONG1 -1, LONG1 -32768, BINFLOAT 1.5, 'hé', b'ab', True, False, None) as a tuple.
        let bytes: [UInt8] = [0x80, 0x02, 0x28, 0x4B, 7, 0x4D, 0x34, 0x12, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x8A, 1, 0xFF, 0x8A, 2, 0x00, 0x80,
                              0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0] + Self.unicode("hé") + [0x43, 2, 0x61, 0x62, 0x88, 0x89, 0x4E, 0x74, 0x2E]
        let (value, heap) = try Self.load(bytes)
        let elements = try #require(heap.sequence(value))
        #expect(elements.count == 11)
        #expect(heap.integers(PickleValue.ref(0)) == nil)
        #expect(elements.prefix(5).map { heap.integer($0) } == [7, 0x1234, -2, -1, -32768])
        guard case .float(1.5) = elements[5], case .string("hé") = elements[6], case .bytes([0x61, 0x62]) = elements[7],
              case .bool(true) = elements[8], case .bool(false) = elements[9], case .none = elements[10] else {
            Issue.record("wrong scalars: \(elements)")
            return
        }
        // The legacy torch.save magic number: an 80-bit LONG1.
        let (magic, _) = try Self.load([0x80, 0x02, 0x8A, 0x0A] + PyTorchFile.legacyMagic + [0x2E])
        guard case .bigInt(let magicBytes) = magic else { Issue.record("not a big integer: \(magic)"); return }
        #expect(magicBytes == PyTorchFile.legacyMagic)
    }

    @Test("A list memoised before its items were appended is seen with them (one shared object)")
    func memoSharesObjects() throws {
        // [] BINPUT 0, MARK 1 2 APPENDS, POP, BINGET 0, STOP
        let (value, heap) = try Self.load([0x80, 0x02, 0x5D, 0x71, 0x00, 0x28, 0x4B, 1, 0x4B, 2, 0x65, 0x30, 0x68, 0x00, 0x2E])
        #expect(heap.integers(value) == [1, 2])
        // A dict with a repeated key keeps its first position and the last value, as Python does.
        let dict: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + Self.unicode("a") + [0x4B, 1] + Self.unicode("b") + [0x4B, 2] + Self.unicode("a") + [0x4B, 3, 0x75, 0x2E]
        let (dictValue, dictHeap) = try Self.load(dict)
        let entries = try #require(dictHeap.dictionary(dictValue)).entries
        #expect(entries.map { dictHeap.text($0.key) } == ["a", "b"])
        #expect(entries.map { dictHeap.integer($0.value) } == [3, 2])
    }

    @Test("An unknown global is recorded, never called: REDUCE and BUILD on it give inert values")
    func inertGlobals() throws {
        // posix.system('touch x') then BUILD {'k': 1}, then REDUCE of that result: all inert.
        let bytes: [UInt8] = [0x80, 0x02] + Array("cposix\nsystem\n".utf8) + Self.unicode("touch x") + [0x85, 0x52, 0x7D] + Self.unicode("k")
            + [0x4B, 1, 0x73, 0x62, 0x29, 0x52, 0x2E]
        let (value, heap) = try Self.load(bytes)
        guard case .object(let object)? = heap.node(value) else { Issue.record("not inert: \(value)"); return }
        #expect(object.callee == PickleGlobal("posix", "system"))
        #expect(heap.inertGlobals == [PickleGlobal("posix", "system")])
        // The first call's record keeps its argument and its state.
        let first = heap.nodes.compactMap { node -> PickleObject? in if case .object(let o) = node { return o } else { return nil } }.first!
        #expect(heap.text(first.arguments[0]) == "touch x")
        #expect(first.state.flatMap { heap.dictionary($0)?["k"] }.flatMap { heap.integer($0) } == 1)
        // OrderedDict is recognised and builds a dict.
        let ordered: [UInt8] = [0x80, 0x02] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52] + Self.unicode("x") + [0x4B, 5, 0x73, 0x2E]
        let (dictValue, dictHeap) = try Self.load(ordered)
        #expect(dictHeap.dictionary(dictValue)?["x"].flatMap { dictHeap.integer($0) } == 5)
        #expect(dictHeap.inertGlobals.isEmpty)
    }

    @Test("Hostile pickles are refused in one line: absurd lengths, unknown opcodes, missing memo, limits, newer protocols")
    func hostileInput() {
        #expect(Self.error([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x2E])
            == "a length of 4294967295 bytes where only 2 remain (opcode 0x58 at byte 2)")
        #expect(Self.error([0x80, 0x02, 0x8B, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E]) == "a length of 2147483647 bytes where only 1 remain (opcode 0x8b at byte 2)")
        #expect(Self.error([0x80, 0x02, 0xFF, 0x2E]) == "unknown opcode (opcode 0xff at byte 2)")
        #expect(Self.error([0x80, 0x02, 0x68, 0x05, 0x2E]) == "memo entry 5 was never stored (opcode 0x68 at byte 2)")
        #expect(Self.error([0x80, 0x02, 0x30, 0x2E]) == "the stack is empty (opcode 0x30 at byte 2)")
        #expect(Self.error([0x80, 0x02, 0x65, 0x2E]) == "no MARK to pop to (opcode 0x65 at byte 2)")
        #expect(Self.error([0x80, 0x06, 0x2E]) == "pickle protocol 6 (at most 5 is read) (opcode 0x80 at byte 0)")
        #expect(Self.error([0x80, 0x02, 0x4B, 1]) == "the pickle ends early")
        #expect(Self.error([0x80, 0x02, 0x82, 1, 0x2E]) == "an extension-registry code (EXT1/2/4), which is not read (opcode 0x82 at byte 2)")
        var limits = Unpickler<PlainPickleResolver>.Limits()
        limits.stackDepth = 10
        #expect(Self.error([0x80, 0x02] + Array(repeating: 0x4E, count: 11) + [0x2E], limits: limits)
            == "more than 10 values on the stack (opcode 0x4e at byte 12)")
        limits = .init()
        limits.nodes = 3
        #expect(Self.error([0x80, 0x02, 0x5D, 0x5D, 0x5D, 0x5D, 0x2E], limits: limits) == "more than 3 objects (opcode 0x5d at byte 5)")
    }

    @Test("200,000 nested lists and a list containing itself are built and freed without recursion")
    func deepNestingAndCycles() throws {
        let depth = 200_000
        let nested = [0x80, 0x02] + Array(repeating: UInt8(0x5D), count: depth) + Array(repeating: UInt8(0x61), count: depth - 1) + [0x2E]
        let (value, heap) = try Self.load(nested)
        #expect(heap.nodes.count == depth)
        #expect(heap.sequence(value)?.count == 1)
        // [] BINPUT 0, BINGET 0, APPEND: the list holds itself.
        let (cycle, cycleHeap) = try Self.load([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E])
        guard case .ref(let index) = cycle, case .ref(let inner)? = cycleHeap.sequence(cycle)?.first else { Issue.record("no cycle"); return }
        #expect(index == inner)
    }

    @Test("Every prefix and many corruptions of a real torch.save pickle fail cleanly or parse; none crashes")
    func truncationsAndCorruptions() throws {
        let pickle = try PyTorchErrorTests.member("views/data.pkl", of: PyTorchReaderTests.folder + "/views.pt")
        var complete = Unpickler(input: PickleInput(bytes: pickle), resolver: TorchPickleResolver())
        _ = try complete.load()
        for length in 0..<pickle.count {
            var unpickler = Unpickler(input: PickleInput(bytes: Array(pickle.prefix(length))), resolver: TorchPickleResolver())
            #expect(throws: PickleError.self) { _ = try unpickler.load() }
        }
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<2000 {
            var corrupted = pickle
            for _ in 0..<3 { corrupted[Int.random(in: 0..<corrupted.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            var unpickler = Unpickler(input: PickleInput(bytes: corrupted), resolver: TorchPickleResolver())
            _ = try? unpickler.load()
        }
    }
}
