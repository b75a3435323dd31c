#include "CLatchkeySys.h"
int32_t latchkey_sys_placeholder(void) { return 0; }
