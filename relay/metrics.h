/* relay/metrics.h — iroh-relay's counters (upstream's relayserver group) and their Prometheus
 * text form. The server increments fields of one struct relay_metrics on its loop; the
 * metrics listener renders them. Used by relay/server.c. */
#ifndef IROH_RELAY_METRICS_H
#define IROH_RELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* X(name, help): counters exported as relayserver_<name>_total. */
#define RELAY_COUNTERS(X)                                                                          \
    X(bytes_sent, "Number of bytes sent")                                                          \
    X(bytes_recv, "Number of bytes received")                                                      \
    X(send_packets_sent, "Datagram frames sent to clients")                                        \
    X(send_packets_recv, "Datagram frames received from clients")                                  \
    X(send_packets_dropped, "Datagram frames dropped (no such client or queue full)")              \
    X(other_packets_sent, "Other frames sent")                                                     \
    X(other_packets_recv, "Other frames received")                                                 \
    X(other_packets_dropped, "Other frames dropped (queue full)")                                  \
    X(got_ping, "Pings received")                                                                  \
    X(sent_pong, "Pongs sent")                                                                     \
    X(unknown_frames, "Frames of unknown or unexpected type")                                      \
    X(bytes_rx_ratelimited_total, "Bytes whose reading was delayed by the rate limit")             \
    X(conns_rx_ratelimited_total, "Connections that hit the rate limit")                           \
    X(accepts, "Clients registered")                                                               \
    X(disconnects, "Clients unregistered")                                                         \
    X(auth_denied, "Clients refused by authentication or access control")                          \
    X(clients_inactive_added, "Connections made inactive by a newer one with the same id")         \
    X(clients_inactive_removed, "Inactive connections closed")                                     \
    X(http_connections, "TCP connections accepted")                                                \
    X(accepts_ratelimited, "TCP connections closed at once by accept_conn_limit")                  \
    X(http_connections_closed, "TCP connections closed")                                           \
    X(http_connections_errored, "TCP connections closed for a protocol error or timeout")

struct relay_metrics {
#define RELAY_COUNTER_FIELD(name, help) uint64_t name;
    RELAY_COUNTERS(RELAY_COUNTER_FIELD)
#undef RELAY_COUNTER_FIELD
    uint64_t clients;     /* gauge: registered (active) clients */
    uint64_t connections; /* gauge: open TCP connections */
};

/* Renders the OpenMetrics text of m into out. Returns the length, or the length needed if
 * out_cap is too small (like snprintf). */
size_t relay_metrics_render(const struct relay_metrics *m, char *out, size_t out_cap);

#endif
