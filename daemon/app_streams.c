/* app_streams.c — a QUIC stream bridged to an app's socketpair end; see app_streams.h. */
#include "daemon/app_streams.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_PIECE (64 * 1024)
#define READS_PER_WAKEUP 16 /* then other handles get their turn */
/* Our end's send buffer, asked of the kernel (which doubles it): what we wrote and the app has
 * not read. 512 KiB take a wakeup's bytes (up to 8 reads of 64 KiB of datagrams) without a
 * partial send, so there is no poll for writability in between; the default 208 KiB often
 * filled. The app's end keeps the default: a larger one (2 MiB) saved the writing app most of
 * its wakeups but cost more CPU than it saved, the bytes we read being colder in the cache. It
 * is bounded and adds to the stream's end-to-end buffering beside the QUIC windows. */
#define OUR_END_SNDBUF (256 * 1024)

struct app_stream {
    uv_loop_t *loop;
    struct quic_stream *s; /* NULL once the stream closed */
    int fd;                /* our end of the socketpair; -1 before attach and once closed */
    bool attached;
    uv_poll_t poll;
    bool poll_open;
    uv_check_t flush; /* active while the peer's bytes wait for the end of the loop iteration */
    bool flush_open;
    int events; /* what poll watches now */
    /* The peer's bytes not yet written into the socket; their credit is still held. */
    uint8_t *in;
    size_t in_len, in_pos, in_cap;
    bool in_fin;      /* the peer finished: shut our write side once `in` is empty */
    bool in_stopped;  /* the app stopped reading: the peer's bytes are dropped */
    bool out_eof;     /* the app finished (or can no longer send): we stopped reading */
    bool out_blocked; /* the QUIC stream is at its high water mark: wait for on_drain */
    struct app_stream_counts *counts;
    app_stream_unclaimed_fn *unclaimed;
    void *arg;
};

static void maybe_free(struct app_stream *as)
{
    if (as->s || as->fd >= 0 || as->poll_open || as->flush_open) return;
    free(as->in);
    free(as);
}

/* A bridge let go of its stream (it closed, or the bridge was discarded). */
static void count_closed(struct app_stream_counts *counts)
{
    if (--counts->open == 0 && counts->all_closed) counts->all_closed(counts);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct app_stream *as = h->data;
    as->poll_open = false;
    maybe_free(as);
}

static void on_flush_closed(uv_handle_t *h)
{
    struct app_stream *as = h->data;
    as->flush_open = false;
    maybe_free(as);
}

/* Gives back the credit of the bytes held for the app (they are about to be dropped, or their
 * stream is closing and could not take the credit later). */
static void release_held(struct app_stream *as)
{
    if (as->s) quic_stream_consume(as->s, as->in_len - as->in_pos);
}

static void close_fd(struct app_stream *as)
{
    if (as->fd < 0) return;
    if (as->poll_open) uv_close((uv_handle_t *)&as->poll, on_poll_closed);
    if (as->flush_open) uv_close((uv_handle_t *)&as->flush, on_flush_closed);
    close(as->fd); /* after uv_close: the handle must not outlive the fd number */
    as->fd = -1;
    release_held(as);
    as->in_len = as->in_pos = 0;
}

/* The socket failed: tell the peer (both directions) and let go of it. */
static void app_gone(struct app_stream *as)
{
    if (as->s) quic_stream_reset(as->s, APP_STREAM_CODE_APP_GONE);
    close_fd(as);
}

/* The app closed its end (or its reading side): the peer is asked to stop sending and what it
 * sent is dropped, but what the app wrote is still read from the socket and sent, then FIN. */
