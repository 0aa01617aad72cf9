import SWAData
import SWAEngine
import SWAFormats
/// Checks that every input holds the same tensors (names, dtypes, shapes) as the first,
/// before any data is read; the error names the first file and tensor that differ.
/// - Returns: whether all inputs also share one byte layout, so they can be streamed in lockstep.
func checkSameTensors(_ entries: [CheckpointEntry]) throws -> Bool {
    guard let reference = entries.first else { return true }
    let expected = Dictionary(uniqueKeysWithValues: reference.header.tensors.map { ($0.name, $0) })
    var sameLayout = true
    for entry in entries.dropFirst() {
        if let different = differentModelsMessage(entry, comparedWith: reference) { throw SWAError(different) }
        let names = Set(entry.header.tensors.map(\.name))
        for tensor in reference.header.tensors where !names.contains(tensor.name) {
            throw SWAError(file: entry.path, "tensor '\(tensor.name)' is missing (it is in \(reference.path))")
        }
        for tensor in entry.header.tensors {
            guard let wanted = expected[tensor.name] else {
                throw SWAError(file: entry.path, "tensor '\(tensor.name)' is not in \(reference.path)")
            }
            if tensor.dtype != wanted.dtype {
                throw SWAError(file: entry.path, "tensor '\(tensor.name)' has dtype \(tensor.dtype.name), expected \(wanted.dtype.name)")
            }
            if tensor.shape != wanted.shape {
                throw SWAError(file: entry.path, "tensor '\(tensor.name)' has shape \(tensor.shapeDescription), expected \(wanted.shapeDescription)")
            }
        }
        if entry.header.tensors != reference.header.tensors { sameLayout = false }
    }
    return sameLayout
}
