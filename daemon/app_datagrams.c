/* app_datagrams.c — a connection's datagrams bridged to an app's SOCK_SEQPACKET socket; see
 * app_datagrams.h. */
#include "daemon/app_datagrams.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READS_PER_WAKEUP 64 /* messages read from the app before other handles get a turn */

struct held {
    struct held *next;
    size_t len;
    uint8_t data[];
};

struct app_datagrams {
    uv_loop_t *loop;
    struct quic_conn *qc; /* NULL once the connection is gone */
    int fd;               /* our end; -1 before attach and once closed */
    uv_poll_t poll;
    bool poll_open;
    bool freeing;
    struct held *held, *held_tail; /* the peer's datagrams waiting for the socket, in order */
    size_t n_held, held_bytes;
    uint64_t dropped;
};

static void held_clear(struct app_datagrams *ad)
{
    while (ad->held) {
        struct held *h = ad->held;
        ad->held = h->next;
        free(h);
    }
    ad->held_tail = NULL;
    ad->n_held = ad->held_bytes = 0;
}

static void held_pop(struct app_datagrams *ad)
{
    struct held *h = ad->held;
    ad->held = h->next;
    if (!ad->held) ad->held_tail = NULL;
    ad->n_held--;
    ad->held_bytes -= h->len;
    free(h);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct app_datagrams *ad = h->data;
    ad->poll_open = false;
    if (ad->freeing) free(ad);
}

static void close_fd(struct app_datagrams *ad)
{
    if (ad->fd < 0) return;
    if (ad->poll_open) uv_close((uv_handle_t *)&ad->poll, on_poll_closed);
    close(ad->fd); /* after uv_close: the handle must not outlive the fd number */
    ad->fd = -1;
}

/* One message into the app's socket. Returns false when it could not take it (full or
 * closed); a closed socket is let go of. */
static bool deliver(struct app_datagrams *ad, const uint8_t *data, size_t len)
{
    for (;;) {
        if (send(ad->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) close_fd(ad);
        return false;
    }
}

static void on_poll(uv_poll_t *handle, int status, int events);

/* Watches the app's messages, and room in the socket while datagrams are held. */
static void update_poll(struct app_datagrams *ad)
{
    if (ad->fd >= 0)
        uv_poll_start(&ad->poll, UV_READABLE | UV_DISCONNECT | (ad->held ? UV_WRITABLE : 0),
                      on_poll);
}

/* Moves held datagrams into the socket while it takes them. */
static void flush_held(struct app_datagrams *ad)
{
    while (ad->held && ad->fd >= 0 && deliver(ad, ad->held->data, ad->held->len))
        held_pop(ad);
    update_poll(ad);
}

void app_datagrams_received(struct app_datagrams *ad, const uint8_t *data, size_t len)
{
    if (len == 0) { /* an empty message would read as EOF */
        ad->dropped++;
        return;
    }
    if (ad->fd >= 0 && !ad->held && deliver(ad, data, len)) return;
    if (ad->n_held == APP_DATAGRAMS_HELD || ad->held_bytes + len > APP_DATAGRAMS_HELD_BYTES) {
        ad->dropped++;
        return;
    }
    struct held *h = malloc(sizeof *h + len);
    if (!h) {
        ad->dropped++;
        return;
    }
    h->next = NULL;
    h->len = len;
    memcpy(h->data, data, len);
    if (ad->held_tail)
        ad->held_tail->next = h;
    else
        ad->held = h;
    ad->held_tail = h;
    ad->n_held++;
    ad->held_bytes += len;
    if (ad->n_held == 1) update_poll(ad); /* wait for room */
}

/* Reads the app's messages and queues each as a datagram; passes on held datagrams. */
static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct app_datagrams *ad = handle->data;
    static uint8_t buf[65536];
    if (status < 0) {
        close_fd(ad);
        return;
    }
    if (events & UV_WRITABLE) flush_held(ad);
    for (int i = 0; i < READS_PER_WAKEUP && ad->fd >= 0; i++) {
        ssize_t n = recv(ad->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 || (n == 0 && (events & UV_DISCONNECT))) { /* the app closed its end */
            close_fd(ad);
            return;
        }
        if (n == 0 || (size_t)n > sizeof buf || !ad->qc ||
            quic_conn_send_datagram(ad->qc, buf, (size_t)n) < 0)
            ad->dropped++;
    }
}

int app_datagrams_new(uv_loop_t *loop, struct quic_conn *qc, struct app_datagrams **out)
{
    struct app_datagrams *ad = calloc(1, sizeof *ad);
    if (!ad) return IROH_ENOMEM;
    ad->loop = loop;
    ad->qc = qc;
    ad->fd = -1;
    *out = ad;
    return 0;
}

int app_datagrams_attach(struct app_datagrams *ad, int *app_fd)
{
    if (ad->fd >= 0) return IROH_EEXIST;
    if (ad->poll_open) return IROH_EBUSY; /* the previous socket's handle is still closing */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return errno == ENOMEM || errno == ENFILE || errno == EMFILE ? IROH_ENOMEM : IROH_EIO;
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    if (uv_poll_init(ad->loop, &ad->poll, sv[0]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return IROH_EIO;
    }
    ad->poll.data = ad;
    ad->poll_open = true;
    ad->fd = sv[0];
    flush_held(ad);
    *app_fd = sv[1];
    return 0;
}

uint64_t app_datagrams_dropped(const struct app_datagrams *ad)
{
    return ad->dropped;
}

void app_datagrams_free(struct app_datagrams *ad)
{
    ad->qc = NULL;
    held_clear(ad);
    close_fd(ad);
    if (ad->poll_open)
        ad->freeing = true; /* on_poll_closed frees it */
    else
        free(ad);
}
