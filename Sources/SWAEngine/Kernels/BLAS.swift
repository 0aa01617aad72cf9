import SWAFormats
import CBLAS

// The one door to OpenBLAS. Every matrix product of the forward pass (convolution through
// im2col, linear layers) goes through `sgemm`, row-major, single precision.

// MARK: - Threading

/// Process-wide settings the kernels need before their first BLAS call.
enum Kernels {
    /// Runs `openblas_set_num_threads(1)` exactly once (a `static let` initialiser is
    /// thread-safe and lazy). The kernels parallelise around BLAS themselves, one sgemm per
    /// core; an OpenBLAS thread pool on top of that would oversubscribe the cores.
    private static let singleThreadedBLAS: Void = openblas_set_num_threads(1)

    /// Call at the top of every kernel that reaches BLAS.
    @inline(__always)
    static func prepare() {
        _ = singleThreadedBLAS
    }
}

// MARK: - sgemm

/// `C = alpha · op(A) · op(B) + beta · C` in single precision, all matrices row-major.
///
/// `op(A)` is `[m, k]` and `op(B)` is `[k, n]`; `C` is `[m, n]` with row stride `ldc`. With
/// `transposeA`, `a` holds the `[k, m]` matrix whose transpose is used (likewise `transposeB`,
/// `b` holding `[n, k]`); `lda`/`ldb` are the row strides of the matrices as stored. With
/// `beta == 0`, `C` is not read (it may hold garbage). OpenBLAS runs it on the calling thread
/// once any kernel has run (see `Kernels.prepare()`).
///
/// The corresponding C function is `cblas_sgemm`.
public func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension")
    precondition(max(m, n, k, lda, ldb, ldc) <= Int(Int32.max), "sgemm: dimension exceeds OpenBLAS's 32-bit blasint")
    guard m > 0, n > 0 else { return }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
