#include "CFuzzDriver.h"

// Provided by libFuzzer (linked by `-sanitize=fuzzer`), LLVM 11 and later.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*user_callback)(const uint8_t *data, size_t size));

int fuzz_run_driver(int argc, char **argv, fuzz_test_one_input test) {
    return LLVMFuzzerRunDriver(&argc, &argv, test);
}