static void app_stopped_reading(struct app_stream *as)
{
    release_held(as);
    as->in_len = as->in_pos = 0;
    as->in_stopped = true;
    if (as->s) quic_stream_stop(as->s, APP_STREAM_CODE_APP_GONE);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void update_poll(struct app_stream *as)
{
    if (as->fd < 0 || !as->poll_open) return;
    int want = 0;
    if (as->s && !as->out_eof && !as->out_blocked) want |= UV_READABLE;
    if (as->in_pos < as->in_len) want |= UV_WRITABLE;
    if (want == as->events) return;
    as->events = want;
    if (want)
        uv_poll_start(&as->poll, want, on_poll);
    else
        uv_poll_stop(&as->poll);
}

/* Keeps bytes the socket did not take; the stream window bounds how many. */
static int hold(struct app_stream *as, const uint8_t *data, size_t len)
{
    if (as->in_pos > 0 && as->in_len + len > as->in_cap) {
        memmove(as->in, as->in + as->in_pos, as->in_len - as->in_pos);
        as->in_len -= as->in_pos;
        as->in_pos = 0;
    }
    if (as->in_len + len > as->in_cap) {
        size_t cap = as->in_cap ? as->in_cap : READ_PIECE;
        while (cap < as->in_len + len)
            cap *= 2;
        uint8_t *p = realloc(as->in, cap);
        if (!p) return IROH_ENOMEM;
        as->in = p;
        as->in_cap = cap;
    }
    memcpy(as->in + as->in_len, data, len);
    as->in_len += len;
    return 0;
}

/* Writes what the socket takes of data and gives the credit back for it. Returns the bytes
 * written; *broken is set when the app closed its end (the caller then calls app_gone). A
 * short send means the socket is full: no second send to hear EAGAIN. */
static size_t deliver(struct app_stream *as, const uint8_t *data, size_t len, bool *broken)
{
    ssize_t n;
    do
        n = send(as->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    *broken = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
    size_t done = n > 0 ? (size_t)n : 0;
    if (as->s) quic_stream_consume(as->s, done);
    return done;
}

/* Flushes held bytes; once they are all in the socket, passes on the peer's FIN, and closes
 * the socket if the stream is over. */
static void flush_in(struct app_stream *as)
{
    if (as->fd < 0) return;
    if (as->in_pos < as->in_len) {
        bool broken;
        as->in_pos += deliver(as, as->in + as->in_pos, as->in_len - as->in_pos, &broken);
        if (broken) app_stopped_reading(as);
    }
    if (as->in_pos < as->in_len) return;
    as->in_pos = as->in_len = 0;
    if (as->in_fin) shutdown(as->fd, SHUT_WR);
    if (!as->s) close_fd(as);
}

/* Reads what the app wrote into the stream (straight into its send buffer) until the socket
 * is empty (a short read says so) or the stream is full. */
static void pump_out(struct app_stream *as)
{
    for (int i = 0;
         i < READS_PER_WAKEUP && as->s && as->fd >= 0 && !as->out_eof && !as->out_blocked; i++) {
        uint8_t *buf;
        size_t room;
        if (quic_stream_reserve(as->s, READ_PIECE, &buf, &room) < 0) {
            /* the peer stopped our direction (or no memory): what the app writes is dropped */
            as->out_eof = true;
            shutdown(as->fd, SHUT_RD);
            return;
        }
        ssize_t n = read(as->fd, buf, room);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0 && errno != ECONNRESET) {
            app_gone(as);
            return;
        }
        if (n <= 0) { /* EOF; ECONNRESET: the app closed its end with bytes unread */
            as->out_eof = true;
            quic_stream_finish(as->s);
            return;
        }
        as->counts->sent += (size_t)n;
        if ((size_t)quic_stream_commit(as->s, (size_t)n) >= QUIC_STREAM_HIGH_WATER)
            as->out_blocked = true;
        if ((size_t)n < room) return; /* the socket is empty: no read to hear EAGAIN */
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct app_stream *as = h->data;
    if (status < 0) { /* POLLERR; libuv stopped the handle */
        /* An app that closed its end with bytes unread leaves ECONNRESET pending (this clears
         * it, unless a read or send did already); what it wrote before is still to be read and
         * sent. */
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(as->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
            (err != 0 && err != ECONNRESET)) {
            app_gone(as);
            return;
        }
        if (err) app_stopped_reading(as);
        as->events = 0;
        update_poll(as);
        return;
    }
    if (events & UV_WRITABLE) flush_in(as);
    if (events & UV_READABLE) pump_out(as);
    update_poll(as);
}

/* ---- the QUIC side --------------------------------------------------------------------------- */

static void on_flush(uv_check_t *h)
{
    struct app_stream *as = h->data;
    uv_check_stop(h);
    flush_in(as);
    update_poll(as);
}

static void on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin, void *arg)
{
    struct app_stream *as = arg;
    as->counts->received += len;
    if (fin) as->in_fin = true;
    if (as->attached && (as->fd < 0 || as->in_stopped)) { /* nobody reads these */
        quic_stream_consume(s, len);
        return;
    }
    if (len && hold(as, data, len) < 0) {
        quic_stream_consume(s, len);
        quic_stream_reset(s, APP_STREAM_CODE_APP_GONE);
        return;
    }
    /* A send per packet (about 1.4 KB) would cost a system call and a wakeup of the app each:
     * what this wakeup's datagrams bring goes to the socket at once, after them. */
    if (as->attached) uv_check_start(&as->flush, on_flush);
}

static void on_drain(struct quic_stream *s, void *arg)
{
    (void)s;
    struct app_stream *as = arg;
    as->out_blocked = false;
    pump_out(as);
    update_poll(as);
}

static void on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)app_error;
    struct app_stream *as = arg;
    /* Bytes still held are credited now: the connection must not lose their window. */
    release_held(as);
    struct app_stream_counts *counts = as->counts;
    as->s = NULL;
    if (!as->attached) {
        as->unclaimed(as, as->arg);
        free(as->in);
        free(as);
    } else {
        /* A reset before the peer's FIN, or a closed connection: what is held is dropped. A
         * stream that closed after the peer's FIN while the connection lives (one direction
         * was stopped) has all the peer sent: it is still delivered. */
        bool deliver_held =
            status == IROH_OK || (as->in_fin && !*quic_conn_error(quic_stream_conn(s)));
        if (!deliver_held)
            close_fd(as);
        else
            flush_in(as);
        update_poll(as);
        maybe_free(as);
    }
    count_closed(counts);
}

