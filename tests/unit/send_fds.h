/* send_fds.h — one sendmsg(2) of some bytes with fds attached (SCM_RIGHTS), for the tests that
 * hand a reader of the IPC wire fds the way a client does, or more than it takes.
 * Used by tests/unit/test_wire.c (ipc/wire.c's fd queue) and
 * tests/integration/test_robustness.c (irohd's "fds" claims). */
#ifndef IROH_TESTS_SEND_FDS_H
#define IROH_TESTS_SEND_FDS_H

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SEND_FDS_MAX 100 /* the most fds one send_fds call attaches */

/* Sends data[0..len) in one sendmsg with fds[0..n) attached to its first byte (nothing
 * attached when n is 0), without SIGPIPE. The fds stay open and the caller's. Returns 0 when
 * all len bytes were sent, -1 otherwise (also when n > SEND_FDS_MAX). */
static inline int send_fds(int sock, const void *data, size_t len, const int *fds, size_t n)
{
    if (n > SEND_FDS_MAX) return -1;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * SEND_FDS_MAX)];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {(void *)data, len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        *c = (struct cmsghdr){.cmsg_len = CMSG_LEN(sizeof(int) * n),
                              .cmsg_level = SOL_SOCKET,
                              .cmsg_type = SCM_RIGHTS};
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    return sent == (ssize_t)len ? 0 : -1;
}

#endif
