#ifndef SWA_LIBFUZZER_H
#define SWA_LIBFUZZER_H
// libFuzzer's driver entry point (compiler-rt, lib/fuzzer/FuzzerInterface.h), declared here so
// that Swift calls it with the C calling convention. Only `make fuzz` links libFuzzer
// (libclang_rt.fuzzer_no_main); the normal build declares it and never calls it.
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer on `callback` with libFuzzer's command line (`argc`, `argv`): flags, corpus
/// folders, or inputs to replay. Returns the process's exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
