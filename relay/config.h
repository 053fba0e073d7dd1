/* relay/config.h — iroh-relay's configuration: defaults, the TOML config file (upstream
 * iroh-relay's keys plus a few of ours, see packaging/iroh-relay.8), command-line flags and the
 * two access environment variables. Used by relay/main.c only; the server reads the result. */
#ifndef IROH_RELAY_CONFIG_H
#define IROH_RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"

enum relay_access_mode {
    RELAY_ACCESS_EVERYONE,
    RELAY_ACCESS_ALLOWLIST,
    RELAY_ACCESS_DENYLIST,
    RELAY_ACCESS_SHARED_TOKEN,
    RELAY_ACCESS_HTTP,
};

#define RELAY_ADDR_LEN 96
#define RELAY_PATH_LEN 1024

struct relay_config {
    bool dev;
    bool enable_relay;
    char http_bind_addr[RELAY_ADDR_LEN]; /* "ip:port" or "[ipv6]:port" */
    bool tls;                            /* a [tls] section or --tls-cert was given */
    char https_bind_addr[RELAY_ADDR_LEN];
    char cert_path[RELAY_PATH_LEN], key_path[RELAY_PATH_LEN];
    bool enable_metrics;
    char metrics_bind_addr[RELAY_ADDR_LEN];

    enum relay_access_mode access;
    struct iroh_public_key *ids; /* allowlist or denylist */
    size_t num_ids;
    char **tokens; /* shared tokens */
    size_t num_tokens;
    char callout_url[RELAY_PATH_LEN]; /* http://host[:port]/path */
    char callout_bearer[512];
    uint32_t callout_timeout_ms;
    uint32_t callout_max_pending; /* callouts at once; clients beyond are denied */

    uint32_t rx_bytes_per_second; /* 0: no rate limit */
    uint32_t rx_max_burst_bytes;

    /* Per-client send queue: datagram frames beyond this are dropped; control frames have
     * their own queue of the same depth. */
    uint32_t queue_frames;
    uint32_t queue_bytes; /* and datagrams are dropped while this much is queued */
    /* Timeouts (ms): establishing (accept until registered), keep-alive pings (interval, plus
     * a random 1..5 s), the pong, and a write that makes no progress. */
    uint32_t establish_timeout_ms, ping_interval_ms, pong_timeout_ms, write_timeout_ms;
    uint32_t max_connections;
    /* New TCP connections per second (0: no limit) and the burst allowed above that rate
     * (default: one second's worth); connections beyond are closed at once. */
    uint32_t accept_conn_limit, accept_conn_burst;
    char log_level[16];
};

/* Fills *cfg with the defaults (the dev defaults if dev). */
void relay_config_defaults(struct relay_config *cfg, bool dev);

/* Reads a TOML config file into *cfg (on top of what is there). On failure writes a message
 * to err (err_cap bytes) and returns IROH_EINVAL, IROH_EIO, or IROH_ENOTFOUND if the file does
 * not exist (upstream then runs with the defaults). */
int relay_config_load(struct relay_config *cfg, const char *path, char *err, size_t err_cap);

/* Parses argv (after a first pass that found --dev and --config-path, see main.c), applies
 * flags on top of *cfg, then the environment variables. Returns IROH_OK, 1 if --help or
 * --version was handled (printed), or IROH_EINVAL with a message in err. */
int relay_config_parse_args(struct relay_config *cfg, int argc, char **argv, char *err,
                            size_t err_cap);

/* Checks the finished configuration (e.g. a token list without empty tokens, a callout URL
 * that is http://). Returns IROH_OK or IROH_EINVAL with a message. */
int relay_config_check(const struct relay_config *cfg, char *err, size_t err_cap);

/* Frees the lists. */
void relay_config_free(struct relay_config *cfg);

#endif
