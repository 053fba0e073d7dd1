/* wire.c — recvmsg/sendmsg with SCM_RIGHTS for the local API; see wire.h. */
#include "ipc/wire.h"

#include <errno.h>
#include <iroh/error.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FD_BATCH IPC_MAX_QUEUED_FDS
#define SEND_FD_BATCH (IPC_MAX_QUEUED_FDS / 2)
_Static_assert(IPC_MAX_FDS_PER_MESSAGE <= SEND_FD_BATCH, "a message's fds fit in one sendmsg");

int ipc_wire_recv(int sockfd, struct ipc_reader *r)
{
    char *space;
    size_t avail;
    int rc = ipc_reader_space(r, &space, &avail);
    if (rc < 0) return rc;

    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * FD_BATCH)];
    } control;
    struct iovec iov = {space, avail};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;

    ssize_t n;
    do {
        n = recvmsg(sockfd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return IROH_EAGAIN;
        if (errno == ECONNRESET) return IROH_ECLOSED;
        return IROH_EIO;
    }

    int status = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (ipc_reader_add_fd(r, fd) < 0) status = IROH_EPROTO;
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) status = IROH_EPROTO;
    if (status < 0) return status;
    if (n == 0) return IROH_ECLOSED;
    ipc_reader_commit(r, (size_t)n);
    return (int)(n > 0x7fffffff ? 0x7fffffff : n);
}

int ipc_wire_flush(int sockfd, struct ipc_writer *w)
{
    while (w->off < w->len) {
        size_t end = w->len, nfds = 0;
        if (w->nfds > 0 && w->fds[0].at > w->off) {
            /* The bytes before the next message with fds go first: the receiver then has every
             * earlier message, and has claimed its fds, before more fds arrive. */
            end = w->fds[0].at;
        } else if (w->nfds > 0) {
            /* The fds of whole messages, at most half the receiver's queue: one recvmsg brings
             * at most one such batch, so with the previous batch's fds it still holds the
             * queue never overflows. Each fd arrives no later than its message. */
            nfds = w->nfds < SEND_FD_BATCH ? w->nfds : SEND_FD_BATCH;
            while (nfds < w->nfds && w->fds[nfds].at == w->fds[nfds - 1].at)
                nfds--;
            if (nfds < w->nfds) end = w->fds[nfds].at;
        }

        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * FD_BATCH)];
        } control;
        struct iovec iov = {w->buf + w->off, end - w->off};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (nfds > 0) {
            memset(&control, 0, sizeof control);
            msg.msg_control = control.buf;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
            for (size_t i = 0; i < nfds; i++)
                memcpy(CMSG_DATA(c) + i * sizeof(int), &w->fds[i].fd, sizeof(int));
        }
        ssize_t n;
        do {
            n = sendmsg(sockfd, &msg, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return IROH_EAGAIN;
            if (errno == EPIPE || errno == ECONNRESET) return IROH_ECLOSED;
            return IROH_EIO;
        }
        /* The kernel now holds its own references to the sent fds. */
        if (nfds > 0) {
            for (size_t i = 0; i < nfds; i++)
                close(w->fds[i].fd);
            memmove(w->fds, w->fds + nfds, (w->nfds - nfds) * sizeof *w->fds);
            w->nfds -= nfds;
        }
        w->off += (size_t)n;
    }
    w->off = w->len = 0;
    return 0;
}

int ipc_wire_peer(int sockfd, unsigned *uid, int *pid)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(sockfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return IROH_EIO;
    *uid = cred.uid;
    *pid = cred.pid;
    return 0;
}
