import SWAData
import SWAEngine
import SWAFormats
import Foundation

// MARK: - Output metadata and report

extension StreamingAverager {
    /// Metadata of the averaged checkpoint: the last input's keys carried through (graph,
    /// preprocessing, unknown keys), its training position dropped, and what was done added.
    func outputMetadata(hashes: [String]) -> [String: String] {
        var metadata = request.inputs.last!.header.metadata
        metadata["swa.epoch"] = nil
        metadata["swa.step"] = nil
        metadata["swa.n_averaged"] = String(request.inputs.count)
        metadata["swa.method"] = request.method.metadataValue
        let weights = request.effectiveWeights
        let sources: [JSONValue] = zip(request.inputs, hashes).enumerated().map { index, pair in
            .object([
                ("name", .string(pair.0.fileName)),
                ("sha256", .string(pair.1)),
                ("position", .number(formatPosition(pair.0.position))),
                ("weight", .number(String(weights[index]))),
            ])
        }
        metadata["swa.sources"] = JSONValue.array(sources).serialized
        let hasBatchNorm = request.inputs[0].header.tensors.contains { isBatchNormStatistic($0.name) || isBatchNormCounter($0.name) }
        metadata["swa.bn"] = hasBatchNorm ? "stale" : nil
        return metadata
    }

    func report(hashes: [String]?, strategy: String, outputBytes: Int?, frames: Int?, seconds: Double) -> AveragingReport {
        let weights = request.effectiveWeights
        let inputs = request.inputs.enumerated().map { index, entry in
            AveragingReport.Input(path: entry.path, position: entry.position, weight: weights[index], sha256: hashes?[index])
        }
        return AveragingReport(
            inputs: inputs, positionSource: "", method: request.method.metadataValue, buffers: request.buffers.rawValue,
            output: request.destination, outputBytes: outputBytes, frames: frames, strategy: strategy,
            seconds: seconds, dryRun: hashes == nil)
    }
}
