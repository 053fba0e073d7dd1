/* frame.c — newline framing and fd queues; see frame.h. */
#include "ipc/frame.h"

#include <iroh/error.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (64u * 1024)

void ipc_reader_init(struct ipc_reader *r, size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->max_line = max_line;
}

void ipc_reader_free(struct ipc_reader *r)
{
    free(r->buf);
    for (size_t i = 0; i < r->nfds; i++)
        close(r->fds[i]);
    memset(r, 0, sizeof *r);
}

int ipc_reader_space(struct ipc_reader *r, char **space, size_t *avail)
{
    /* Reclaim consumed bytes before ever growing, or the buffer outgrows its ceiling. */
    if (r->start > 0 &&
        (r->start == r->len || r->start >= r->cap / 2 || r->cap - r->len < READ_CHUNK / 4)) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len < READ_CHUNK / 4) {
        /* Never grow past one maximal message plus its newline plus one read. */
        size_t want = r->cap ? r->cap * 2 : READ_CHUNK;
        size_t ceiling = r->max_line + 1 + READ_CHUNK;
        if (want > ceiling) want = ceiling;
        if (want <= r->cap) want = r->cap + READ_CHUNK;
        char *grown = realloc(r->buf, want);
        if (!grown) return IROH_ENOMEM;
        r->buf = grown;
        r->cap = want;
    }
    *space = r->buf + r->len;
    *avail = r->cap - r->len;
    return 0;
}

void ipc_reader_commit(struct ipc_reader *r, size_t n)
{
    r->len += n;
}

int ipc_reader_add_fd(struct ipc_reader *r, int fd)
{
    if (r->nfds == IPC_MAX_QUEUED_FDS) {
        close(fd);
        return IROH_EBUSY;
    }
    r->fds[r->nfds++] = fd;
    return 0;
}

int ipc_reader_next(struct ipc_reader *r, char **line, size_t *len)
{
    char *from = r->buf + r->start + r->scanned;
    size_t unscanned = r->len - r->start - r->scanned;
    char *nl = unscanned ? memchr(from, '\n', unscanned) : NULL;
    if (!nl) {
        r->scanned += unscanned;
        return r->scanned > r->max_line ? IROH_ETOOBIG : 0;
    }
    size_t n = (size_t)(nl - (r->buf + r->start));
    if (n > r->max_line) return IROH_ETOOBIG;
    *nl = '\0';
    *line = r->buf + r->start;
    *len = n;
    r->start += n + 1;
    r->scanned = 0;
    return 1;
}

int ipc_reader_take_fds(struct ipc_reader *r, int *out, size_t n)
{
    if (n > r->nfds) return IROH_EPROTO;
    memcpy(out, r->fds, n * sizeof *out);
    memmove(r->fds, r->fds + n, (r->nfds - n) * sizeof *r->fds);
    r->nfds -= n;
    return 0;
}

void ipc_writer_init(struct ipc_writer *w, size_t limit)
{
    memset(w, 0, sizeof *w);
    w->limit = limit;
}

void ipc_writer_free(struct ipc_writer *w)
{
    free(w->buf);
    for (size_t i = 0; i < w->nfds; i++)
        close(w->fds[i].fd);
    free(w->fds);
    memset(w, 0, sizeof *w);
}

static void close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

int ipc_writer_append(struct ipc_writer *w, const char *msg, size_t len, const int *fds,
                      size_t nfds)
{
    if (nfds > IPC_MAX_FDS_PER_MESSAGE) {
        close_all(fds, nfds);
        return IROH_EINVAL;
    }
    if (ipc_writer_pending(w) + len + 1 > w->limit) {
        close_all(fds, nfds);
        return IROH_EBUSY;
    }
    if (w->off > 0 && (w->off == w->len || w->cap - w->len < len + 1)) {
        memmove(w->buf, w->buf + w->off, w->len - w->off);
        for (size_t i = 0; i < w->nfds; i++)
            w->fds[i].at -= w->off;
        w->len -= w->off;
        w->off = 0;
    }
    if (w->cap - w->len < len + 1) {
        size_t want = w->cap ? w->cap : 4096;
        while (want - w->len < len + 1)
            want *= 2;
        char *grown = realloc(w->buf, want);
        if (!grown) {
            close_all(fds, nfds);
            return IROH_ENOMEM;
        }
        w->buf = grown;
        w->cap = want;
    }
    if (w->nfds + nfds > w->fds_cap) {
        size_t want = w->fds_cap ? w->fds_cap * 2 : 8;
        while (want < w->nfds + nfds)
            want *= 2;
        struct ipc_pending_fd *grown = realloc(w->fds, want * sizeof *grown);
        if (!grown) {
            close_all(fds, nfds);
            return IROH_ENOMEM;
        }
        w->fds = grown;
        w->fds_cap = want;
    }
    for (size_t i = 0; i < nfds; i++)
        w->fds[w->nfds++] = (struct ipc_pending_fd){w->len, fds[i]};
    memcpy(w->buf + w->len, msg, len);
    w->buf[w->len + len] = '\n';
    w->len += len + 1;
    return 0;
}

size_t ipc_writer_pending(const struct ipc_writer *w)
{
    return w->len - w->off;
}
