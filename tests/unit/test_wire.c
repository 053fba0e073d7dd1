/* test_wire.c — ipc/wire.c over real socketpair(AF_UNIX, SOCK_STREAM) connections: messages with
 * 0..16 fds interleaved with messages without, both directions; the received fds really are
 * the sent files (write through one end, read the other); large messages with fds through
 * non-blocking sockets with partial sends (flush says IROH_EAGAIN, the reader drains, flush
 * completes, the receiver's fd queue never overflows); end of stream; a vanished peer
 * (IROH_ECLOSED, no SIGPIPE); fd queue overflow and truncated fds; SO_PEERCRED. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iroh/error.h"
#include "ipc/frame.h"
#include "ipc/wire.h"
#include "tests/test.h"
#include "tests/unit/send_fds.h"

static int open_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* One side's view of a stream of test messages. A message is "K:SEQ:" plus padding; it
 * claims K fds, each the write end of a pipe whose read end the sender kept in keep[]. */
struct expect {
    int seq;         /* next expected sequence number */
    int bad;         /* malformed, misordered or mismatched messages */
    int max_queued;  /* most fds ever waiting in the reader */
    int *keep;       /* read ends kept by the sender, in send order */
    size_t nkeep;    /* how many were sent */
    size_t verified; /* fds checked so far */
};

/* Handles every complete message in r: checks its sequence and padding, takes its fds and
 * verifies each by writing a byte through it and reading it from the kept read end. */
static void drain_lines(struct ipc_reader *r, struct expect *e)
{
    char *line;
    size_t len;
    int rc;
    while ((rc = ipc_reader_next(r, &line, &len)) == 1) {
        int k = -1, seq = -1, used = 0;
        if (sscanf(line, "%d:%d:%n", &k, &seq, &used) != 2 || seq != e->seq || k < 0 ||
            k > IPC_MAX_FDS_PER_MESSAGE) {
            e->bad++;
            continue;
        }
        for (size_t i = (size_t)used; i < len; i++)
            if (line[i] != (char)('a' + (seq + (int)i) % 26)) {
                e->bad++;
                break;
            }
        e->seq++;
        int fds[IPC_MAX_FDS_PER_MESSAGE];
        if (ipc_reader_take_fds(r, fds, (size_t)k) < 0) {
            e->bad++;
            continue;
        }
        for (int i = 0; i < k; i++) {
            unsigned char tag = (unsigned char)(e->verified * 7 + 1);
            unsigned char got = 0;
            if (e->verified >= e->nkeep || write(fds[i], &tag, 1) != 1 ||
                read(e->keep[e->verified], &got, 1) != 1 || got != tag)
                e->bad++;
            close(fds[i]);
            e->verified++;
        }
    }
    if (rc < 0) e->bad++;
    if ((int)r->nfds > e->max_queued) e->max_queued = (int)r->nfds;
}

/* Appends message seq with k fresh pipe write ends (read ends go to e->keep). */
static int append_msg(struct ipc_writer *w, struct expect *e, int seq, int k, size_t pad)
{
    char *msg = malloc(pad + 32);
    if (!msg) return IROH_ENOMEM;
    int n = snprintf(msg, 32, "%d:%d:", k, seq);
    for (size_t i = 0; i < pad; i++)
        msg[(size_t)n + i] = (char)('a' + (seq + n + (int)i) % 26);
    int fds[IPC_MAX_FDS_PER_MESSAGE];
    for (int i = 0; i < k; i++) {
        int p[2];
        if (pipe(p) < 0) {
            free(msg);
            return IROH_EIO;
        }
        fds[i] = p[1];
        e->keep[e->nkeep++] = p[0];
    }
    int rc = ipc_writer_append(w, msg, (size_t)n + pad, fds, (size_t)k);
    free(msg);
    return rc;
}

/* Moves everything queued in w from fd `from` into r on fd `to`, handling lines as they
 * arrive, until w is empty and `lines` messages were handled, or 10 s pass. Returns how many
 * times flush answered IROH_EAGAIN, or -1 on an error. */
