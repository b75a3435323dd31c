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

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

int latchkey_diag_socket(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd >= 0) {
        // The kernel answers while handling the send; the timeout only guards against a surprise.
        struct timeval limit = {.tv_sec = 1, .tv_usec = 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    }
    return fd;
}

// The connection's two ends; only IPv4 (the servers listen on 127.0.0.1).
static int endpoints(int fd, struct sockaddr_in *local, struct sockaddr_in *peer) {
    socklen_t local_length = sizeof *local, peer_length = sizeof *peer;
    if (getsockname(fd, (struct sockaddr *)local, &local_length) != 0) return -errno;
    if (getpeername(fd, (struct sockaddr *)peer, &peer_length) != 0) return -errno;
    if (local->sin_family != AF_INET || peer->sin_family != AF_INET) return -EAFNOSUPPORT;
    return 0;
}

// One exact-match sock_diag request for the client's own socket: its source is our peer, its
// destination our end. The reply carries the uid that created that socket.
static int64_t peer_uid_by_diag(int diag, const struct sockaddr_in *local, const struct sockaddr_in *peer) {
    static _Thread_local uint32_t sequence = 0;
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.header.nlmsg_seq = ++sequence;
    message.request.sdiag_family = AF_INET;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0u;
    message.request.id.idiag_sport = peer->sin_port;
    message.request.id.idiag_dport = local->sin_port;
    message.request.id.idiag_src[0] = peer->sin_addr.s_addr;
    message.request.id.idiag_dst[0] = local->sin_addr.s_addr;
    message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t sent;
    do {
        sent = sendto(diag, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return -errno;
    for (int attempt = 0; attempt < 4; attempt++) {
        long buffer[1024];
        ssize_t length = recv(diag, buffer, sizeof buffer, 0);
        if (length < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (struct nlmsghdr *reply = (struct nlmsghdr *)buffer; NLMSG_OK(reply, length);
             reply = NLMSG_NEXT(reply, length)) {
            if (reply->nlmsg_seq != sequence) continue;  // a late answer to an earlier question
            if (reply->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *failure = NLMSG_DATA(reply);
                return failure->error < 0 ? failure->error : -EPROTO;
            }
            if (reply->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
            const struct inet_diag_msg *found = NLMSG_DATA(reply);
            if (found->id.idiag_sport != peer->sin_port || found->id.idiag_dport != local->sin_port ||
                found->id.idiag_src[0] != peer->sin_addr.s_addr || found->id.idiag_dst[0] != local->sin_addr.s_addr)
                return -EPROTO;
            return (int64_t)found->idiag_uid;
        }
    }
    return -EPROTO;
}

// The same answer from /proc/net/tcp, for kernels built without inet_diag.
static int64_t peer_uid_by_proc(const struct sockaddr_in *local, const struct sockaddr_in *peer) {
    FILE *table = fopen("/proc/net/tcp", "re");
    if (!table) return -errno;
    char line[512];
    int64_t uid = -ESRCH;
    if (!fgets(line, sizeof line, table)) {  // the column titles
        fclose(table);
        return -EPROTO;
    }
    while (fgets(line, sizeof line, table)) {
        unsigned int source, source_port, destination, destination_port, state;
        unsigned long owner;
        // sl: local rem st tx:rx tr:when retrnsmt uid
        if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X %*X:%*X %*X:%*X %*X %lu", &source, &source_port,
                   &destination, &destination_port, &state, &owner) != 6)
            continue;
        // Addresses are printed as the raw 32-bit word; ports in host order.
        if (source == peer->sin_addr.s_addr && source_port == ntohs(peer->sin_port) &&
            destination == local->sin_addr.s_addr && destination_port == ntohs(local->sin_port)) {
            uid = (int64_t)owner;
            break;
        }
    }
    fclose(table);
    return uid;
}

int64_t latchkey_peer_uid(int diag, int fd) {
    struct sockaddr_in local, peer;
    int failed = endpoints(fd, &local, &peer);
    if (failed) return failed;
    if (diag >= 0) {
        int64_t uid = peer_uid_by_diag(diag, &local, &peer);
        if (uid != -ENOENT && uid != -EOPNOTSUPP && uid != -EINVAL) return uid;
    }
    return peer_uid_by_proc(&local, &peer);
}

uint64_t latchkey_monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}
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
int latchkey_diag_socket(void) { errno = ENOSYS; return -1; }
int64_t latchkey_peer_uid(int diag, int fd) { (void)diag, (void)fd; return -ENOSYS; }
#include <time.h>
uint64_t latchkey_monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}
#endif

#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static struct rlimit original_core_limit;
static int core_limit_saved = 0;

int latchkey_disable_core_dumps(void) {
    int failure = 0;
#ifdef __linux__
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) failure = -errno;
#endif
    struct rlimit limit;
    if (getrlimit(RLIMIT_CORE, &limit) == 0) {
        original_core_limit = limit;
        core_limit_saved = 1;
        limit.rlim_cur = 0;  // the hard limit stays, so a command we run can have the user's back
        if (setrlimit(RLIMIT_CORE, &limit) != 0 && !failure) failure = -errno;
    } else if (!failure) {
        failure = -errno;
    }
    return failure;
}

void latchkey_restore_core_limit(void) {
    if (core_limit_saved) setrlimit(RLIMIT_CORE, &original_core_limit);
}

void latchkey_lower_core_limit_again(void) {
    if (!core_limit_saved) return;
    struct rlimit limit = original_core_limit;
    limit.rlim_cur = 0;
    setrlimit(RLIMIT_CORE, &limit);
}

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
