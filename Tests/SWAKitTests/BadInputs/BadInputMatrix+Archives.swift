import Foundation
@testable import SWAFormats

// MARK: - PyTorch files (zip and legacy)

extension BadInputMatrix {
    /// `torch.save` files: the fixture run's epoch 18 in the zip format (its model runs), and
    /// the legacy-format fixture (views, no model): truncations and flips in their structure.
    func pytorchCases() throws -> [Case] {
        var cases: [Case] = []
        let zipPath = TestSupport.fixtures + "/pytorch/run/epoch-018.pt"
        let zip = try TestSupport.bytes(of: zipPath)
        let zipRuns = { (path: String, expectation: Expectation) in self.checkpointRuns(path, expectation: expectation, graph: self.base.graph) }
        cases.append(Case("PyTorch zip", "none (control)", culprits: [zipPath], runs: zipRuns(zipPath, .succeeds(mentioning: nil))))
        // The pickle's first byte (PROTO): the local header is 30 bytes, the name, the extra field.
        let nameLength = Int(zip[26]) | Int(zip[27]) << 8, extraLength = Int(zip[28]) | Int(zip[29]) << 8
        let pickleStart = 30 + nameLength + extraLength
        let endOfDirectory = zip.count - 22
        let centralDirectory = Int(zip[endOfDirectory + 16]) | Int(zip[endOfDirectory + 17]) << 8
            | Int(zip[endOfDirectory + 18]) << 16 | Int(zip[endOfDirectory + 19]) << 24
        let zipVariants: [(String, [UInt8])] = [
            ("cut to 100 bytes", Array(zip[..<100])),
            ("cut inside the storages", Array(zip[..<(zip.count / 2)])),
            ("end-of-central-directory record cut off", Array(zip[..<endOfDirectory])),
            ("bit flip in the pickle's protocol opcode", Self.flipping(zip, at: pickleStart, bit: 6)),
            ("bit flip in the end-of-central-directory signature", Self.flipping(zip, at: endOfDirectory, bit: 0)),
            ("bit flip in the central directory's first signature", Self.flipping(zip, at: centralDirectory + 1, bit: 2)),
            ("central directory offset past the end", Self.setting(zip, at: endOfDirectory + 16, uint32: UInt32(zip.count + 100))),
            // The local header may leave the sizes to the directory (torch.save's writer does).
            ("bit flip in the pickle's STOP opcode", Self.flipping(zip, at: pickleStart + Int(zip.le32(centralDirectory + 20)) - 1, bit: 0)),
        ]
        for (index, (damage, bytes)) in zipVariants.enumerated() {
            let path = try write(bytes, case: "pt-zip-\(index)", name: "epoch-018.pt")
            cases.append(Case("PyTorch zip", damage, culprits: [path], runs: zipRuns(path, .refused), quick: index == 1))
        }

        // Named with a number: the legacy fixture records no epoch, and swa-avg orders its inputs.
        let legacy = try TestSupport.bytes(of: TestSupport.fixtures + "/pytorch/legacy.pt")
        let legacyPath = try write(legacy, case: "pt-legacy-control", name: "legacy-1.pt")
        cases.append(Case("PyTorch legacy", "none (control)", culprits: [legacyPath],
                          runs: checkpointRuns(legacyPath, readers: .files, expectation: .succeeds(mentioning: nil))))
        let legacyVariants: [(String, [UInt8])] = [
            ("cut inside the magic number's pickle", Array(legacy[..<6])),
            ("cut inside the storages", Array(legacy[..<(legacy.count - 40)])),
            ("bit flip in the magic number", Self.flipping(legacy, at: 4, bit: 1)),
            ("bit flip in the protocol version", Self.flipping(legacy, at: 14, bit: 3)),
        ]
        for (index, (damage, bytes)) in legacyVariants.enumerated() {
            let path = try write(bytes, case: "pt-legacy-\(index)", name: "legacy-1.pt")
            cases.append(Case("PyTorch legacy", damage, culprits: [path], runs: checkpointRuns(path, readers: .files)))
        }
        // torch.load reads a legacy file front to back and never looks past the last storage;
        // neither do the readers here, so bytes appended there change nothing.
        let appended = try write(legacy + [1, 2, 3, 4, 5, 6, 7, 8], case: "pt-legacy-appended", name: "legacy-1.pt")
        cases.append(Case("PyTorch legacy", "bytes after the last storage (ignored, as torch.load ignores them)", culprits: [appended],
                          runs: checkpointRuns(appended, readers: .files, expectation: .refusedOrUnchanged), unchangedCheck: (appended, legacyPath)))
        return cases
    }

