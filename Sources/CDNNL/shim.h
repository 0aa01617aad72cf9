#ifndef SWA_CDNNL_SHIM_H
#define SWA_CDNNL_SHIM_H
// oneDNN's C API (Debian libdnnl-dev 2.6.3; no pkg-config file, the headers are in
// /usr/include/oneapi/dnnl). SWAEngine's OneDNN* files wrap it, one thin function per call.
#include <oneapi/dnnl/dnnl.h>

// Debian builds oneDNN on the OpenMP runtime (libgomp; dnnl_version()->cpu_runtime ==
// DNNL_RUNTIME_OMP), so oneDNN's thread count is OpenMP's. Declared here rather than through
// <omp.h>, which clang does not ship on Debian; the module links libgomp.
int omp_get_max_threads(void);
void omp_set_num_threads(int count);

#endif
