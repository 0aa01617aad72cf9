import SWAData
import SWAEngine
import SWAFormats
/// Checks that every input holds the same tensors (names, dtypes, shapes) as the first,
/// before any data is read; the error names the first file and tensor that differ.
/// - Returns: whether all inputs also share one byte layout, so they can be streamed in lockstep.
func checkSameTensors(_ entries: [CheckpointEntry]) throws -> Bool {
    guard let reference = entries.first else { return true }
    var sameLayout = true
    for entry in entries.dropFirst() {
        if let different = differentModelsMessage(entry, comparedWith: reference) { throw SWAError(different) }
        try checkSameTensorNamesAndShapes(entry.header, of: entry.path, as: reference.header, of: reference.path) { tensor, wanted in
            if tensor.dtype != wanted.dtype {
                throw SWAError(file: entry.path, "tensor '\(tensor.name)' has dtype \(tensor.dtype.name), expected \(wanted.dtype.name)")
            }
        }
        if entry.header.tensors != reference.header.tensors { sameLayout = false }
    }
    return sameLayout
}

/// Checks that `header` (of the file `path`) holds exactly the tensors of `reference` (of
/// `referencePath`) with the same shapes; errors name `path` and the tensor: a tensor missing,
/// one `reference` lacks, or a shape that differs (`shapeNote` is appended to that message).
/// - Parameter check: more checks of each tensor against its counterpart in `reference`,
///   run before the shape is compared (the averager's dtypes).
func checkSameTensorNamesAndShapes(_ header: SafetensorsHeader, of path: String, as reference: SafetensorsHeader,
                                   of referencePath: String, shapeNote: String = "",
                                   check: (TensorInfo, TensorInfo) throws -> Void = { _, _ in }) throws {
    let expected = Dictionary(uniqueKeysWithValues: reference.tensors.map { ($0.name, $0) })
    let names = Set(header.tensors.map(\.name))
    for tensor in reference.tensors where !names.contains(tensor.name) {
        throw SWAError(file: path, "tensor '\(tensor.name)' is missing (it is in \(referencePath))")
    }
    for tensor in header.tensors {
        guard let wanted = expected[tensor.name] else {
            throw SWAError(file: path, "tensor '\(tensor.name)' is not in \(referencePath)")
        }
        try check(tensor, wanted)
        if tensor.shape != wanted.shape {
            throw SWAError(file: path, "tensor '\(tensor.name)' has shape \(tensor.shapeDescription), expected \(wanted.shapeDescription)\(shapeNote)")
        }
    }
}
