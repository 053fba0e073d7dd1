/* config.c — defaults, config file and flags; see config.h. */
#include "daemon/config.h"

#include <getopt.h>
#include <stdbool.h>
#include <iroh/error.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "daemon/datadir.h"
#include "ipc/paths.h"

static const char usage[] =
    "Usage: irohd [OPTIONS]\n"
    "\n"
    "The iroh node daemon: owns this machine's node identity and serves local apps over a\n"
    "Unix socket (JSON-RPC 2.0; see 'iroh --help' for the command-line client).\n"
    "\n"
    "Options:\n"
    "  --data-dir DIR     state directory (default $XDG_DATA_HOME/irohd or\n"
    "                     ~/.local/share/irohd)\n"
    "  --socket PATH      API socket (default $IROHD_SOCKET, else\n"
    "                     $XDG_RUNTIME_DIR/irohd/irohd.sock, else /tmp/irohd-UID/irohd.sock)\n"
    "  --bind ADDR        UDP address of the endpoint, IP:PORT or [IPv6]:PORT; repeatable\n"
    "                     (default 0.0.0.0:0 and [::]:0: every interface, random ports)\n"
    "  --relay URL        relay server (http:// or https://) to stay connected to;\n"
    "                     repeatable (at most 7); the one with the lowest latency is the\n"
    "                     home relay that tickets name (default: none)\n"
    "  --no-relay         use no relay at all, not even a remote's\n"
    "  --relay-ca FILE    PEM certificates of CAs trusted for https relays besides the\n"
    "                     system's (a private relay's own CA)\n"
    "  --relay-token TOKEN  access token sent to the configured relays (Authorization:\n"
    "                     Bearer; never to a remote's relay); better in the config file\n"
    "  --config FILE      JSON settings: {\"data_dir\", \"socket\", \"bind\", \"relays\"\n"
    "                     (a list of URLs, or false for no relay), \"relay_ca_file\",\n"
    "                     \"relay_token\", \"log_level\",\n"
    "                     \"max_clients\", \"client_output_limit\", \"busy_poll_us\",\n"
    "                     \"blobs_push_allow\" (endpoint ids that may push blobs to this\n"
    "                     node; default none), \"blobs_max_requests\" (512),\n"
    "                     \"blobs_max_conn_requests\" (64: blob requests served at once in\n"
    "                     total and per connection), \"retry_always\" (every new QUIC\n"
    "                     client first answers a Retry from its address; default: only\n"
    "                     while 64 handshakes are in progress)}; flags override it\n"
    "  --log-level LEVEL  error, warn, info (default), debug or trace\n"
    "  -h, --help         show this help\n"
    "  --version          show the version\n";

#define SETTING_KEYS                                                                               \
    "data_dir, socket, bind, relays, relay_ca_file, relay_token, log_level, max_clients, "         \
    "client_output_limit, busy_poll_us, "                                                          \
    "blobs_push_allow, blobs_max_requests, blobs_max_conn_requests, retry_always"

static int set_string(char *dst, size_t cap, const char *value, const char *what, char *err,
                      size_t errlen)
{
    if (snprintf(dst, cap, "%s", value) >= (int)cap) {
        snprintf(err, errlen, "%s is too long", what);
        return IROH_EINVAL;
    }
    return 0;
}

static int set_level(struct config *c, const char *value, char *err, size_t errlen)
{
    int level = log_level_parse(value);
    if (level < 0) {
        snprintf(err, errlen, "unknown log level \"%s\" (use error, warn, info, debug, trace)",
                 value);
        return IROH_EINVAL;
    }
    c->log_level = (enum log_level)level;
    return 0;
}

static int set_size(size_t *dst, json_object *v, const char *key, size_t min, char *err,
                    size_t errlen)
{
    int64_t n = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || n < (int64_t)min) {
        snprintf(err, errlen, "\"%s\" must be an integer of at least %zu", key, min);
        return IROH_EINVAL;
    }
    *dst = (size_t)n;
    return 0;
}

/* Appends a relay URL (checked to be one; the endpoint canonicalises it). */
static int add_relay(struct config *c, const char *url, char *err, size_t errlen)
{
    char canonical[IROH_RELAY_URL_MAX + 1];
    if (iroh_relay_url_canonicalize(url, strlen(url), canonical, sizeof canonical) < 0) {
        snprintf(err, errlen, "relay \"%s\" is not an http:// or https:// URL", url);
        return IROH_EINVAL;
    }
    if (c->n_relays == CONFIG_MAX_RELAYS) {
        snprintf(err, errlen, "at most %d relays", CONFIG_MAX_RELAYS);
        return IROH_EINVAL;
    }
    memcpy(c->relays[c->n_relays++], canonical, sizeof canonical);
    return 0;
}

