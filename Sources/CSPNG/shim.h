#ifndef SWA_SPNG_SHIM_H
#define SWA_SPNG_SHIM_H
// libspng (Debian libspng-dev): PNG decoding for image folders.
#include <spng.h>
#endif
