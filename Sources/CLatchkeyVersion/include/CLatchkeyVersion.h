#ifndef CLATCHKEYVERSION_H
#define CLATCHKEYVERSION_H

/// The version latchkey was built as ("0.0.0-dev" unless LATCHKEY_VERSION was set for the build).
const char *latchkey_build_version(void);
/// The commit latchkey was built from ("unknown commit" unless LATCHKEY_COMMIT was set).
const char *latchkey_build_commit(void);

#endif
