#ifndef CLATCHKEYSYS_H
#define CLATCHKEYSYS_H
// Thin wrappers over Linux system calls Swift cannot reach directly (variadic syscall()).
#include <stdint.h>
#include <stddef.h>
int32_t latchkey_sys_placeholder(void);
#endif