static int pump(int from, struct ipc_writer *w, int to, struct ipc_reader *r, struct expect *e,
                int lines)
{
    double deadline = now_s() + 10;
    int eagain = 0;
    int flushed = 0;
    while (now_s() < deadline) {
        if (!flushed) {
            int rc = ipc_wire_flush(from, w);
            if (rc == IROH_EAGAIN)
                eagain++;
            else if (rc == 0)
                flushed = 1;
            else
                return -1;
        }
        for (int i = 0; i < 1000; i++) {
            int rc = ipc_wire_recv(to, r);
            if (rc == IROH_EAGAIN) break;
            if (rc < 0) {
                fprintf(stderr, "ipc_wire_recv: %s\n", iroh_strerror(rc));
                return -1;
            }
            drain_lines(r, e);
            struct pollfd pfd = {to, POLLIN, 0};
            if (poll(&pfd, 1, 0) <= 0) break;
        }
        if (flushed && e->seq >= lines) return eagain;
        struct pollfd pfds[2] = {{from, flushed ? 0 : POLLOUT, 0}, {to, POLLIN, 0}};
        poll(pfds, 2, 100);
    }
    fprintf(stderr, "pump: deadline passed with %d of %d messages\n", e->seq, lines);
    return -1;
}

static void check_direction(int from, int to)
{
    enum { LINES = 2 * (IPC_MAX_FDS_PER_MESSAGE + 1) };
    int keep[200];
    struct expect e = {.keep = keep};
    struct ipc_writer w;
    struct ipc_reader r;
    ipc_writer_init(&w, 1 << 20);
    ipc_reader_init(&r, 4096);
    int seq = 0;
    for (int k = 0; k <= IPC_MAX_FDS_PER_MESSAGE; k++) {
        CHECK_EQ_INT(append_msg(&w, &e, seq++, k, (size_t)k * 3), 0);
        CHECK_EQ_INT(append_msg(&w, &e, seq++, 0, 10), 0);
    }
    CHECK(pump(from, &w, to, &r, &e, LINES) >= 0);
    CHECK_EQ_INT(e.seq, LINES);
    CHECK_EQ_INT(e.bad, 0);
    CHECK_EQ_INT(e.verified, e.nkeep);
    CHECK_EQ_INT(e.nkeep, IPC_MAX_FDS_PER_MESSAGE * (IPC_MAX_FDS_PER_MESSAGE + 1) / 2);
    CHECK_EQ_INT(r.nfds, 0);
    CHECK_EQ_INT(w.nfds, 0);
    for (size_t i = 0; i < e.nkeep; i++)
        close(keep[i]);
    ipc_writer_free(&w);
    ipc_reader_free(&r);
}

static void test_fds_both_directions(void)
{
    int before = open_fd_count();
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
    check_direction(sv[0], sv[1]);
    check_direction(sv[1], sv[0]);
    close(sv[0]);
    close(sv[1]);
    /* Every fd sent, received and kept was closed exactly once. */
    CHECK_EQ_INT(open_fd_count(), before);
}

static void test_large_partial_sends(void)
{
    /* 12 messages of 512 KiB, every other one with 16 fds (96 in all, more than the
     * receiver's queue): far more than the socket buffers hold, so flush sends partially. */
    int before = open_fd_count();
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
    int keep[200];
    struct expect e = {.keep = keep};
    struct ipc_writer w;
    struct ipc_reader r;
    ipc_writer_init(&w, 64u << 20);
    ipc_reader_init(&r, 1u << 20);
    enum { COUNT = 12 };
    for (int i = 0; i < COUNT; i++)
        CHECK_EQ_INT(append_msg(&w, &e, i, i % 2 ? IPC_MAX_FDS_PER_MESSAGE : 0, 512 * 1024), 0);
    /* Nobody reads yet: the first flush fills the socket and must say so. */
    CHECK_EQ_INT(ipc_wire_flush(sv[0], &w), IROH_EAGAIN);
    CHECK(ipc_writer_pending(&w) > 0);
    int eagain = pump(sv[0], &w, sv[1], &r, &e, COUNT);
    CHECK(eagain >= 0);
    CHECK_EQ_INT(e.seq, COUNT);
    CHECK_EQ_INT(e.bad, 0);
    CHECK_EQ_INT(e.verified, COUNT / 2 * IPC_MAX_FDS_PER_MESSAGE);
    CHECK(e.max_queued <= IPC_MAX_QUEUED_FDS);
    CHECK_EQ_INT(ipc_writer_pending(&w), 0);
    /* The writer is reusable after a complete flush. */
    CHECK_EQ_INT(append_msg(&w, &e, COUNT, 1, 10), 0);
    CHECK(pump(sv[0], &w, sv[1], &r, &e, COUNT + 1) >= 0);
    CHECK_EQ_INT(e.bad, 0);
    for (size_t i = 0; i < e.nkeep; i++)
        close(keep[i]);
    ipc_writer_free(&w);
    ipc_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
    CHECK_EQ_INT(open_fd_count(), before);
}

