#define _GNU_SOURCE
#include "CLatchkeyServerSys.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

static volatile sig_atomic_t forward_to = 0;

static void forward(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    // SI_USER, SI_QUEUE, SI_TKILL are <= 0: a process sent it. Kernel/tty signals are > 0.
    if (forward_to > 0 && info != 0 && info->si_code <= 0) kill((pid_t)forward_to, signal_number);
}

int latchkey_forward_signals(int child, const int *signals, int count) {
    forward_to = child;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = forward;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, 0) != 0) return -errno;
    }
    return 0;
}

int latchkey_spawn(const char *path, char *const argv[], char *const envp[]) {
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int failed = posix_spawn(&pid, path, 0, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    return failed ? -failed : (int)pid;
}

int latchkey_wait_child(int child) {
    int status = 0;
    while (waitpid((pid_t)child, &status, 0) < 0) {
        if (errno != EINTR) return 127;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

#ifdef __linux__
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

int latchkey_accept(int listener) {
    int fd = accept4(listener, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int latchkey_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int latchkey_epoll_watch(int loop, int fd, uint32_t events, uint64_t tag, int modify) {
    struct epoll_event event = {.events = events, .data = {.u64 = tag}};
    return epoll_ctl(loop, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
}

int latchkey_epoll_wait(int loop, latchkey_event *events, int capacity, int timeout_ms) {
    struct epoll_event raw[128];
    if (capacity > 128) capacity = 128;
    int count = epoll_wait(loop, raw, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        events[i].events = raw[i].events;
        events[i].tag = raw[i].data.u64;
    }
    return count;
}

int latchkey_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
#else
int latchkey_epoll_create(void) { errno = ENOSYS; return -1; }
int latchkey_epoll_watch(int loop, int fd, uint32_t events, uint64_t tag, int modify) {
    (void)loop, (void)fd, (void)events, (void)tag, (void)modify;
    errno = ENOSYS;
    return -1;
}
int latchkey_epoll_wait(int loop, latchkey_event *events, int capacity, int timeout_ms) {
    (void)loop, (void)events, (void)capacity, (void)timeout_ms;
    errno = ENOSYS;
    return -1;
}
int latchkey_eventfd(void) { errno = ENOSYS; return -1; }
int latchkey_accept(int listener) { (void)listener; errno = ENOSYS; return -1; }
#endif

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

int latchkey_usable_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

// struct sched_attr (include/uapi/linux/sched/types.h); glibc has no wrapper for these calls.
struct latchkey_sched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

int latchkey_request_slice(uint64_t nanoseconds) {
    struct latchkey_sched_attr attributes;
    memset(&attributes, 0, sizeof attributes);
    if (syscall(SYS_sched_getattr, 0, &attributes, sizeof attributes, 0) != 0) return -errno;
    if (attributes.policy != SCHED_OTHER) return 0;  // leave real-time or batch settings alone
    attributes.size = sizeof attributes;
    attributes.flags = 0;
    attributes.runtime = nanoseconds;  // the nice value read above is kept
    return syscall(SYS_sched_setattr, 0, &attributes, 0) == 0 ? 0 : -errno;
}

void latchkey_name_thread(const char *name) { pthread_setname_np(pthread_self(), name); }
#else
#include <unistd.h>
int latchkey_usable_cpus(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}
int latchkey_request_slice(uint64_t nanoseconds) { (void)nanoseconds; return 0; }
void latchkey_name_thread(const char *name) { (void)name; }
#endif
