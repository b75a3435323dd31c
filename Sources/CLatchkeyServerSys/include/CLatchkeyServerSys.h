#ifndef CLATCHKEYSERVERSYS_H
#define CLATCHKEYSERVERSYS_H
// epoll and eventfd for the credential servers' event loops. Swift's Glibc module does not
// export them, and `struct epoll_event` is packed on x86_64, so the loop uses this plain form.
#include <stdint.h>

typedef struct {
    uint32_t events;
    uint64_t tag;
} latchkey_event;

enum {
    LATCHKEY_EPOLLIN = 0x001,
    LATCHKEY_EPOLLOUT = 0x004,
    LATCHKEY_EPOLLERR = 0x008,
    LATCHKEY_EPOLLHUP = 0x010,
    LATCHKEY_EPOLLRDHUP = 0x2000,
    LATCHKEY_EPOLLEXCLUSIVE = 1u << 28,
};

/// epoll_create1(EPOLL_CLOEXEC); -1 and errno on failure (or where epoll does not exist).
int latchkey_epoll_create(void);
/// epoll_ctl ADD (modify = 0) or MOD (modify = 1) with `tag` as the event's data.
int latchkey_epoll_watch(int loop, int fd, uint32_t events, uint64_t tag, int modify);
/// epoll_wait into `events`; returns the count, or -1 and errno.
int latchkey_epoll_wait(int loop, latchkey_event *events, int capacity, int timeout_ms);
/// accept4 with SOCK_CLOEXEC | SOCK_NONBLOCK and TCP_NODELAY set; -1 and errno on failure.
int latchkey_accept(int listener);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int latchkey_eventfd(void);
/// A NETLINK_SOCK_DIAG socket for `latchkey_peer_uid` (one per event loop), or -1 and errno.
int latchkey_diag_socket(void);
/// The uid owning the other end of the loopback TCP connection `fd` (one sock_diag round trip on
/// `diag`; /proc/net/tcp when `diag` is -1 or the kernel lacks inet_diag), or -errno.
int64_t latchkey_peer_uid(int diag, int fd);
/// A monotonic clock in milliseconds (coarse: a few ms of resolution, no system call).
uint64_t latchkey_monotonic_ms(void);
/// Makes this process non-dumpable (no core file, no ptrace or /proc reading by the same user)
/// and sets the soft RLIMIT_CORE to 0; 0, or the first -errno.
int latchkey_disable_core_dumps(void);
/// Puts back the soft RLIMIT_CORE `latchkey_disable_core_dumps` found, for a command about to run.
void latchkey_restore_core_limit(void);
/// Sets the soft RLIMIT_CORE back to 0 after `latchkey_restore_core_limit` (no-op if never lowered).
void latchkey_lower_core_limit_again(void);
/// CPUs this thread may run on (its affinity mask: `taskset`, `docker --cpuset-cpus`), else the
/// online count.
int latchkey_usable_cpus(void);
/// Asks for time slices of `nanoseconds` for the calling thread, keeping its policy and nice
/// value (Linux 6.12+ honours it for normal threads; older kernels ignore it). 0, or -errno.
int latchkey_request_slice(uint64_t nanoseconds);
/// Names the calling thread (shown by `top -H` and `ps -L`).
void latchkey_name_thread(const char *name);

/// posix_spawn of `path` with default signal dispositions and an empty mask; the pid, or -errno.
int latchkey_spawn(const char *path, char *const argv[], char *const envp[]);
/// Waits for `child`; its exit status, or 128 + the signal that killed it.
int latchkey_wait_child(int child);
/// Forwards the given signals to `child` when another process sent them (kill, systemd, a
/// supervisor); signals from the terminal already reach the child's process group, so those are
/// not sent twice (a second SIGINT makes tools like terraform abort without cleaning up).
int latchkey_forward_signals(int child, const int *signals, int count);

#endif
