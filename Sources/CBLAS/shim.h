#ifndef SWA_CBLAS_SHIM_H
#define SWA_CBLAS_SHIM_H
// OpenBLAS's cblas.h (Debian libopenblas-dev; pkg-config `openblas` adds its include folder).
// It also declares openblas_set_num_threads, which the kernels use to keep BLAS single-threaded,
// and openblas_get_corename and openblas_get_config, which --version prints (SWACommandLine).
#include <cblas.h>
#endif
