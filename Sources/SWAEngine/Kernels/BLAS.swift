import SWAFormats
import CBLAS

// The one door to OpenBLAS. Every matrix product of the forward pass (convolution through
// im2col, linear layers) goes through `sgemm`, row-major, single precision.

// MARK: - Threading

/// The OpenBLAS setting the kernels are designed for, made in one place.
public enum BLASRuntime {
    /// Makes OpenBLAS run every call on the calling thread; the first call does it, later
    /// calls do nothing. Safe to call from any thread.
    ///
    /// Why: the kernels parallelise around BLAS themselves. `conv2d` cuts the batch into one
    /// chunk per core and runs one `cblas_sgemm` per chunk on its own thread; an OpenBLAS thread
    /// pool inside each of those calls would put several busy threads on every core, which
    /// then lose time switching between them and evicting each other's caches. The kernel
    /// timings in docs/PERFORMANCE.md were all taken with this setting.
    ///
    /// Who calls it: `ForwardPass.init`, so every tool and procedure that runs a model is
    /// covered. Code that calls the kernels or `sgemm` directly — tests, benchmarks — calls it
    /// first. Without it the kernels still compute correctly, only with OpenBLAS's own pool
    /// fighting theirs for the cores.
    ///
    /// The setting is process-wide: it applies to every OpenBLAS call in the process.
    /// The corresponding C function is `openblas_set_num_threads`.
    public static func configureForKernels() {
        _ = singleThreaded
    }

    /// The kernel set OpenBLAS loaded for this CPU (`Haswell`, `SkylakeX`, `Zen`, `Prescott`),
    /// for benchmarks that report what they measured. The corresponding C function is
    /// `openblas_get_corename`.
    public static var loadedKernels: String {
        String(String(cString: openblas_get_corename()).split(separator: " ").joined(separator: " "))
    }

    /// A `static let` initialiser runs once, lazily and thread-safely.
    private static let singleThreaded: Void = openblas_set_num_threads(1)
}

// MARK: - sgemm

/// `C = alpha · op(A) · op(B) + beta · C` in single precision, all matrices row-major.
///
/// `op(A)` is `[m, k]` and `op(B)` is `[k, n]`; `C` is `[m, n]` with row stride `ldc`. With
/// `transposeA`, `a` holds the `[k, m]` matrix whose transpose is used (likewise `transposeB`,
/// `b` holding `[n, k]`); `lda`/`ldb` are the row strides of the matrices as stored. With
/// `beta == 0`, `C` is not read (it may hold garbage). OpenBLAS runs it on the calling thread
/// once `BLASRuntime.configureForKernels()` has run.
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
