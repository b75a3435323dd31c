#ifndef C_FUZZ_DRIVER_H
#define C_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef int (*fuzz_test_one_input)(const uint8_t *data, size_t size);

/// Hands control to libFuzzer's driver. SwiftPM links executables with `main` renamed to
/// `<Module>_main`, so libFuzzer's own `main` is never pulled in; each target's `<Module>_main`
/// calls this instead.
int fuzz_run_driver(int argc, char **argv, fuzz_test_one_input test);

#endif
