// Everything is in include/swa_cpu_features.h (static inline); SwiftPM needs one source file.
#include "swa_cpu_features.h"