static void test_fd_is_the_same_file(void)
{
    /* A regular file passed over the socket is the same open file: same inode, shared
     * offset, and data written through one is read through the other. */
    char path[] = "/tmp/test_wire-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    if (file < 0) return;
    unlink(path);
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct ipc_writer w;
    struct ipc_reader r;
    ipc_writer_init(&w, 4096);
    ipc_reader_init(&r, 4096);
    int dupped = dup(file);
    CHECK_EQ_INT(ipc_writer_append(&w, "{\"fds\":1}", 9, &dupped, 1), 0);
    CHECK_EQ_INT(ipc_wire_flush(sv[0], &w), 0);
    CHECK(!fd_is_open(dupped) || dupped == file); /* the sender's copy is closed once sent */
    CHECK(ipc_wire_recv(sv[1], &r) > 0);
    char *line;
    size_t len;
    CHECK_EQ_INT(ipc_reader_next(&r, &line, &len), 1);
    int got = -1;
    CHECK_EQ_INT(ipc_reader_take_fds(&r, &got, 1), 0);
    struct stat a, b;
    CHECK_EQ_INT(fstat(file, &a), 0);
    CHECK_EQ_INT(fstat(got, &b), 0);
    CHECK_EQ_INT(a.st_ino, b.st_ino);
    CHECK_EQ_INT(a.st_dev, b.st_dev);
    CHECK((fcntl(got, F_GETFD) & FD_CLOEXEC) != 0); /* received with MSG_CMSG_CLOEXEC */
    CHECK_EQ_INT(write(got, "through the socket", 18), 18);
    char buf[32] = "";
    CHECK_EQ_INT(pread(file, buf, sizeof buf, 0), 18);
    CHECK_EQ_MEM(buf, "through the socket", 18);
    close(got);
    close(file);
    ipc_writer_free(&w);
    ipc_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
}

static void test_eof(void)
{
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct ipc_reader r;
    ipc_reader_init(&r, 4096);
    CHECK_EQ_INT(write(sv[0], "whole\nhal", 9), 9);
    close(sv[0]);
    CHECK_EQ_INT(ipc_wire_recv(sv[1], &r), 9);
    char *line;
    size_t len;
    CHECK_EQ_INT(ipc_reader_next(&r, &line, &len), 1);
    CHECK_EQ_STR(line, "whole");
    CHECK_EQ_INT(ipc_reader_next(&r, &line, &len), 0);
    CHECK_EQ_INT(ipc_wire_recv(sv[1], &r), IROH_ECLOSED);
    CHECK_EQ_INT(ipc_wire_recv(sv[1], &r), IROH_ECLOSED);
    /* Non-blocking with nothing to read is IROH_EAGAIN, not an end. */
    int sv2[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2), 0);
    set_nonblocking(sv2[1]);
    CHECK_EQ_INT(ipc_wire_recv(sv2[1], &r), IROH_EAGAIN);
    close(sv2[0]);
    CHECK_EQ_INT(ipc_wire_recv(sv2[1], &r), IROH_ECLOSED);
    close(sv2[1]);
    close(sv[1]);
    ipc_reader_free(&r);
}

