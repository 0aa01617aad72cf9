#ifndef SWA_TURBOJPEG_SHIM_H
#define SWA_TURBOJPEG_SHIM_H
// libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev): JPEG decoding for image folders.
#include <turbojpeg.h>
#endif
