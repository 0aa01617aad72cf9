// Header-only module: see include/swa_libfuzzer.h.
#include "swa_libfuzzer.h"