/* The peer abandoned a direction (the app hears the code as conn.stream_reset). */
static void on_reset(struct quic_stream *s, uint64_t app_error, bool stop, void *arg)
{
    (void)s;
    (void)app_error;
    struct app_stream *as = arg;
    if (stop) { /* ours: the app's writes fail (EPIPE) */
        as->out_eof = true;
        if (as->fd >= 0) shutdown(as->fd, SHUT_RD);
    } else { /* the peer's: what is held is dropped and the app reads EOF */
        release_held(as);
        as->in_len = as->in_pos = 0;
        as->in_fin = true;
        if (as->fd >= 0) shutdown(as->fd, SHUT_WR);
    }
    update_poll(as);
}

static const struct quic_stream_callbacks bridge_callbacks = {
    .on_data = on_data,
    .on_drain = on_drain,
    .on_close = on_close,
    .on_reset = on_reset,
};

int app_stream_new(uv_loop_t *loop, struct quic_stream *s, struct app_stream_counts *counts,
                   app_stream_unclaimed_fn *unclaimed, void *arg, struct app_stream **out)
{
    struct app_stream *as = calloc(1, sizeof *as);
    if (!as) {
        quic_stream_reset(s, APP_STREAM_CODE_APP_GONE);
        return IROH_ENOMEM;
    }
    *as = (struct app_stream){
        .loop = loop, .s = s, .fd = -1, .counts = counts, .unclaimed = unclaimed, .arg = arg};
    int64_t id = quic_stream_id(s);
    bool ours = ((id & 0x1) != 0) == quic_conn_is_server(quic_stream_conn(s));
    if (id & 0x2) {          /* unidirectional: one direction never exists */
        as->in_fin = ours;   /* the app reads EOF at once */
        as->out_eof = !ours; /* the app may not write */
    }
    quic_stream_set_callbacks(s, &bridge_callbacks, as);
    counts->open++;
    *out = as;
    return 0;
}

int app_stream_attach(struct app_stream *as, int *app_fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        app_stream_discard(as);
        return errno == ENOMEM || errno == ENFILE || errno == EMFILE ? IROH_ENOMEM : IROH_EIO;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    /* best effort: the default works too, with more wakeups */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){OUR_END_SNDBUF}, sizeof(int));
    if (uv_poll_init(as->loop, &as->poll, sv[0]) < 0) {
        close(sv[0]);
        close(sv[1]);
        app_stream_discard(as);
        return IROH_EIO;
    }
    as->poll.data = as;
    as->poll_open = true;
    uv_check_init(as->loop, &as->flush);
    as->flush.data = as;
    as->flush_open = true;
    as->attached = true;
    as->fd = sv[0];
    if (as->out_eof) shutdown(sv[0], SHUT_RD); /* the app's writes fail with EPIPE */
    flush_in(as);
    update_poll(as);
    *app_fd = sv[1];
    return 0;
}

void app_stream_discard(struct app_stream *as)
{
    struct app_stream_counts *counts = as->s ? as->counts : NULL;
    if (as->s) {
        release_held(as);
        quic_stream_set_callbacks(as->s, NULL, NULL);
        quic_stream_reset(as->s, APP_STREAM_CODE_APP_GONE);
    }
    free(as->in);
    free(as);
    if (counts) count_closed(counts);
}