/* "relays": a list of URLs, or false for no relay at all. */
static int set_relays(struct config *c, json_object *v, const char *path, char *err, size_t errlen)
{
    c->n_relays = 0;
    c->no_relay = false;
    if (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) {
        c->no_relay = true;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(err, errlen, "config %s: \"relays\" must be a list of URLs or false", path);
        return IROH_EINVAL;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string)) {
            snprintf(err, errlen, "config %s: \"relays\" must hold strings", path);
            return IROH_EINVAL;
        }
        int rc = add_relay(c, json_object_get_string(e), err, errlen);
        if (rc < 0) return rc;
    }
    return 0;
}

/* "blobs_push_allow": a list of endpoint ids (hex or base32). */
static int set_push_allow(struct config *c, json_object *v, const char *path, char *err,
                          size_t errlen)
{
    c->n_blobs_push_allow = 0;
    if (!json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) > CONFIG_MAX_PUSH_ALLOW) {
        snprintf(err, errlen, "config %s: \"blobs_push_allow\" must be a list of at most %d ids",
                 path, CONFIG_MAX_PUSH_ALLOW);
        return IROH_EINVAL;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(v, i));
        if (!id || iroh_public_key_parse(id, strlen(id), &c->blobs_push_allow[i]) < 0) {
            snprintf(err, errlen, "config %s: \"blobs_push_allow\": \"%s\" is not an endpoint id",
                     path, id ? id : "");
            return IROH_EINVAL;
        }
        c->n_blobs_push_allow++;
    }
    return 0;
}

static int load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    json_object *root = json_object_from_file(path);
    if (!root) {
        snprintf(err, errlen, "cannot read config %s: %s", path, json_util_get_last_err());
        return IROH_EINVAL;
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "config %s must hold a JSON object", path);
        json_object_put(root);
        return IROH_EINVAL;
    }
    int rc = 0;
    json_object_object_foreach(root, key, v)
    {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        bool wants_string = strcmp(key, "data_dir") == 0 || strcmp(key, "socket") == 0 ||
                            strcmp(key, "bind") == 0 || strcmp(key, "log_level") == 0 ||
                            strcmp(key, "relay_ca_file") == 0 || strcmp(key, "relay_token") == 0;
        if (wants_string && !s) {
            snprintf(err, errlen, "config %s: \"%s\" must be a string", path, key);
            rc = IROH_EINVAL;
        } else if (strcmp(key, "retry_always") == 0) {
            if (!json_object_is_type(v, json_type_boolean)) {
                snprintf(err, errlen, "config %s: \"retry_always\" must be true or false", path);
                rc = IROH_EINVAL;
            }
            c->retry_always = json_object_get_boolean(v);
        } else if (strcmp(key, "blobs_push_allow") == 0) {
            rc = set_push_allow(c, v, path, err, errlen);
        } else if (strcmp(key, "blobs_max_requests") == 0) {
            rc = set_size(&c->blobs_max_requests, v, key, 1, err, errlen);
        } else if (strcmp(key, "blobs_max_conn_requests") == 0) {
            rc = set_size(&c->blobs_max_conn_requests, v, key, 1, err, errlen);
        } else if (strcmp(key, "relay_token") == 0) {
            rc = set_string(c->relay_token, sizeof c->relay_token, s, key, err, errlen);
        } else if (strcmp(key, "relay_ca_file") == 0) {
            rc = set_string(c->relay_ca_file, sizeof c->relay_ca_file, s, key, err, errlen);
        } else if (strcmp(key, "relays") == 0) {
            rc = set_relays(c, v, path, err, errlen);
        } else if (strcmp(key, "bind") == 0) {
            rc = set_string(c->bind, sizeof c->bind, s, "bind", err, errlen);
        } else if (strcmp(key, "data_dir") == 0) {
            rc = set_string(c->data_dir, sizeof c->data_dir, s, "data_dir", err, errlen);
        } else if (strcmp(key, "socket") == 0) {
            rc = set_string(c->socket_path, sizeof c->socket_path, s, "socket", err, errlen);
        } else if (strcmp(key, "log_level") == 0) {
            rc = set_level(c, s, err, errlen);
        } else if (strcmp(key, "max_clients") == 0) {
            rc = set_size(&c->max_clients, v, key, 1, err, errlen);
        } else if (strcmp(key, "client_output_limit") == 0) {
            rc = set_size(&c->client_output_limit, v, key, 65536, err, errlen);
        } else if (strcmp(key, "busy_poll_us") == 0) {
            size_t us = 0;
            rc = set_size(&us, v, key, 0, err, errlen);
            if (rc == 0 && us > 1000) {
                snprintf(err, errlen, "\"busy_poll_us\" must be at most 1000");
                rc = IROH_EINVAL;
            }
            c->busy_poll_us = (unsigned)us;
        } else {
            snprintf(err, errlen, "config %s: unknown setting \"%s\" (known: " SETTING_KEYS ")",
                     path, key);
            rc = IROH_EINVAL;
        }
        if (rc < 0) break;
    }
    json_object_put(root);
    return rc;
}

