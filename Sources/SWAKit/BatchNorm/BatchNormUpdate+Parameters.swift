import SWAEngine
import SWAFormats
// MARK: - Applying the updated statistics in memory

extension BatchNormUpdate.Result {
    /// `parameters` with their BN `running_mean` / `running_var` replaced by this result's
    /// (`[C]` Float32 each), in memory: what `write(over:metadata:to:overwrite:)` puts in the
    /// file, without the file. A loss-surface sweep recomputes the statistics at every point
    /// and evaluates them this way.
    ///
    /// The values are this result's bit for bit, as a Float32 checkpoint written and read back
    /// gives them. `num_batches_tracked` is not kept in memory (`ModelParameters` holds float
    /// tensors only; inference does not read it), so `counters` has no part here.
    /// - Parameter parameters: bound to the graph the pass ran on.
    /// - Throws: an error naming the key if a running statistic of the graph has no value in
    ///   this result or the result holds a tensor that is not one (a pass over another
    ///   graph), or a value does not fit its tensor.
    public func applied(to parameters: ModelParameters) throws -> ModelParameters {
        var runningStatistics = Set<String>()
        for node in parameters.graph.batchNormNodes {
            for role in ["running_mean", "running_var"] {
                guard let key = node.tensors[role] else { continue }
                guard statistics[key] != nil else {
                    throw SWAError("the BN update result has no \(role) for graph node '\(node.name)' (tensor '\(key)'); was it computed for another graph?")
                }
                runningStatistics.insert(key)
            }
        }
        if let stranger = statistics.keys.sorted().first(where: { !runningStatistics.contains($0) }) {
            throw SWAError("tensor '\(stranger)' of the BN update result is not a BN running statistic of the model graph")
        }
        return try parameters.replacing(statistics)
    }
}
