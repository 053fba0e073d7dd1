/* frame.h — the byte framing of the local API: newline-delimited JSON messages, each of which
 * may carry file descriptors (SCM_RIGHTS).
 *
 * Owns two buffers per connection, used by the daemon (daemon/rpc_server.c) and the client
 * library (client/client.c) alike; wire.h moves them to and from a socket.
 *
 * The fd rule: a message that carries k fds has the top-level member "fds": k. The sender
 * attaches the fds to a sendmsg() that starts at or before the message's first byte, so they
 * always arrive no later than the message. The receiver queues every received fd in arrival
 * order and hands the next k of them to the message that claims them. */
#ifndef IROH_IPC_FRAME_H
#define IROH_IPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#define IPC_MAX_LINE (16u * 1024 * 1024) /* largest message accepted, without its newline */
#define IPC_MAX_FDS_PER_MESSAGE 16
#define IPC_MAX_QUEUED_FDS 64 /* received fds not yet claimed by a message */

/* Incoming bytes and fds. */
struct ipc_reader {
    char *buf;
    size_t start;   /* first byte of the message being assembled */
    size_t scanned; /* bytes from start already known to hold no newline */
    size_t len;     /* bytes in buf */
    size_t cap;
    size_t max_line; /* a message longer than this fails with IROH_ETOOBIG */
    int fds[IPC_MAX_QUEUED_FDS];
    size_t nfds;
};

/* Outgoing bytes and the fds to attach to them. */
struct ipc_writer {
    char *buf;
    size_t off; /* first unsent byte */
    size_t len;
    size_t cap;
    size_t limit; /* queued bytes above this make ipc_writer_append fail with IROH_EBUSY */
    struct ipc_pending_fd {
        size_t at; /* offset in buf of the message the fd belongs to */
        int fd;
    } * fds;
    size_t nfds, fds_cap;
};

void ipc_reader_init(struct ipc_reader *r, size_t max_line);
/* Frees the buffer and closes every fd still queued. */
void ipc_reader_free(struct ipc_reader *r);
/* Makes room for incoming bytes: *space points at *avail (> 0) writable bytes. Returns 0 or
 * IROH_ENOMEM. Invalidates lines returned by ipc_reader_next. */
int ipc_reader_space(struct ipc_reader *r, char **space, size_t *avail);
/* Records that n bytes were written at the space returned by ipc_reader_space. */
void ipc_reader_commit(struct ipc_reader *r, size_t n);
/* Queues a received fd; takes ownership. Returns 0, or IROH_EBUSY (queue full: the fd is
 * closed and the connection should be dropped). */
int ipc_reader_add_fd(struct ipc_reader *r, int fd);
/* Returns 1 and the next complete message (NUL-terminated in place of its newline, valid until
 * the next call on r), 0 if no complete message is buffered, or IROH_ETOOBIG if the message
 * being assembled is longer than max_line (the connection should be dropped). */
int ipc_reader_next(struct ipc_reader *r, char **line, size_t *len);
/* Moves the n oldest queued fds to out (caller owns them). Returns 0 or IROH_EPROTO when fewer
 * than n are queued (the connection should be dropped). */
int ipc_reader_take_fds(struct ipc_reader *r, int *out, size_t n);

void ipc_writer_init(struct ipc_writer *w, size_t limit);
/* Frees the buffer and closes every fd not yet sent. */
void ipc_writer_free(struct ipc_writer *w);
/* Queues msg plus a newline, with nfds fds (ownership taken in every case: on failure they are
 * closed). Returns 0, IROH_EBUSY (over the limit: the peer does not read; drop it),
 * IROH_EINVAL (too many fds) or IROH_ENOMEM. */
int ipc_writer_append(struct ipc_writer *w, const char *msg, size_t len, const int *fds,
                      size_t nfds);
/* Bytes queued and not yet sent. */
size_t ipc_writer_pending(const struct ipc_writer *w);

#endif
