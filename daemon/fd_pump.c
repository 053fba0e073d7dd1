/* fd_pump.c — a blob range into a pipe without blocking the loop; see fd_pump.h. */
#include "daemon/fd_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20) /* asked of the kernel; fewer wake-ups per MiB */

struct buffer {
    uint8_t *data;
    size_t len, pos; /* bytes held; bytes already written */
};

struct fd_pump {
    uv_loop_t *loop;
    struct blob_reader *reader;
    uint64_t next;  /* the offset of the next block to read */
    uint64_t end;   /* offset + length */
    int fd;         /* the write end; -1 once closed */
    uv_poll_t poll; /* valid while poll_open */
    bool poll_open, polling;
    struct buffer buf[2]; /* buf[cur] is written; the other is filled */
    int cur;
    uv_work_t work;
    bool reading; /* a read is on the pool, into buf[!cur] */
    int read_rc;  /* its result (bytes, or an IROH_E* code) */
    struct blob_error read_err;
    bool finished; /* done decided; waiting for the read and the poll handle */
    int rc;
    char detail[sizeof(struct blob_error)];
    fd_pump_done_fn *done;
    void *ctx;
};

static void pump_write(struct fd_pump *p);

static void maybe_free(struct fd_pump *p)
{
    if (!p->finished || p->reading || p->poll_open) return;
    p->done(p->ctx, p->rc, p->detail);
    blob_reader_close(p->reader);
    free(p->buf[0].data);
    free(p->buf[1].data);
    free(p);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct fd_pump *p = h->data;
    p->poll_open = false;
    maybe_free(p);
}

/* Decides the outcome (the first decision wins), closes the pipe and the poll handle. */
static void finish(struct fd_pump *p, int rc, const char *detail)
{
    if (p->finished) return;
    p->finished = true;
    p->rc = rc;
    snprintf(p->detail, sizeof p->detail, "%s", detail ? detail : "");
    if (p->poll_open) uv_close((uv_handle_t *)&p->poll, on_poll_closed);
    /* After uv_close: the poll handle must not outlive its fd being reused. */
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    maybe_free(p);
}

static void read_block(uv_work_t *w)
{
    struct fd_pump *p = w->data;
    struct buffer *b = &p->buf[!p->cur];
    uint64_t n = p->end - p->next < FD_PUMP_BLOCK ? p->end - p->next : FD_PUMP_BLOCK;
    int64_t got = blob_reader_read(p->reader, p->next, b->data, (size_t)n, &p->read_err);
    if (got >= 0 && (uint64_t)got != n) {
        snprintf(p->read_err.detail, sizeof p->read_err.detail, "the blob ended early");
        got = IROH_ECORRUPT;
    }
    p->read_rc = (int)(got < 0 ? got : 0);
    if (got >= 0) {
        b->len = (size_t)got;
        b->pos = 0;
    }
}

static void after_read(uv_work_t *w, int status)
{
    struct fd_pump *p = w->data;
    p->reading = false;
    if (p->finished) {
        maybe_free(p);
        return;
    }
    if (status < 0) {
        finish(p, IROH_ECLOSED, "cancelled");
        return;
    }
    if (p->read_rc < 0) {
        finish(p, p->read_rc, p->read_err.detail);
        return;
    }
    p->next += p->buf[!p->cur].len;
    if (p->buf[p->cur].pos == p->buf[p->cur].len) p->cur = !p->cur; /* writer was idle */
    pump_write(p);
}

/* Starts the next read if a buffer is free and bytes remain. */
static void maybe_read(struct fd_pump *p)
{
    struct buffer *spare = &p->buf[!p->cur];
    if (p->reading || p->finished || p->next >= p->end || spare->pos < spare->len) return;
    p->reading = true;
    p->work.data = p;
    if (uv_queue_work(p->loop, &p->work, read_block, after_read) < 0) {
        p->reading = false;
        finish(p, IROH_EIO, "cannot queue a read");
    }
}

static void on_writable(uv_poll_t *h, int status, int events)
{
    struct fd_pump *p = h->data;
    (void)events;
    if (status < 0) {
        finish(p, IROH_ECLOSED, "the reader closed the pipe");
        return;
    }
    pump_write(p);
}

/* Writes what the pipe takes now; waits for writability when it is full. */
static void pump_write(struct fd_pump *p)
{
    while (!p->finished) {
        struct buffer *b = &p->buf[p->cur];
        if (b->pos == b->len) {
            struct buffer *o = &p->buf[!p->cur];
            if (!p->reading && o->pos < o->len) { /* the next block is ready */
                p->cur = !p->cur;
                continue;
            }
            if (p->next >= p->end && !p->reading) {
                finish(p, 0, NULL);
                return;
            }
            break; /* waiting for a read */
        }
        ssize_t n = write(p->fd, b->data + b->pos, b->len - b->pos);
        if (n > 0) {
            b->pos += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (!p->polling) {
                uv_poll_start(&p->poll, UV_WRITABLE, on_writable);
                p->polling = true;
            }
            maybe_read(p);
            return;
        }
        finish(p, IROH_ECLOSED, errno == EPIPE ? "the reader closed the pipe" : strerror(errno));
        return;
    }
    if (p->finished) return;
    if (p->polling) {
        uv_poll_stop(&p->poll);
        p->polling = false;
    }
    maybe_read(p);
}

int fd_pump_start(uv_loop_t *loop, struct blob_reader *reader, uint64_t offset, uint64_t length,
                  uint8_t *first, size_t first_len, int wfd, fd_pump_done_fn *done, void *ctx,
                  struct fd_pump **out)
{
    struct fd_pump *p = calloc(1, sizeof *p);
    uint8_t *spare = malloc(FD_PUMP_BLOCK);
    if (!first) first = malloc(FD_PUMP_BLOCK), first_len = 0;
    if (!p || !spare || !first) {
        free(p);
        free(spare);
        free(first);
        blob_reader_close(reader);
        close(wfd);
        return IROH_ENOMEM;
    }
    p->loop = loop;
    p->reader = reader;
    p->next = offset + first_len;
    p->end = offset + length;
    p->fd = wfd;
    p->buf[0] = (struct buffer){first, first_len, 0};
    p->buf[1] = (struct buffer){spare, 0, 0};
    p->done = done;
    p->ctx = ctx;
    fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
    fcntl(wfd, F_SETPIPE_SZ, PIPE_SIZE); /* best effort: the default 64 KiB works too */
    if (uv_poll_init(loop, &p->poll, wfd) < 0) {
        p->buf[0].data = p->buf[1].data = NULL;
        free(first);
        free(spare);
        free(p);
        blob_reader_close(reader);
        close(wfd);
        return IROH_EIO;
    }
    p->poll.data = p;
    p->poll_open = true;
    *out = p;
    pump_write(p);
    return 0;
}

void fd_pump_stop(struct fd_pump *p)
{
    finish(p, IROH_ECLOSED, "irohd is stopping");
}
