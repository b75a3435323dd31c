#ifndef CLATCHKEYSYS_H
#define CLATCHKEYSYS_H
// Thin wrappers over Linux system calls Swift cannot reach directly (variadic syscall()).
// Every function returns a negative errno on failure; on non-Linux systems they return -ENOSYS.
#include <stddef.h>
#include <stdint.h>

/// The calling user's keyring (`@u`, KEY_SPEC_USER_KEYRING).
#define LATCHKEY_KEY_SPEC_USER_KEYRING ((int32_t)-4)

/// The calling thread's keyring (`@t`): reachable by this thread only, created on first use.
#define LATCHKEY_KEY_SPEC_THREAD_KEYRING ((int32_t)-1)

/// The calling process's and session's keyrings (`@p`, `@s`).
#define LATCHKEY_KEY_SPEC_PROCESS_KEYRING ((int32_t)-2)
#define LATCHKEY_KEY_SPEC_SESSION_KEYRING ((int32_t)-3)

/// Permission bits of the Linux key API (`KEY_POS_*` / `KEY_USR_*`).
#define LATCHKEY_KEY_POS_ALL ((uint32_t)0x3f000000)
#define LATCHKEY_KEY_USR_VIEW ((uint32_t)0x00010000)
#define LATCHKEY_KEY_USR_READ ((uint32_t)0x00020000)
#define LATCHKEY_KEY_USR_WRITE ((uint32_t)0x00040000)
#define LATCHKEY_KEY_USR_SEARCH ((uint32_t)0x00080000)
#define LATCHKEY_KEY_USR_SETATTR ((uint32_t)0x00200000)

/// add_key(2): returns the new key's serial number.
int64_t latchkey_add_key(const char *type, const char *description, const void *payload,
                         size_t payload_length, int32_t keyring);
/// request_key(2) without a callout: returns the serial of a matching key reachable by the caller.
int64_t latchkey_request_key(const char *type, const char *description, int32_t dest_keyring);
/// keyctl(KEYCTL_SEARCH): returns the serial of a matching key found under `keyring`.
int64_t latchkey_keyctl_search(int32_t keyring, const char *type, const char *description,
                               int32_t dest_keyring);
/// keyctl(KEYCTL_READ): returns the payload's full length (may exceed `buffer_length`).
int64_t latchkey_keyctl_read(int32_t key, void *buffer, size_t buffer_length);
/// keyctl(KEYCTL_SET_TIMEOUT): the key expires `seconds` from now (0 clears the timeout).
int32_t latchkey_keyctl_set_timeout(int32_t key, uint32_t seconds);
/// keyctl(KEYCTL_SETPERM).
int32_t latchkey_keyctl_setperm(int32_t key, uint32_t permissions);
/// keyctl(KEYCTL_INVALIDATE): the key disappears at once.
int32_t latchkey_keyctl_invalidate(int32_t key);
/// keyctl(KEYCTL_REVOKE): for kernels without KEYCTL_INVALIDATE.
int32_t latchkey_keyctl_revoke(int32_t key);
/// keyctl(KEYCTL_GET_KEYRING_ID) without creating: probes whether the key API is usable at all.
int64_t latchkey_keyctl_get_keyring_id(int32_t keyring);

/// keyctl(KEYCTL_GET_PERSISTENT): the user's persistent keyring (uid -1 = own), linked into `dest_keyring`.
int64_t latchkey_keyctl_get_persistent(int32_t uid, int32_t dest_keyring);
/// keyctl(KEYCTL_DESCRIBE): "type;uid;gid;perm;description" with its NUL; returns the full length.
int64_t latchkey_keyctl_describe(int32_t key, char *buffer, size_t buffer_length);
/// keyctl(KEYCTL_UNLINK): removes `key` from `keyring`.
int32_t latchkey_keyctl_unlink(int32_t key, int32_t keyring);
/// keyctl(KEYCTL_LINK): adds `key` to `keyring`, displacing a key of the same type and description.
int32_t latchkey_keyctl_link(int32_t key, int32_t keyring);

/// pipe2(O_CLOEXEC): both ends closed in any program started later, so a child started by
/// another thread at the same moment cannot hold the write end open and keep a reader waiting.
int32_t latchkey_pipe_cloexec(int32_t ends[2]);

/// Names the calling thread (what `ps -L`, gdb and perf show); the kernel keeps 15 bytes of it.
void latchkey_name_this_thread(const char *name);

#endif
