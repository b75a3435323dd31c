#define _GNU_SOURCE
#include "CLatchkeyServerSys.h"

#include <errno.h>

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