static void test_peer_gone_no_sigpipe(void)
{
    /* With SIGPIPE at its default action, a send to a closed peer would kill the process;
     * flush must report IROH_ECLOSED instead, and keep the unsent fds for ipc_writer_free. */
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close(sv[1]);
    struct ipc_writer w;
    ipc_writer_init(&w, 4096);
    int fd = dup(0);
    CHECK_EQ_INT(ipc_writer_append(&w, "to nobody", 9, &fd, 1), 0);
    CHECK_EQ_INT(ipc_wire_flush(sv[0], &w), IROH_ECLOSED);
    CHECK_EQ_INT(ipc_wire_flush(sv[0], &w), IROH_ECLOSED);
    ipc_writer_free(&w);
    CHECK(!fd_is_open(fd));
    close(sv[0]);

    /* The same when the peer goes away with our data unread in its buffer. */
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    set_nonblocking(sv[0]);
    ipc_writer_init(&w, 8u << 20);
    char *big = malloc(4u << 20);
    CHECK(big != NULL);
    if (big) {
        memset(big, 'x', 4u << 20);
        CHECK_EQ_INT(ipc_writer_append(&w, big, 4u << 20, NULL, 0), 0);
        free(big);
    }
    CHECK_EQ_INT(ipc_wire_flush(sv[0], &w), IROH_EAGAIN);
    close(sv[1]);
    CHECK_EQ_INT(ipc_wire_flush(sv[0], &w), IROH_ECLOSED);
    ipc_writer_free(&w);
    close(sv[0]);
    signal(SIGPIPE, old);
}

/* Sends one byte with n fds (dups of stdin, closed again here) in one sendmsg. */
static int send_raw_fds(int sock, size_t n)
{
    int fds[SEND_FDS_MAX];
    for (size_t i = 0; i < n && i < SEND_FDS_MAX; i++)
        fds[i] = dup(0);
    int rc = send_fds(sock, "x", 1, fds, n);
    for (size_t i = 0; i < n && i < SEND_FDS_MAX; i++)
        close(fds[i]);
    return rc;
}

static void test_fd_overflow(void)
{
    int before = open_fd_count();
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct ipc_reader r;
    ipc_reader_init(&r, 4096);
    /* A full queue of unclaimed fds is accepted... */
    CHECK_EQ_INT(send_raw_fds(sv[0], IPC_MAX_QUEUED_FDS), 0);
    CHECK_EQ_INT(ipc_wire_recv(sv[1], &r), 1);
    CHECK_EQ_INT(r.nfds, IPC_MAX_QUEUED_FDS);
    /* ...one more is a protocol error, and the extra fd does not leak. */
    CHECK_EQ_INT(send_raw_fds(sv[0], 1), 0);
    CHECK_EQ_INT(ipc_wire_recv(sv[1], &r), IROH_EPROTO);
    CHECK_EQ_INT(r.nfds, IPC_MAX_QUEUED_FDS);
    ipc_reader_free(&r);
    /* More fds in one sendmsg than a recv takes: truncated, a protocol error, no leak. */
    ipc_reader_init(&r, 4096);
    CHECK_EQ_INT(send_raw_fds(sv[0], IPC_MAX_QUEUED_FDS + 10), 0);
    CHECK_EQ_INT(ipc_wire_recv(sv[1], &r), IROH_EPROTO);
    ipc_reader_free(&r);
    close(sv[0]);
    close(sv[1]);
    CHECK_EQ_INT(open_fd_count(), before);
}

static void test_peer_credentials(void)
{
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    unsigned uid = 12345;
    int pid = -1;
    CHECK_EQ_INT(ipc_wire_peer(sv[0], &uid, &pid), 0);
    CHECK_EQ_INT(uid, getuid());
    CHECK_EQ_INT(pid, getpid());
    CHECK_EQ_INT(ipc_wire_peer(sv[1], &uid, &pid), 0);
    CHECK_EQ_INT(pid, getpid());
    close(sv[0]);
    close(sv[1]);
    /* Not a socket: an I/O error, not garbage. */
    int p[2];
    CHECK_EQ_INT(pipe(p), 0);
    CHECK_EQ_INT(ipc_wire_peer(p[0], &uid, &pid), IROH_EIO);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    RUN(test_fds_both_directions);
    RUN(test_large_partial_sends);
    RUN(test_fd_is_the_same_file);
    RUN(test_eof);
    RUN(test_peer_gone_no_sigpipe);
    RUN(test_fd_overflow);
    RUN(test_peer_credentials);
    return TEST_SUMMARY();
}