    /// `bytes` with a little-endian `UInt32` written at `offset`.
    static func setting(_ bytes: [UInt8], at offset: Int, uint32 value: UInt32) -> [UInt8] {
        var copy = bytes
        withUnsafeBytes(of: value.littleEndian) { for (index, byte) in $0.enumerated() { copy[offset + index] = byte } }
        return copy
    }
}

// MARK: - Hugging Face folders and sharded indexes

extension BadInputMatrix {
    /// A Trainer `checkpoint-10/` (an index and two plain shards): a shard missing, cut or
    /// with a lying header; an index that is not JSON, misplaces, omits or repeats a tensor, or
    /// points outside the folder.
    func shardedCases() throws -> [Case] {
        let original = TestSupport.fixtures + "/hf/output/checkpoint-10"
        let indexName = "model.safetensors.index.json"
        let shard1 = "model-00001-of-00002.safetensors", shard2 = "model-00002-of-00002.safetensors"
        let index = try String(contentsOfFile: original + "/" + indexName, encoding: .utf8)
        // The first key the index places in the second shard, and the first in the first.
        let parsed = try JSONValue.parse(index)
        guard case let .object(weights)? = parsed["weight_map"],
              let second = weights.first(where: { $0.1.stringValue == shard2 })?.0,
              let first = weights.first(where: { $0.1.stringValue == shard1 })?.0 else {
            throw SWAError(file: original, "unexpected index")
        }
        let variants: [(String, (String) throws -> [String])] = [
            ("a shard missing", { folder in
                try FileManager.default.removeItem(atPath: folder + "/" + shard2)
                return [folder + "/" + shard2, folder + "/" + indexName, folder]
            }),
            ("a shard cut in half", { folder in
                let bytes = try TestSupport.bytes(of: folder + "/" + shard1)
                try TestSupport.write(Array(bytes[..<(bytes.count / 2)]), to: folder, name: shard1)
                return [folder + "/" + shard1]
            }),
            ("a shard's header length 2^63", { folder in
                var bytes = try TestSupport.bytes(of: folder + "/" + shard2)
                bytes.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x80])
                try TestSupport.write(bytes, to: folder, name: shard2)
                return [folder + "/" + shard2]
            }),
            ("the index not JSON", { folder in
                try String(index.prefix(index.count / 2)).write(toFile: folder + "/" + indexName, atomically: true, encoding: .utf8)
                return [folder + "/" + indexName, folder]
            }),
            ("the index places a tensor in the wrong shard", { folder in
                try index.replacingOccurrences(of: "\"\(second)\": \"\(shard2)\"", with: "\"\(second)\": \"\(shard1)\"")
                    .write(toFile: folder + "/" + indexName, atomically: true, encoding: .utf8)
                return [folder + "/" + indexName, folder + "/" + shard1, folder + "/" + shard2, folder]
            }),
            ("the index omits a tensor", { folder in
                try index.replacingOccurrences(of: "\"\(first)\": \"\(shard1)\",", with: "")
                    .write(toFile: folder + "/" + indexName, atomically: true, encoding: .utf8)
                return [folder + "/" + indexName, folder + "/" + shard1, folder]
            }),
            ("the index names a tensor twice", { folder in
                try index.replacingOccurrences(of: "\"weight_map\": {", with: "\"weight_map\": {\n    \"\(second)\": \"\(shard2)\",")
                    .write(toFile: folder + "/" + indexName, atomically: true, encoding: .utf8)
                return [folder + "/" + indexName, folder]
            }),
            ("the index points outside the folder", { folder in
                try index.replacingOccurrences(of: "\"\(second)\": \"\(shard2)\"", with: "\"\(second)\": \"../\(shard2)\"")
                    .write(toFile: folder + "/" + indexName, atomically: true, encoding: .utf8)
                return [folder + "/" + indexName, folder]
            }),
        ]
        let control = try caseFolder("hf-control") + "/checkpoint-10"
        try FileManager.default.copyItem(atPath: original, toPath: control)
        var cases = [Case("Hugging Face folder", "none (control)", culprits: [control],
                          runs: checkpointRuns(control, readers: .files, expectation: .succeeds(mentioning: nil)))]
        for (number, (damage, damageFolder)) in variants.enumerated() {
            let folder = try caseFolder("hf-\(number)") + "/checkpoint-10"
            try FileManager.default.copyItem(atPath: original, toPath: folder)
            let culprits = try damageFolder(folder)
            var runs = checkpointRuns(folder, readers: .files)
            // The index file named directly reads the same way.
            runs += checkpointRuns(folder + "/" + indexName, readers: [.inspect])
            cases.append(Case("Hugging Face folder", damage, culprits: culprits, runs: runs, quick: number == 4))
        }
        return cases
    }
}
