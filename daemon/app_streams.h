/* app_streams.h — the bridge between one QUIC stream and a Unix socketpair whose other end an
 * app holds (passed to it by conn.open_bi / conn.accept_bi): bytes both ways, the app's
 * shutdown(SHUT_WR) or close becomes our FIN, the peer's FIN becomes EOF on the app's end, so
 * does the peer's reset of its direction (what irohd held of it is dropped), the peer's
 * STOP_SENDING makes the app's writes fail (EPIPE), the stream closing after a reset (or a
 * closed connection) before the peer's FIN closes the socket, and an app
 * that stops reading while the peer still sends gets a STOP_SENDING with
 * APP_STREAM_CODE_APP_GONE for the peer — what the app wrote before it closed or died is still
 * read from the socket and sent, then FIN.
 * A unidirectional stream has one direction only: the app reads EOF at once from one it
 * opened, and its writes fail (EPIPE) on one the peer opened.
 *
 * Flow control end to end, so a slow side costs bounded memory: the bridge stops reading the
 * app's socket while the QUIC stream holds QUIC_STREAM_HIGH_WATER unacknowledged bytes, and
 * gives QUIC credit back (quic_stream_consume) only for bytes written into the app's socket;
 * what the peer may send beyond that is bounded by the stream and connection windows
 * (quic_conn.h). Nothing blocks the loop: the socket is non-blocking and watched by uv_poll.
 * Bulk costs: the app's bytes are read straight into the stream's send buffer; the peer's go
 * to the socket once per loop iteration (after that wakeup's datagrams), not per packet,
 * through a send buffer (256 KiB asked) that takes them without a partial send; a short read
 * or send ends a round (the socket is empty or full) without a second call to hear EAGAIN.
 *
 * endpoint_apps.c creates bridges for the streams of the connections apps own. Loop thread
 * only. A bridge frees itself once its stream is closed and its socket end is closed. */
#ifndef IROHD_APP_STREAMS_H
#define IROHD_APP_STREAMS_H

#include <stdint.h>
#include <uv.h>

#include "daemon/quic_conn.h"

/* The code of the STOP_SENDING / RESET_STREAM sent when the app closed its end while the peer
 * was still sending, and of connections closed because their app left. */
#define APP_STREAM_CODE_APP_GONE 1

struct app_stream;

/* Stream bytes of a connection's bridges, counted while their streams are open (so the counts
 * may live in the connection's record, which outlives its streams), and how many of its
 * bridges still have their stream. */
struct app_stream_counts {
    uint64_t sent, received;
    unsigned open;
    /* If set, called when open falls to 0 (a stream closed or a bridge was discarded). */
    void (*all_closed)(struct app_stream_counts *counts);
};

/* Called when a stream that was never attached closes (its peer reset it, the connection
 * closed); the bridge is freed after the call. */
typedef void app_stream_unclaimed_fn(struct app_stream *as, void *arg);

/* Takes over s (sets its callbacks), adding its bytes to *counts. Until app_stream_attach, the
 * peer's bytes are held (the stream window bounds them). Returns 0 and *out, or IROH_ENOMEM (s
 * is then reset). */
int app_stream_new(uv_loop_t *loop, struct quic_stream *s, struct app_stream_counts *counts,
                   app_stream_unclaimed_fn *unclaimed, void *arg, struct app_stream **out);

/* Makes the socketpair and starts bridging. Returns 0 and the app's end in *app_fd (the
 * caller passes it on and closes its copy), or IROH_EIO / IROH_ECLOSED (the stream closed
 * meanwhile) / IROH_ENOMEM; on failure the bridge resets the stream and frees itself. */
int app_stream_attach(struct app_stream *as, int *app_fd);

/* Resets the stream of a bridge that was never attached and frees it (no callback). */
void app_stream_discard(struct app_stream *as);

#endif
