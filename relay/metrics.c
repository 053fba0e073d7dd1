/* relay/metrics.c — Prometheus/OpenMetrics text of the relay counters (see metrics.h). */
#include "relay/metrics.h"

#include <inttypes.h>
#include <stdio.h>

/* Appends to out like snprintf, keeping count of what would have been written. */
#define APPEND(...)                                                                                \
    do {                                                                                           \
        int n_ = snprintf(out + (len < out_cap ? len : out_cap),                                   \
                          len < out_cap ? out_cap - len : 0, __VA_ARGS__);                         \
        if (n_ > 0) len += (size_t)n_;                                                             \
    } while (0)

size_t relay_metrics_render(const struct relay_metrics *m, char *out, size_t out_cap)
{
    size_t len = 0;
#define RELAY_COUNTER_TEXT(name, help)                                                             \
    APPEND("# HELP relayserver_" #name " " help ".\n# TYPE relayserver_" #name " counter\n"        \
           "relayserver_" #name "_total %" PRIu64 "\n",                                            \
           m->name);
    RELAY_COUNTERS(RELAY_COUNTER_TEXT)
#undef RELAY_COUNTER_TEXT
    APPEND("# HELP relayserver_clients Registered clients.\n# TYPE relayserver_clients gauge\n"
           "relayserver_clients %" PRIu64 "\n",
           m->clients);
    APPEND("# HELP relayserver_connections Open TCP connections.\n"
           "# TYPE relayserver_connections gauge\nrelayserver_connections %" PRIu64 "\n",
           m->connections);
    APPEND("# EOF\n");
    return len;
}
