import Foundation
@testable import SWAFormats

// MARK: - NaN and Inf weights

extension BadInputMatrix {
    /// The base checkpoint with `values` written over elements of the tensor `name`.
    func payload(setting values: [(name: String, element: Int, value: Float)]) -> [UInt8] {
        var payload = base.payload
        let dataStart = 8 + base.header.jsonByteCount
        for (name, element, value) in values {
            let info = base.header.tensor(named: name)!
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes in
                for (offset, byte) in bytes.enumerated() { payload[dataStart + info.dataOffsets.lowerBound + element * 4 + offset] = byte }
            }
        }
        return payload
    }

    /// NaN, +inf and -inf weights: swa-inspect and --verify report them and exit 0; every
    /// command that computes with weights refuses them, naming the tensor.
    func nonFiniteCases() throws -> [Case] {
        let variants: [(String, [(name: String, element: Int, value: Float)])] = [
            ("NaN weight", [("block.conv1.weight", 37, .nan)]),
            ("+inf weight", [("head.4.weight", 7, .infinity)]),
            ("-inf running variance and a NaN bias", [("stem.1.running_var", 2, -.infinity), ("head.0.bias", 0, .nan)]),
        ]
        var cases: [Case] = []
        for (index, (damage, values)) in variants.enumerated() {
            let payload = payload(setting: values)
            let slug = "non-finite-\(index)"
            for (structure, path) in [("plain safetensors", try write(payload, case: slug, name: "ckpt-010.safetensors")),
                                      ("zstd checkpoint", try write(try BaseInputs.compressed(payload), case: slug, name: "ckpt-010.bin"))] {
                var runs = checkpointRuns(path, readers: [.average, .convert, .model])
                runs += checkpointRuns(path, readers: .inspect, expectation: .succeeds(mentioning: "non-finite values: \(values.count)"))
                runs += checkpointRuns(path, readers: .verify, expectation: .succeeds(mentioning: "holding NaN or Inf"))
                var nonFinite = Case(structure, damage, culprits: [path], runs: runs, quick: index == 0 && structure == "plain safetensors")
                // Commands bind tensors in graph order: with two, either may be named first.
                nonFinite.tensor = values.count == 1 ? values[0].name : nil
                cases.append(nonFinite)
            }
        }
        return cases
    }
}

// MARK: - Inputs that are fine alone and wrong together, and file-system traps

extension BadInputMatrix {
    /// Mixed dtypes and missing keys across the inputs of one command; the same checkpoint
    /// twice in a folder (a copy, a symbolic link); symbolic-link loops.
    func combinationCases() throws -> [Case] {
        var cases: [Case] = []
        // ckpt-011 with one tensor in F16: swa-avg averages tensors of one dtype only.
        let other = try LoadedCheckpoint(path: base.other)
        let f16Name = "head.0.weight"
        var specs: [(spec: TensorSpec, bytes: [UInt8])] = []
        for info in other.header.tensors {
            var bytes = other.tensors[info.name]!
            var dtype = info.dtype
            if info.name == f16Name {
                dtype = .f16
                bytes = other.floats(info.name)!.flatMap { value in withUnsafeBytes(of: float16Bits(rounding: Double(value)).littleEndian, Array.init) }
            }
            specs.append((TensorSpec(name: info.name, dtype: dtype, shape: info.shape), bytes))
        }
        let mixedFolder = try caseFolder("mixed-dtypes")
        try CheckpointWriter.write(specs, metadata: other.header.metadata, to: mixedFolder + "/ckpt-011.bin", overwrite: false)
        var mixed = Case("checkpoint set", "mixed dtypes across inputs (one tensor F16 in the second)", culprits: [mixedFolder + "/ckpt-011.bin"],
                         runs: [Run(tool: "swa-avg", label: "swa-avg", arguments: [base.zstd, mixedFolder + "/ckpt-011.bin", "-o", "{OUT}/avg.bin"],
                                    expectation: .refused)], quick: true)
        mixed.tensor = f16Name
        cases.append(mixed)

        // ckpt-011 without one tensor: the set disagrees (swa-avg, the ensemble, the line), and
        // alone it no longer binds to its graph (swa-bn-update, swa-eval).
        let missingName = "head.4.bias"
        let missingFolder = try caseFolder("missing-key")
        let kept = other.header.tensors.filter { $0.name != missingName }
            .map { (spec: TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape), bytes: other.tensors[$0.name]!) }
        try CheckpointWriter.write(kept, metadata: other.header.metadata, to: missingFolder + "/ckpt-011.bin", overwrite: false)
        let missing = missingFolder + "/ckpt-011.bin"
        var missingCase = Case("checkpoint set", "missing key ('\(missingName)' absent from the second input)", culprits: [missing], runs: [
            Run(tool: "swa-avg", label: "swa-avg", arguments: [base.zstd, missing, "-o", "{OUT}/avg.bin"], expectation: .refused),
            Run(tool: "swa-eval", label: "swa-eval", arguments: [base.zstd, "--ensemble", base.zstd, missing, "--data", base.test, "-q"], expectation: .refused),
            Run(tool: "swa-landscape", label: "swa-landscape", arguments: ["line", base.zstd, missing, "--train", base.test, "--test", base.test,
                                                                          "--steps=0.5", "--bn", "keep"], expectation: .refused),
            Run(tool: "swa-bn-update", label: "swa-bn-update", arguments: [missing, "--data", base.train, "-o", "{OUT}/bn.bin"], expectation: .refused),
        ], quick: true)
        missingCase.tensor = missingName
        cases.append(missingCase)

