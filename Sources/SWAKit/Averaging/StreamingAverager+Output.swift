import SWAFormats

// MARK: - What the output holds

extension StreamingAverager {
    /// The output's tensors: those `request.tensorRange` selects, in the first input's order,
    /// each in the dtype `outputDType(of:)` gives it.
    var outputSpecs: [TensorSpec] {
        request.inputs[0].header.tensors.enumerated().filter { writesTensor($0.offset) }.map { _, tensor in
            TensorSpec(name: tensor.name, dtype: outputDType(of: tensor), shape: tensor.shape)
        }
    }

    /// Whether tensor `index` (in the first input's order) is written by this request.
    func writesTensor(_ index: Int) -> Bool {
        request.tensorRange?.contains(index) ?? true
    }

    /// The dtype `tensor` (as the inputs store it) has in the output:
    /// - an average: `--dtype` applied to float tensors;
    /// - partial sums: F64 for combined tensors, the input's dtype for copied ones;
    /// - the average of partial sums: `--dtype` applied to the dtype the checkpoints stored the
    ///   tensor in (a summed tensor is F64 in the partials).
    func outputDType(of tensor: TensorInfo) -> DType {
        let combined = TensorRule.of(tensor, buffers: request.buffers) == .combine
        switch request.combinedTensors {
        case .average:
            return request.outputDType.resolve(tensor.dtype)
        case .float64Sums:
            return combined ? .f64 : tensor.dtype
        case let .averageOfSums(_, inputDTypes):
            return request.outputDType.resolve(combined ? inputDTypes[tensor.name] ?? tensor.dtype : tensor.dtype)
        }
    }
}