int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->log_level = LOG_INFO;
    c->max_clients = 1024;
    c->client_output_limit = 64u * 1024 * 1024;
    c->busy_poll_us = 50;

    enum {
        OPT_DATA_DIR = 256,
        OPT_SOCKET,
        OPT_BIND,
        OPT_RELAY,
        OPT_NO_RELAY,
        OPT_RELAY_CA,
        OPT_RELAY_TOKEN,
        OPT_CONFIG,
        OPT_LOG_LEVEL,
        OPT_VERSION
    };
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"bind", required_argument, NULL, OPT_BIND},
        {"relay", required_argument, NULL, OPT_RELAY},
        {"no-relay", no_argument, NULL, OPT_NO_RELAY},
        {"relay-ca", required_argument, NULL, OPT_RELAY_CA},
        {"relay-token", required_argument, NULL, OPT_RELAY_TOKEN},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    /* First pass: the config file, so flags can override what it says. */
    const char *data_dir = NULL, *socket_path = NULL, *level = NULL, *config = NULL,
               *relay_ca = NULL, *relay_token = NULL;
    char binds[sizeof c->bind] = ""; /* every --bind, comma-separated */
    size_t binds_len = 0;
    const char *relays[CONFIG_MAX_RELAYS + 1];
    size_t n_relays = 0;
    bool no_relay = false;
    opterr = 0;
    optind = 1;
    for (int opt; (opt = getopt_long(argc, argv, ":h", options, NULL)) != -1;) {
        switch (opt) {
        case OPT_DATA_DIR: data_dir = optarg; break;
        case OPT_SOCKET: socket_path = optarg; break;
        case OPT_BIND: {
            int n = snprintf(binds + binds_len, sizeof binds - binds_len, "%s%s",
                             binds_len ? "," : "", optarg);
            if (n < 0 || (size_t)n >= sizeof binds - binds_len) {
                snprintf(err, errlen, "too many --bind addresses");
                return IROH_EINVAL;
            }
            binds_len += (size_t)n;
            break;
        }
        case OPT_RELAY:
            if (n_relays == CONFIG_MAX_RELAYS + 1) {
                snprintf(err, errlen, "at most %d relays", CONFIG_MAX_RELAYS);
                return IROH_EINVAL;
            }
            relays[n_relays++] = optarg;
            break;
        case OPT_NO_RELAY: no_relay = true; break;
        case OPT_RELAY_CA: relay_ca = optarg; break;
        case OPT_RELAY_TOKEN: relay_token = optarg; break;
        case OPT_CONFIG: config = optarg; break;
        case OPT_LOG_LEVEL: level = optarg; break;
        case 'h': fputs(usage, stdout); return 1;
        case OPT_VERSION: printf("irohd %s\n", IROHD_VERSION); return 1;
        case ':':
            snprintf(err, errlen, "%s needs a value (see irohd --help)", argv[optind - 1]);
            return IROH_EINVAL;
        default:
            snprintf(err, errlen, "unknown option %s (see irohd --help)", argv[optind - 1]);
            return IROH_EINVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\" (see irohd --help)", argv[optind]);
        return IROH_EINVAL;
    }
    int rc = 0;
    if (config && (rc = load_file(c, config, err, errlen)) < 0) return rc;
    if (data_dir &&
        (rc = set_string(c->data_dir, sizeof c->data_dir, data_dir, "--data-dir", err, errlen)))
        return rc;
    if (socket_path && (rc = set_string(c->socket_path, sizeof c->socket_path, socket_path,
                                        "--socket", err, errlen)))
        return rc;
    if (level && (rc = set_level(c, level, err, errlen)) < 0) return rc;
    if (binds_len) memcpy(c->bind, binds, binds_len + 1);
    if (relay_ca && (rc = set_string(c->relay_ca_file, sizeof c->relay_ca_file, relay_ca,
                                     "--relay-ca", err, errlen)) < 0)
        return rc;
    if (relay_token && (rc = set_string(c->relay_token, sizeof c->relay_token, relay_token,
                                        "--relay-token", err, errlen)) < 0)
        return rc;
    if (no_relay && n_relays) {
        snprintf(err, errlen, "--relay and --no-relay exclude each other");
        return IROH_EINVAL;
    }
    if (n_relays) { /* flags replace the file's list */
        c->n_relays = 0;
        c->no_relay = false;
        for (size_t i = 0; i < n_relays; i++)
            if ((rc = add_relay(c, relays[i], err, errlen)) < 0) return rc;
    }
    if (no_relay) {
        c->no_relay = true;
        c->n_relays = 0;
    }

    if (!*c->data_dir && datadir_default_path(c->data_dir, sizeof c->data_dir) < 0) {
        snprintf(err, errlen, "no data dir: set HOME or XDG_DATA_HOME, or pass --data-dir");
        return IROH_EINVAL;
    }
    if (!*c->socket_path && ipc_default_socket_path(c->socket_path, sizeof c->socket_path) < 0) {
        snprintf(err, errlen, "the default socket path is too long; pass --socket");
        return IROH_EINVAL;
    }
    return 0;
}
