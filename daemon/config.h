/* config.h — irohd's settings: defaults, then the JSON config file (--config), then flags.
 * Used by main.c only. */
#ifndef IROHD_CONFIG_H
#define IROHD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/ticket.h"
#include "daemon/log.h"

#define CONFIG_MAX_RELAYS 7      /* relay URLs one may configure */
#define CONFIG_MAX_PUSH_ALLOW 16 /* endpoint ids that may push blobs */

struct config {
    char data_dir[PATH_MAX];
    char socket_path[PATH_MAX];
    char bind[1024]; /* the endpoint's UDP addresses, comma-separated; empty: its default */
    char relays[CONFIG_MAX_RELAYS][IROH_RELAY_URL_MAX + 1]; /* relays to stay connected to */
    size_t n_relays;
    bool no_relay;                /* no relay at all: --no-relay or "relays": false */
    char relay_ca_file[PATH_MAX]; /* extra CAs for https relays; empty: the system's only */
    char relay_token[256];        /* access token for the configured relays; empty: none */
    enum log_level log_level;
    size_t max_clients;
    size_t client_output_limit;
    unsigned busy_poll_us; /* how long the loop spins for more events before sleeping */
    struct iroh_public_key blobs_push_allow[CONFIG_MAX_PUSH_ALLOW]; /* may push blobs to us */
    size_t n_blobs_push_allow;
    size_t blobs_max_requests, blobs_max_conn_requests; /* 0: the provider's defaults */
    bool retry_always; /* every new QUIC client answers a Retry first (endpoint_options) */
};

/* Fills c from argv (and the file --config names). Returns 0 to run, 1 when --help or
 * --version printed what was asked (exit 0), or IROH_EINVAL with err saying what is wrong. */
int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen);

#endif
