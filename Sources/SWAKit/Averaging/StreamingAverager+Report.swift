import SWAData
import SWAEngine
import SWAFormats
import Foundation

// MARK: - Output metadata and report

extension StreamingAverager {
    /// Metadata of the averaged checkpoint: the last input's keys carried through (graph,
    /// preprocessing, unknown keys), its training state (position, `swa.lr` ...) dropped, and
    /// what was done added.
    /// - Parameter weights: each input's share of the result, when not `request.effectiveWeights`
    ///   (a checkpoint-range shard records its inputs' shares of the whole run's average).
    func outputMetadata(hashes: [String], weights: [Double]? = nil) -> [String: String] {
        var metadata = request.inputs.last!.header.checkpointMetadata
        metadata.removeTrainingState()
        metadata.averagedCount = request.inputs.count
        metadata.method = request.method.metadataValue
        let weights = weights ?? request.effectiveWeights
        metadata.setSources(zip(request.inputs, hashes).enumerated().map { index, pair in
            SourceRecord(name: pair.0.fileName, sha256: pair.1, position: pair.0.position, weight: weights[index])
        })
        let hasBatchNorm = request.inputs[0].header.tensors.contains { isBatchNormStatistic($0.name) || isBatchNormCounter($0.name) }
        metadata.batchNorm = hasBatchNorm ? .stale : nil
        return metadata.values
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
