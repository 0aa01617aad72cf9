import SWAFormats
// Fully connected layer: one sgemm for the whole batch.

/// Affine map of a batch of feature vectors, as `torch.nn.functional.linear`.
///
/// `output [batch, outFeatures] = input [batch, inFeatures] · weightᵀ + bias [outFeatures]`,
/// with `weight` in PyTorch's layout `[outFeatures, inFeatures]` (read transposed by
/// `cblas_sgemm`, never copied). `bias` nil means no bias. `output` must not overlap `input`.
public func linear(_ input: UnsafePointer<Float>, batch: Int, inFeatures: Int, outFeatures: Int,
                   weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
    precondition(batch >= 0 && inFeatures > 0 && outFeatures > 0, "linear: bad shape [\(batch), \(inFeatures)] -> \(outFeatures)")
    if let bias {
        // sgemm accumulates onto the bias rows (beta = 1) instead of a second pass.
        for row in 0 ..< batch {
            (output + row * outFeatures).update(from: bias, count: outFeatures)
        }
    }
    sgemm(transposeB: true, m: batch, n: outFeatures, k: inFeatures,
          a: input, lda: inFeatures, b: weight, ldb: inFeatures,
          beta: bias == nil ? 0 : 1, c: output, ldc: outFeatures)
}
