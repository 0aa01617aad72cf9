#ifndef SWA_BUILD_INFO_H
#define SWA_BUILD_INFO_H
// What the build knew about itself, for `--version`. Swift has no compile-time environment
// values, so the Makefile's release builds pass them to the C compiler and the clang importer:
//   swift build -c release -Xcc -DSWA_BUILD_COMMIT='"c0bfeb9"' -Xcc -DSWA_BUILD_DATE='"2026-12-01"'
// A plain `swift build` defines none of them, and the tools then say "unknown".

#ifndef SWA_BUILD_VERSION
#define SWA_BUILD_VERSION "unknown"  // `git describe --tags --dirty`: the nearest tag; unknown without one
#endif

#ifndef SWA_BUILD_COMMIT
#define SWA_BUILD_COMMIT "unknown"  // `git rev-parse --short HEAD`, with "-dirty" for uncommitted changes
#endif

#ifndef SWA_BUILD_DATE
#define SWA_BUILD_DATE "unknown"  // UTC, yyyy-mm-dd (from SOURCE_DATE_EPOCH when set, for reproducible builds)
#endif

/// The version from the nearest git tag (`git describe --tags --dirty`), or "unknown".
static inline const char *swa_build_version(void) { return SWA_BUILD_VERSION; }

/// The commit the tools were built from, or "unknown".
static inline const char *swa_build_commit(void) { return SWA_BUILD_COMMIT; }

/// The day the tools were built (UTC, yyyy-mm-dd), or "unknown".
static inline const char *swa_build_date(void) { return SWA_BUILD_DATE; }

#endif
