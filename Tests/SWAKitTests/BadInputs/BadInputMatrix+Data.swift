import Foundation
@testable import SWAFormats
import SWATestSupport

// MARK: - .npz data and the .npy arrays inside

extension BadInputMatrix {
    /// Every command that reads DATA, over `data` with the fixture model.
    func dataRuns(_ data: String, model: String? = nil, extra: [String] = [], expectation: Expectation = .refused,
                  commands: Set<String> = ["swa-bn-update", "swa-eval", "swa-landscape"]) -> [Run] {
        let model = model ?? base.zstd
        var runs: [Run] = []
        if commands.contains("swa-bn-update") {
            runs.append(Run(tool: "swa-bn-update", label: "swa-bn-update", arguments: [model, "--data", data, "-o", "{OUT}/bn.bin", "-q"] + extra,
                            expectation: expectation))
        }
        if commands.contains("swa-eval") {
            runs.append(Run(tool: "swa-eval", label: "swa-eval", arguments: [model, "--data", data, "-q"] + extra, expectation: expectation))
        }
        if commands.contains("swa-landscape") {
            runs.append(Run(tool: "swa-landscape", label: "swa-landscape",
                            arguments: ["line", model, model, "--train", data, "--test", data, "--steps=0.5", "--csv", "{OUT}/line.csv"] + extra,
                            expectation: expectation))
        }
        return runs
    }

    /// 64 samples of the fixture model's input (N×1×8×8 float32 in [0, 1]) and labels 0..9.
    static func sampleArrays(count: Int = 64) -> (x: [Float], y: [Int64]) {
        var generator = SeededGenerator(seed: 15)
        let x = (0..<count * 64).map { _ in Float.random(in: 0...1, using: &generator) }
        let y = (0..<count).map { Int64($0 % 10) }
        return (x, y)
    }

