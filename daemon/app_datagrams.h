/* app_datagrams.h — one QUIC connection's datagrams (RFC 9221) bridged to a Unix
 * SOCK_SEQPACKET socketpair whose other end an app holds (passed to it by conn.datagrams):
 * every message the app sends is one datagram to the peer, every datagram of the peer is one
 * message for the app to read. The app reads 0 (EOF) once the connection is gone.
 *
 * Datagrams are unreliable, so nothing waits for a slow side and memory stays bounded:
 *   - the peer's datagrams go into the socket without blocking; what it has no room for (the
 *     app does not read fast enough), or arrives while the app has no socket (before it asked
 *     for one, or after it closed it), is held, in order, up to APP_DATAGRAMS_HELD datagrams
 *     and APP_DATAGRAMS_HELD_BYTES; beyond that they are dropped and counted;
 *   - what the app sends is read as soon as it arrives and queued by the connection
 *     (quic_conn_send_datagram: bounded, the oldest waiting gives way); a message larger than
 *     quic_conn_max_datagram, or an empty one, is dropped and counted.
 *
 * endpoint_apps.c makes one per connection an app owns. Loop thread only. */
#ifndef IROHD_APP_DATAGRAMS_H
#define IROHD_APP_DATAGRAMS_H

#include <stdint.h>
#include <uv.h>

#include "daemon/quic_conn.h"

/* The peer's datagrams held while the app's socket has no room (or there is none). */
#define APP_DATAGRAMS_HELD 64
#define APP_DATAGRAMS_HELD_BYTES (256 * 1024)

struct app_datagrams;

/* Starts holding qc's datagrams (the caller routes its on_datagram to app_datagrams_received).
 * Returns 0 and *out, or IROH_ENOMEM. */
int app_datagrams_new(uv_loop_t *loop, struct quic_conn *qc, struct app_datagrams **out);

/* A datagram of the peer: into the app's socket, held, or dropped (counted). */
void app_datagrams_received(struct app_datagrams *ad, const uint8_t *data, size_t len);

/* Makes the socketpair, passes on what was held and starts bridging. Returns 0 and the app's
 * end in *app_fd (the caller passes it on and closes its copy), IROH_EEXIST when the app
 * already has a socket for this connection that it has not closed, or IROH_EIO /
 * IROH_ENOMEM. */
int app_datagrams_attach(struct app_datagrams *ad, int *app_fd);

/* Datagrams dropped here: the peer's that the app had no room for (or no socket, or had
 * closed), and the app's that were empty or too large for the connection. */
uint64_t app_datagrams_dropped(const struct app_datagrams *ad);

/* The connection is gone: closes our end (the app reads EOF) and frees ad once its handle
 * has closed. */
void app_datagrams_free(struct app_datagrams *ad);

#endif
