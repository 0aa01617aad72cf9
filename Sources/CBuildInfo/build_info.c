// CBuildInfo is header-only (include/swa_build_info.h); SwiftPM wants one source file per C target.
#include "swa_build_info.h"