    /// `.npz` files damaged in their zip container, their `.npy` headers, or their arrays.
    func dataCases() throws -> [Case] {
        let (x, y) = Self.sampleArrays()
        let goodX = NpzWriter.ArrayData(float32: x, shape: [64, 1, 8, 8]), goodY = NpzWriter.ArrayData(int64: y, shape: [64])
        let folder = try caseFolder("npz")
        let control = folder + "/good.npz"
        try NpzWriter.write([("x", goodX), ("y", goodY)], to: control, compressed: true)
        var cases = [Case(".npz data", "none (control)", culprits: [control], runs: dataRuns(control, expectation: .succeeds(mentioning: nil)))]
        let compressed = try TestSupport.bytes(of: control)
        var variants: [(String, () throws -> [UInt8])] = [
            ("cut in half", { Array(compressed[..<(compressed.count / 2)]) }),
            ("bit flip inside the deflated x", { Self.flipping(compressed, at: compressed.count / 4, bit: 5) }),
            ("bit flip in the end-of-central-directory signature", { Self.flipping(compressed, at: compressed.count - 22, bit: 1) }),
            ("not a zip at all", { Array("x,y\n0.5,1\n".utf8) }),
        ]
        func npz(_ arrays: [(key: String, array: NpzWriter.ArrayData)]) throws -> [UInt8] {
            let path = folder + "/scratch.npz"
            try? FileManager.default.removeItem(atPath: path)
            try NpzWriter.write(arrays, to: path, compressed: false)
            return try TestSupport.bytes(of: path)
        }
        func members(_ list: [(name: String, bytes: [UInt8])]) throws -> [UInt8] {
            let path = folder + "/scratch.npz"
            try? FileManager.default.removeItem(atPath: path)
            try NpzWriter.writeMembers(list, to: path, compressed: false)
            return try TestSupport.bytes(of: path)
        }
        let xBytes = goodX.bytes
        variants += [
            ("missing y", { try npz([("x", goodX)]) }),
            ("x of the wrong sample shape (3×8×8)", { try npz([("x", NpzWriter.ArrayData(float32: Array(x.prefix(16 * 192)), shape: [16, 3, 8, 8])), ("y", NpzWriter.ArrayData(int64: Array(y.prefix(16)), shape: [16]))]) }),
            ("a label out of range (10 of 10 classes)", { try npz([("x", goodX), ("y", NpzWriter.ArrayData(int64: y.map { $0 == 9 ? 10 : $0 }, shape: [64]))]) }),
            ("a negative label", { try npz([("x", goodX), ("y", NpzWriter.ArrayData(int64: y.map { $0 == 3 ? -1 : $0 }, shape: [64]))]) }),
            ("float labels", { try npz([("x", goodX), ("y", NpzWriter.ArrayData(float32: y.map(Float.init), shape: [64]))]) }),
            ("x and y of different lengths", { try npz([("x", goodX), ("y", NpzWriter.ArrayData(int64: Array(y.prefix(63)), shape: [63]))]) }),
            ("no samples", { try npz([("x", NpzWriter.ArrayData(float32: [], shape: [0, 1, 8, 8])), ("y", NpzWriter.ArrayData(int64: [], shape: [0]))]) }),
            ("NaN in x", { try npz([("x", NpzWriter.ArrayData(float32: x.enumerated().map { $0.offset == 100 ? .nan : $0.element }, shape: [64, 1, 8, 8])), ("y", goodY)]) }),
            (".npy header: shape larger than the data", { try members([("x.npy", NpzWriter.npyHeader(descr: "<f4", shape: [65, 1, 8, 8]) + xBytes), ("y.npy", goodY.npyBytes)]) }),
            (".npy header: shape of 2^62 elements", { try members([("x.npy", NpzWriter.npyHeader(descr: "<f4", shape: [1 << 62, 1, 8, 8]) + xBytes), ("y.npy", goodY.npyBytes)]) }),
            (".npy header: negative shape", { try members([("x.npy", Self.npyHeader(text: "{'descr': '<f4', 'fortran_order': False, 'shape': (-64, 1, 8, 8), }") + xBytes), ("y.npy", goodY.npyBytes)]) }),
            (".npy header: unsupported dtype (complex64)", { try members([("x.npy", NpzWriter.npyHeader(descr: "<c8", shape: [32, 1, 8, 8]) + xBytes), ("y.npy", goodY.npyBytes)]) }),
            (".npy header: Fortran order", { try members([("x.npy", NpzWriter.npyHeader(descr: "<f4", shape: [64, 1, 8, 8], fortranOrder: true) + xBytes), ("y.npy", goodY.npyBytes)]) }),
            (".npy header: not a dictionary", { try members([("x.npy", Self.npyHeader(text: "[1, 2, 3]") + xBytes), ("y.npy", goodY.npyBytes)]) }),
            (".npy magic wrong", { try members([("x.npy", [0x00] + Array(goodX.npyBytes.dropFirst())), ("y.npy", goodY.npyBytes)]) }),
            (".npy header length past the end", { try members([("x.npy", Array(goodX.npyBytes.prefix(8)) + [0xFF, 0xFF] + Array(goodX.npyBytes.dropFirst(10).prefix(40))), ("y.npy", goodY.npyBytes)]) }),
        ]
        // The BN update reads x only: damage to the labels alone is no damage to it.
        let labelsOnly: Set = ["missing y", "a label out of range (10 of 10 classes)", "a negative label"]
        for (index, (damage, make)) in variants.enumerated() {
            let path = try write(try make(), case: "npz-\(index)", name: "data.npz")
            var runs = dataRuns(path, commands: labelsOnly.contains(damage) ? ["swa-eval", "swa-landscape"] : ["swa-bn-update", "swa-eval", "swa-landscape"])
            if labelsOnly.contains(damage) { runs += dataRuns(path, expectation: .succeeds(mentioning: nil), commands: ["swa-bn-update"]) }
            cases.append(Case(".npz data", damage, culprits: [path], runs: runs, quick: [4, 11].contains(index)))
        }
        try? FileManager.default.removeItem(atPath: folder + "/scratch.npz")
        return cases
    }

    /// A version 1.0 `.npy` header holding `text`: `\x93NUMPY`, 1, 0, the length, `text`
    /// padded with spaces and a newline so the data starts 64-byte aligned.
    static func npyHeader(text: String) -> [UInt8] {
        var header = Array(text.utf8)
        let total = (10 + header.count + 1 + 63) / 64 * 64
        header += Array(repeating: UInt8(ascii: " "), count: total - 10 - header.count - 1) + [UInt8(ascii: "\n")]
        return [0x93] + Array("NUMPY".utf8) + [1, 0] + withUnsafeBytes(of: UInt16(header.count).littleEndian, Array.init) + header
    }
}
