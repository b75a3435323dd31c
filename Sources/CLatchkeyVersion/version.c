// Package.swift defines these from the LATCHKEY_VERSION / LATCHKEY_COMMIT environment variables
// that scripts/version provides; a plain `swift build` gets the fallbacks and needs no git.
#include "CLatchkeyVersion.h"

#ifndef LATCHKEY_VERSION
#define LATCHKEY_VERSION "0.0.0-dev"
#endif
#ifndef LATCHKEY_COMMIT
#define LATCHKEY_COMMIT "unknown commit"
#endif

const char *latchkey_build_version(void) { return LATCHKEY_VERSION; }
const char *latchkey_build_commit(void) { return LATCHKEY_COMMIT; }
