import Foundation
import Testing
@testable import SWAFormats
@testable import SWAKit

/// Trainer folders as a run: discovery, positions, selection, and the average against
/// PyTorch's golden (fixtures/make_hf_fixtures.py), bit for bit.
@Suite struct HuggingFaceAveragingTests {
    @Test func runFolderHoldsItsCheckpointFoldersInStepOrder() throws {
        let sequence = try discoverCheckpoints([HFFixtures.run])
        #expect(sequence.positionSource == .step)
        #expect(sequence.entries.map(\.position) == [10, 20, 30, 40])
        #expect(sequence.entries.map(\.fileName) == HFFixtures.steps.map { "checkpoint-\($0)" })
        #expect(sequence.entries.allSatisfy { $0.format == .safetensorsIndex })
    }

    @Test func trainerStateOutranksTheFolderName() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let run = try HFFixtures.copy(HFFixtures.run, into: folder, as: "output")
            // The folder names say 10 < 40; the trainer states say the opposite.
            try setGlobalStep(400, in: run + "/checkpoint-10")
            let sequence = try discoverCheckpoints([run])
            #expect(sequence.entries.map(\.fileName) == ["checkpoint-20", "checkpoint-30", "checkpoint-40", "checkpoint-10"])
            #expect(sequence.entries.map(\.position) == [20, 30, 40, 400])
        }
    }

    @Test func withoutTrainerStatesTheFolderNumbersOrderTheRun() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let run = try HFFixtures.copy(HFFixtures.run, into: folder, as: "output")
            for step in HFFixtures.steps { try FileManager.default.removeItem(atPath: run + "/checkpoint-\(step)/trainer_state.json") }
            let sequence = try discoverCheckpoints([run])
            #expect(sequence.positionSource == .fileName)
            #expect(sequence.entries.map(\.position) == [10, 20, 30, 40])
        }
    }

    @Test func modelSavedBesideTheCheckpointFoldersIsIgnoredWithAWarning() throws {
        try TestSupport.withTemporaryDirectory { folder in
            let run = try HFFixtures.copy(HFFixtures.run, into: folder, as: "output")
            try FileManager.default.copyItem(atPath: run + "/checkpoint-40/model-00001-of-00002.safetensors", toPath: run + "/model.safetensors")
            try Data("{}".utf8).write(to: URL(fileURLWithPath: run + "/training_args.bin"))
            var warnings: [String] = []
            let sequence = try discoverCheckpoints([run]) { warnings.append($0) }
            #expect(sequence.entries.count == 4)
            #expect(warnings == ["ignoring \(run)/model.safetensors: the model folders in \(run) are the checkpoints of the run"])
        }
    }

    @Test(arguments: [
        (CheckpointSelection(), "average-all.safetensors"),
        (CheckpointSelection(start: 20, every: 2), "average-start20-every2.safetensors"),
        (CheckpointSelection(last: 2), "average-last2.safetensors"),
    ])
    func averageOfTheSelectionEqualsTheGoldenBitForBit(selection: CheckpointSelection, golden: String) throws {
        try TestSupport.withTemporaryDirectory { folder in
            let inputs = try selection.apply(to: discoverCheckpoints([HFFixtures.run]))
            let output = folder + "/swa.bin"
            let report = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted(Array(repeating: 1, count: inputs.count)),
                                                                         destination: output)).run()
            // The fixture spreads the tensors over the shards differently in every checkpoint.
            #expect(report.strategy == (inputs.count > 1 ? "random access" : "lockstep"))
            try expectSameTensors(output, HFFixtures.golden(golden))
            let sources = try #require(try TensorArchives.open(path: output).header.checkpointMetadata.sources(file: output))
            #expect(sources.map(\.name) == inputs.map(\.fileName))
            #expect(sources.map(\.sha256) == report.inputs.map { $0.sha256! })
            #expect(TestSupport.contents(of: folder) == ["swa.bin"])
        }
    }

    /// The same bits in lockstep (inputs rewritten in one layout) and by random access with one thread.
    @Test func lockstepAndRandomAccessGiveTheSameBits() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var sameLayout: [String] = [], ownLayout: [String] = []
            for step in HFFixtures.steps {
                let tensors = try HFFixtures.tensors(HFFixtures.checkpoint(step)).values.sorted { $0.0.name < $1.0.name }
                let path = folder + "/sorted-\(step).bin"
                try CheckpointWriter.write(tensors.map { (TensorSpec(name: $0.0.name, dtype: $0.0.dtype, shape: $0.0.shape), $0.1) },
                                           metadata: ["swa.step": String(step)], to: path, overwrite: false)
                sameLayout.append(path)
                let plain = folder + "/own-\(step).safetensors"
                _ = try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(step), destination: plain))
                ownLayout.append(plain)
            }
            let lockstep = try StreamingAverager(request: AveragingRequest(
                inputs: discoverCheckpoints(sameLayout).entries, method: .weighted([1, 1, 1, 1]), destination: folder + "/lockstep.bin")).run()
            #expect(lockstep.strategy == "lockstep")
            try expectSameTensors(folder + "/lockstep.bin", HFFixtures.golden("average-all.safetensors"))
            let request = AveragingRequest(inputs: try discoverCheckpoints(ownLayout).entries, method: .weighted([1, 1, 1, 1]),
                                           destination: folder + "/random.safetensors", threads: 1)
            let random = try StreamingAverager(request: request).run()
            #expect(random.strategy == "random access")
            try expectSameTensors(folder + "/random.safetensors", HFFixtures.golden("average-all.safetensors"))
        }
    }

    @Test func zstdInputsInDifferentLayoutsFallBackToTheAccumulator() throws {
        try TestSupport.withTemporaryDirectory { folder in
            var converted: [String] = []
            for step in HFFixtures.steps {
                let path = folder + "/ckpt-\(step).bin"
                _ = try ConversionJob.run(ConversionRequest(input: HFFixtures.checkpoint(step), destination: path))
                converted.append(path)
            }
            let inputs = try discoverCheckpoints(converted).entries
            let report = try StreamingAverager(request: AveragingRequest(inputs: inputs, method: .weighted([1, 1, 1, 1]), destination: folder + "/a.bin")).run()
            #expect(report.strategy == "accumulator")
            try expectSameTensors(folder + "/a.bin", HFFixtures.golden("average-all.safetensors"))
        }
    }

    /// Every tensor of `path` equals the golden's, name, dtype, shape and bytes.
    private func expectSameTensors(_ path: String, _ golden: String) throws {
        let ours = try HFFixtures.tensors(path), expected = try HFFixtures.tensors(golden)
        #expect(Set(ours.keys) == Set(expected.keys))
        for (name, (info, bytes)) in expected {
            let (ourInfo, ourBytes) = try #require(ours[name])
            #expect(ourInfo.dtype == info.dtype && ourInfo.shape == info.shape, "\(name)")
            #expect(ourBytes == bytes, "\(name)")
        }
    }

    private func setGlobalStep(_ step: Int, in folder: String) throws {
        try Data("{\"global_step\": \(step)}\n".utf8).write(to: URL(fileURLWithPath: folder + "/trainer_state.json"))
    }
}
