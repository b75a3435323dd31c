#define _GNU_SOURCE  // pipe2, pthread_setname_np
#include "CLatchkeySys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/syscall.h>
#if __has_include(<linux/keyctl.h>)
#include <linux/keyctl.h>
#endif

// Values from <linux/keyctl.h> (stable kernel ABI), for systems that lack the header.
#ifndef KEYCTL_GET_KEYRING_ID
#define KEYCTL_GET_KEYRING_ID 0
#endif
#ifndef KEYCTL_REVOKE
#define KEYCTL_REVOKE 3
#endif
#ifndef KEYCTL_SETPERM
#define KEYCTL_SETPERM 5
#endif
#ifndef KEYCTL_SEARCH
#define KEYCTL_SEARCH 10
#endif
#ifndef KEYCTL_READ
#define KEYCTL_READ 11
#endif
#ifndef KEYCTL_SET_TIMEOUT
#define KEYCTL_SET_TIMEOUT 15
#endif
#ifndef KEYCTL_DESCRIBE
#define KEYCTL_DESCRIBE 6
#endif
#ifndef KEYCTL_UNLINK
#define KEYCTL_UNLINK 9
#endif
#ifndef KEYCTL_LINK
#define KEYCTL_LINK 8
#endif
#ifndef KEYCTL_GET_PERSISTENT
#define KEYCTL_GET_PERSISTENT 22
#endif
#ifndef KEYCTL_INVALIDATE
#define KEYCTL_INVALIDATE 21
#endif

static int64_t result(long value) { return value < 0 ? -(int64_t)errno : (int64_t)value; }

#if defined(SYS_add_key) && defined(SYS_keyctl) && defined(SYS_request_key)

int64_t latchkey_add_key(const char *type, const char *description, const void *payload,
                         size_t payload_length, int32_t keyring) {
    return result(syscall(SYS_add_key, type, description, payload, payload_length, keyring));
}

int64_t latchkey_request_key(const char *type, const char *description, int32_t dest_keyring) {
    return result(syscall(SYS_request_key, type, description, (const char *)0, dest_keyring));
}

int64_t latchkey_keyctl_search(int32_t keyring, const char *type, const char *description,
                               int32_t dest_keyring) {
    return result(syscall(SYS_keyctl, KEYCTL_SEARCH, keyring, type, description, dest_keyring));
}

int64_t latchkey_keyctl_read(int32_t key, void *buffer, size_t buffer_length) {
    return result(syscall(SYS_keyctl, KEYCTL_READ, key, buffer, buffer_length));
}

int32_t latchkey_keyctl_set_timeout(int32_t key, uint32_t seconds) {
    return (int32_t)result(syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key, seconds));
}

int32_t latchkey_keyctl_setperm(int32_t key, uint32_t permissions) {
    return (int32_t)result(syscall(SYS_keyctl, KEYCTL_SETPERM, key, permissions));
}

int32_t latchkey_keyctl_invalidate(int32_t key) {
    return (int32_t)result(syscall(SYS_keyctl, KEYCTL_INVALIDATE, key));
}

int32_t latchkey_keyctl_revoke(int32_t key) {
    return (int32_t)result(syscall(SYS_keyctl, KEYCTL_REVOKE, key));
}

int64_t latchkey_keyctl_get_keyring_id(int32_t keyring) {
    return result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, keyring, 0));
}

int64_t latchkey_keyctl_get_persistent(int32_t uid, int32_t dest_keyring) {
    return result(syscall(SYS_keyctl, KEYCTL_GET_PERSISTENT, uid, dest_keyring));
}

int64_t latchkey_keyctl_describe(int32_t key, char *buffer, size_t buffer_length) {
    return result(syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, buffer, buffer_length));
}

int32_t latchkey_keyctl_unlink(int32_t key, int32_t keyring) {
    return (int32_t)result(syscall(SYS_keyctl, KEYCTL_UNLINK, key, keyring));
}

int32_t latchkey_keyctl_link(int32_t key, int32_t keyring) {
    return (int32_t)result(syscall(SYS_keyctl, KEYCTL_LINK, key, keyring));
}

#define LATCHKEY_HAVE_KEYS 1
#endif
#endif

#ifndef LATCHKEY_HAVE_KEYS
// No Linux key API here (macOS, or an architecture without these syscalls).
int64_t latchkey_add_key(const char *type, const char *description, const void *payload,
                         size_t payload_length, int32_t keyring) {
    (void)type, (void)description, (void)payload, (void)payload_length, (void)keyring;
    return -ENOSYS;
}
int64_t latchkey_request_key(const char *type, const char *description, int32_t dest_keyring) {
    (void)type, (void)description, (void)dest_keyring;
    return -ENOSYS;
}
int64_t latchkey_keyctl_search(int32_t keyring, const char *type, const char *description,
                               int32_t dest_keyring) {
    (void)keyring, (void)type, (void)description, (void)dest_keyring;
    return -ENOSYS;
}
int64_t latchkey_keyctl_read(int32_t key, void *buffer, size_t buffer_length) {
    (void)key, (void)buffer, (void)buffer_length;
    return -ENOSYS;
}
int32_t latchkey_keyctl_set_timeout(int32_t key, uint32_t seconds) {
    (void)key, (void)seconds;
    return -ENOSYS;
}
int32_t latchkey_keyctl_setperm(int32_t key, uint32_t permissions) {
    (void)key, (void)permissions;
    return -ENOSYS;
}
int32_t latchkey_keyctl_invalidate(int32_t key) {
    (void)key;
    return -ENOSYS;
}
int32_t latchkey_keyctl_revoke(int32_t key) {
    (void)key;
    return -ENOSYS;
}
int64_t latchkey_keyctl_get_keyring_id(int32_t keyring) {
    (void)keyring;
    return -ENOSYS;
}
int64_t latchkey_keyctl_get_persistent(int32_t uid, int32_t dest_keyring) {
    (void)uid, (void)dest_keyring;
    return -ENOSYS;
}
int64_t latchkey_keyctl_describe(int32_t key, char *buffer, size_t buffer_length) {
    (void)key, (void)buffer, (void)buffer_length;
    return -ENOSYS;
}
int32_t latchkey_keyctl_unlink(int32_t key, int32_t keyring) {
    (void)key, (void)keyring;
    return -ENOSYS;
}
int32_t latchkey_keyctl_link(int32_t key, int32_t keyring) {
    (void)key, (void)keyring;
    return -ENOSYS;
}
#endif

int32_t latchkey_pipe_cloexec(int32_t ends[2]) {
#ifdef __linux__
    return pipe2(ends, O_CLOEXEC) == 0 ? 0 : -errno;
#else
    if (pipe(ends) != 0) return -errno;
    fcntl(ends[0], F_SETFD, FD_CLOEXEC);
    fcntl(ends[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

void latchkey_name_this_thread(const char *name) {
#ifdef __linux__
    char shortName[16];
    strncpy(shortName, name, sizeof shortName - 1);
    shortName[sizeof shortName - 1] = 0;
    pthread_setname_np(pthread_self(), shortName);
#elif defined(__APPLE__)
    pthread_setname_np(name);
#endif
}