        // The same checkpoint twice in one folder: a copy under another name, a symbolic link.
        for (damage, makeDuplicate) in [("a copy under another name", { (folder: String) in
            try FileManager.default.copyItem(atPath: folder + "/ckpt-010.bin", toPath: folder + "/ckpt-010-copy.bin")
        }), ("a symbolic link to it", { (folder: String) in
            try FileManager.default.createSymbolicLink(atPath: folder + "/ckpt-012.bin", withDestinationPath: "ckpt-010.bin")
        })] {
            let folder = try caseFolder("duplicate-\(damage.split(separator: " ").last!)")
            try FileManager.default.copyItem(atPath: base.zstd, toPath: folder + "/ckpt-010.bin")
            try makeDuplicate(folder)
            let culprits = [folder + "/ckpt-010.bin", folder + "/ckpt-010-copy.bin", folder + "/ckpt-012.bin"]
            cases.append(Case("checkpoint folder", "the same checkpoint twice: \(damage)", culprits: culprits, runs: [
                Run(tool: "swa-avg", label: "swa-avg", arguments: [folder, "-o", "{OUT}/avg.bin"], expectation: .refused),
                Run(tool: "swa-eval", label: "swa-eval", arguments: [base.zstd, "--ensemble", folder, "--data", base.test, "-q"], expectation: .refused),
            ], quick: damage.hasPrefix("a copy")))
        }

        // Symbolic-link loops: a file that is a loop, and a folder holding one.
        let loops = try caseFolder("symlink-loop")
        try FileManager.default.createSymbolicLink(atPath: loops + "/a.bin", withDestinationPath: "b.bin")
        try FileManager.default.createSymbolicLink(atPath: loops + "/b.bin", withDestinationPath: "a.bin")
        cases.append(Case("file system", "a symbolic-link loop as the input", culprits: [loops + "/a.bin"],
                          runs: checkpointRuns(loops + "/a.bin", readers: .files), quick: true))
        let folderLoop = try caseFolder("symlink-loop-in-folder")
        try FileManager.default.copyItem(atPath: base.zstd, toPath: folderLoop + "/ckpt-010.bin")
        try FileManager.default.createSymbolicLink(atPath: folderLoop + "/ckpt-011.bin", withDestinationPath: "ckpt-011.bin")
        try FileManager.default.createSymbolicLink(atPath: folderLoop + "/self", withDestinationPath: ".")
        cases.append(Case("file system", "a folder holding a self-referencing link and a link to itself", culprits: [folderLoop + "/ckpt-011.bin", folderLoop],
                          runs: [Run(tool: "swa-avg", label: "swa-avg", arguments: [folderLoop, "-o", "{OUT}/avg.bin"], expectation: .refused),
                                 Run(tool: "swa-eval", label: "swa-eval", arguments: [base.zstd, "--ensemble", folderLoop, "--data", base.test, "-q"],
                                     expectation: .refused)]))
        let empty = try caseFolder("empty-folder")
        cases.append(Case("checkpoint folder", "an empty folder", culprits: [empty],
                          runs: [Run(tool: "swa-avg", label: "swa-avg", arguments: [empty, "-o", "{OUT}/avg.bin"], expectation: .refused),
                                 Run(tool: "swa-eval", label: "swa-eval", arguments: [base.zstd, "--ensemble", empty, "--data", base.test, "-q"],
                                     expectation: .refused)]))
        return cases
    }
}
