/* relay/config.c — iroh-relay configuration: a TOML subset reader for upstream's keys, flags
 * and environment (see config.h and packaging/iroh-relay.8). */
#include "relay/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iroh/error.h"

#define MAX_VALUES 4096

void relay_config_defaults(struct relay_config *cfg, bool dev)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->dev = dev;
    cfg->enable_relay = true;
    snprintf(cfg->http_bind_addr, sizeof cfg->http_bind_addr, "%s",
             dev ? "127.0.0.1:3340" : "[::]:80");
    snprintf(cfg->https_bind_addr, sizeof cfg->https_bind_addr, "[::]:443");
    cfg->enable_metrics = true;
    cfg->access = RELAY_ACCESS_EVERYONE;
    cfg->callout_timeout_ms = 5000;
    cfg->callout_max_pending = 1024;
    cfg->queue_frames = 512;
    cfg->queue_bytes = 512u << 10;
    cfg->establish_timeout_ms = 30000;
    cfg->ping_interval_ms = 15000;
    cfg->pong_timeout_ms = 5000;
    cfg->write_timeout_ms = 2000;
    cfg->max_connections = 100000;
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
}

void relay_config_free(struct relay_config *cfg)
{
    free(cfg->ids);
    for (size_t i = 0; i < cfg->num_tokens; i++)
        free(cfg->tokens[i]);
    free(cfg->tokens);
    cfg->ids = NULL;
    cfg->tokens = NULL;
    cfg->num_ids = cfg->num_tokens = 0;
}

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return IROH_EINVAL;
}

/* The metrics address defaults to the HTTP bind IP with port 9090. */
static void default_metrics_addr(struct relay_config *cfg)
{
    const char *colon = strrchr(cfg->http_bind_addr, ':');
    int iplen = colon ? (int)(colon - cfg->http_bind_addr) : 0;
    snprintf(cfg->metrics_bind_addr, sizeof cfg->metrics_bind_addr, "%.*s:9090", iplen,
             cfg->http_bind_addr);
}

static int add_id(struct relay_config *cfg, const char *text, char *err, size_t cap)
{
    struct iroh_public_key pk;
    if (iroh_public_key_parse(text, strlen(text), &pk) < 0)
        return fail(err, cap, "not an endpoint id: '%s'", text);
    struct iroh_public_key *grown = realloc(cfg->ids, (cfg->num_ids + 1) * sizeof *grown);
    if (!grown) return IROH_ENOMEM;
    cfg->ids = grown;
    cfg->ids[cfg->num_ids++] = pk;
    return IROH_OK;
}

static int add_token(struct relay_config *cfg, const char *text)
{
    char **grown = realloc(cfg->tokens, (cfg->num_tokens + 1) * sizeof *grown);
    if (!grown) return IROH_ENOMEM;
    cfg->tokens = grown;
    if (!(cfg->tokens[cfg->num_tokens] = strdup(text))) return IROH_ENOMEM;
    cfg->num_tokens++;
    return IROH_OK;
}

static void clear_tokens(struct relay_config *cfg)
{
    for (size_t i = 0; i < cfg->num_tokens; i++)
        free(cfg->tokens[i]);
    cfg->num_tokens = 0;
}

/* --- the TOML subset ----------------------------------------------------------------------
 * Tables [a] and [a.b], dotted keys, basic ("..." with \" \\ \n \t escapes) and literal ('...')
 * strings, integers, booleans, and arrays of those (also over several lines). Inline tables
 * and dates are not supported and are reported as errors. */

struct toml_value {
    enum { V_STRING, V_INT, V_BOOL, V_ARRAY } kind;
    char *items[MAX_VALUES]; /* V_STRING: items[0]; V_ARRAY: strings */
    size_t count;
    long long num;
    bool flag;
};

static void value_free(struct toml_value *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    v->count = 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Parses one string at p; returns the position after it, or NULL. */
static const char *parse_string(const char *p, char **out)
{
    char quote = *p++;
    size_t cap = strlen(p) + 1, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    while (*p && *p != quote) {
        char c = *p++;
        if (quote == '"' && c == '\\') {
            c = *p++;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c != '"' && c != '\\') {
                free(s);
                return NULL;
            }
        }
        s[n++] = c;
    }
    if (*p != quote) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    *out = s;
    return p + 1;
}

static const char *parse_scalar(const char *p, struct toml_value *v)
{
    if (*p == '"' || *p == '\'') {
        v->kind = V_STRING;
        p = parse_string(p, &v->items[0]);
        if (p) v->count = 1;
        return p;
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->kind = V_BOOL;
        v->flag = *p == 't';
        return p + (v->flag ? 4 : 5);
    }
    char *end;
    errno = 0;
    long long n = strtoll(p, &end, 10);
    if (end == p || errno) return NULL;
    /* TOML allows '_' between digits; upstream configs rarely use it. */
    v->kind = V_INT;
    v->num = n;
    return end;
}

static const char *parse_value(const char *p, struct toml_value *v)
{
    memset(v, 0, sizeof *v);
    if (*p != '[') return parse_scalar(p, v);
    v->kind = V_ARRAY;
    p = skip_ws(p + 1);
    while (*p && *p != ']') {
        if (*p == '#') { /* a comment inside a multi-line array */
            while (*p && *p != '\n')
                p++;
            p = skip_ws(p);
            continue;
        }
        if ((*p != '"' && *p != '\'') || v->count == MAX_VALUES) return NULL;
        p = parse_string(p, &v->items[v->count]);
        if (!p) return NULL;
        v->count++;
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != ']' && *p != '#')
            return NULL;
    }
    return *p == ']' ? p + 1 : NULL;
}

static bool key_is(const char *key, const char *name)
{
    return strcmp(key, name) == 0;
}

static int want(const struct toml_value *v, int kind, const char *key, char *err, size_t cap)
{
    static const char *names[] = {"a string", "an integer", "a boolean", "an array of strings"};
    if ((int)v->kind != kind) return fail(err, cap, "%s must be %s", key, names[kind]);
    return IROH_OK;
}

static int set_string(char *dst, size_t dst_cap, const struct toml_value *v, const char *key,
                      char *err, size_t cap)
{
    int rc = want(v, V_STRING, key, err, cap);
    if (rc < 0) return rc;
    if (strlen(v->items[0]) >= dst_cap) return fail(err, cap, "%s is too long", key);
    snprintf(dst, dst_cap, "%s", v->items[0]);
    return IROH_OK;
}

static int set_u32(uint32_t *dst, const struct toml_value *v, const char *key, char *err,
                   size_t cap)
{
    int rc = want(v, V_INT, key, err, cap);
    if (rc < 0) return rc;
    if (v->num < 0 || v->num > UINT32_MAX) return fail(err, cap, "%s is out of range", key);
    *dst = (uint32_t)v->num;
    return IROH_OK;
}

static int set_bool(bool *dst, const struct toml_value *v, const char *key, char *err, size_t cap)
{
    int rc = want(v, V_BOOL, key, err, cap);
    if (rc == IROH_OK) *dst = v->flag;
    return rc;
}

static int set_access_list(struct relay_config *cfg, enum relay_access_mode mode,
                           const struct toml_value *v, const char *key, char *err, size_t cap)
{
    int rc = want(v, V_ARRAY, key, err, cap);
    if (rc < 0) return rc;
    cfg->access = mode;
    cfg->num_ids = 0;
    clear_tokens(cfg);
    for (size_t i = 0; i < v->count && rc == IROH_OK; i++)
        rc = mode == RELAY_ACCESS_SHARED_TOKEN ? add_token(cfg, v->items[i])
                                               : add_id(cfg, v->items[i], err, cap);
    if (mode == RELAY_ACCESS_SHARED_TOKEN && rc == IROH_OK && v->count == 0)
        return fail(err, cap, "%s must not be empty", key);
    return rc;
}

/* Applies one key (with its table prefix) to cfg. */
static int apply(struct relay_config *cfg, const char *key, const struct toml_value *v, char *err,
                 size_t cap, char *cert_dir, size_t cert_dir_cap)
{
    if (key_is(key, "enable_relay")) return set_bool(&cfg->enable_relay, v, key, err, cap);
    if (key_is(key, "http_bind_addr"))
        return set_string(cfg->http_bind_addr, sizeof cfg->http_bind_addr, v, key, err, cap);
    if (key_is(key, "enable_metrics")) return set_bool(&cfg->enable_metrics, v, key, err, cap);
    if (key_is(key, "metrics_bind_addr"))
        return set_string(cfg->metrics_bind_addr, sizeof cfg->metrics_bind_addr, v, key, err, cap);
    if (key_is(key, "enable_quic_addr_discovery")) {
        bool on = false;
        int rc = set_bool(&on, v, key, err, cap);
        if (rc == IROH_OK && on)
            return fail(err, cap,
                        "enable_quic_addr_discovery is not supported by this relay (see "
                        "iroh-relay(8), QUIC ADDRESS DISCOVERY)");
        return rc;
    }
    if (key_is(key, "key_cache_capacity")) return want(v, V_INT, key, err, cap); /* no cache */
    if (key_is(key, "access")) {
        int rc = want(v, V_STRING, key, err, cap);
        if (rc == IROH_OK && strcmp(v->items[0], "everyone") != 0)
            return fail(err, cap, "access must be \"everyone\" or a table");
        cfg->access = RELAY_ACCESS_EVERYONE;
        return rc;
    }
    if (key_is(key, "access.allowlist"))
        return set_access_list(cfg, RELAY_ACCESS_ALLOWLIST, v, key, err, cap);
    if (key_is(key, "access.denylist"))
        return set_access_list(cfg, RELAY_ACCESS_DENYLIST, v, key, err, cap);
    if (key_is(key, "access.shared_token"))
        return set_access_list(cfg, RELAY_ACCESS_SHARED_TOKEN, v, key, err, cap);
    if (key_is(key, "access.http.url")) {
        cfg->access = RELAY_ACCESS_HTTP;
        return set_string(cfg->callout_url, sizeof cfg->callout_url, v, key, err, cap);
    }
    if (key_is(key, "access.http.bearer_token"))
        return set_string(cfg->callout_bearer, sizeof cfg->callout_bearer, v, key, err, cap);
    if (key_is(key, "access.http.timeout_ms"))
        return set_u32(&cfg->callout_timeout_ms, v, key, err, cap);
    if (key_is(key, "access.http.max_pending"))
        return set_u32(&cfg->callout_max_pending, v, key, err, cap);
    if (strncmp(key, "tls.", 4) == 0) {
        cfg->tls = true;
        const char *k = key + 4;
        if (key_is(k, "https_bind_addr"))
            return set_string(cfg->https_bind_addr, sizeof cfg->https_bind_addr, v, key, err, cap);
        if (key_is(k, "manual_cert_path"))
            return set_string(cfg->cert_path, sizeof cfg->cert_path, v, key, err, cap);
        if (key_is(k, "manual_key_path"))
            return set_string(cfg->key_path, sizeof cfg->key_path, v, key, err, cap);
        if (key_is(k, "cert_dir")) return set_string(cert_dir, cert_dir_cap, v, key, err, cap);
        if (key_is(k, "cert_mode")) {
            int rc = want(v, V_STRING, key, err, cap);
            if (rc == IROH_OK && strcmp(v->items[0], "Manual") != 0)
                return fail(err, cap, "tls.cert_mode \"%s\" is not supported (only \"Manual\")",
                            v->items[0]);
            return rc;
        }
        /* Accepted for compatibility, meaningless without LetsEncrypt or QUIC. */
        if (key_is(k, "hostname") || key_is(k, "prod_tls") || key_is(k, "contact") ||
            key_is(k, "quic_bind_addr"))
            return IROH_OK;
        return fail(err, cap, "unknown key %s", key);
    }
    if (key_is(key, "limits.accept_conn_limit"))
        return set_u32(&cfg->accept_conn_limit, v, key, err, cap);
    if (key_is(key, "limits.accept_conn_burst"))
        return set_u32(&cfg->accept_conn_burst, v, key, err, cap);
    if (key_is(key, "limits.client.rx.bytes_per_second"))
        return set_u32(&cfg->rx_bytes_per_second, v, key, err, cap);
    if (key_is(key, "limits.client.rx.max_burst_bytes"))
        return set_u32(&cfg->rx_max_burst_bytes, v, key, err, cap);
    if (key_is(key, "limits.client.queue_frames"))
        return set_u32(&cfg->queue_frames, v, key, err, cap);
    if (key_is(key, "limits.client.queue_bytes"))
        return set_u32(&cfg->queue_bytes, v, key, err, cap);
    if (key_is(key, "limits.max_connections"))
        return set_u32(&cfg->max_connections, v, key, err, cap);
    if (key_is(key, "timeouts.establish_ms"))
        return set_u32(&cfg->establish_timeout_ms, v, key, err, cap);
    if (key_is(key, "timeouts.ping_interval_ms"))
        return set_u32(&cfg->ping_interval_ms, v, key, err, cap);
    if (key_is(key, "timeouts.pong_ms")) return set_u32(&cfg->pong_timeout_ms, v, key, err, cap);
    if (key_is(key, "timeouts.write_ms")) return set_u32(&cfg->write_timeout_ms, v, key, err, cap);
    if (key_is(key, "log_level"))
        return set_string(cfg->log_level, sizeof cfg->log_level, v, key, err, cap);
    return fail(err, cap, "unknown key %s", key);
}

static char *read_file(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, size = 4096;
    char *buf = malloc(size);
    size_t n;
    while (buf && (n = fread(buf + len, 1, size - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == size) {
            char *grown = size < (1u << 24) ? realloc(buf, size * 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                snprintf(err, cap, "%s is too large", path);
                break;
            }
            buf = grown;
            size *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

int relay_config_load(struct relay_config *cfg, const char *path, char *err, size_t cap)
{
    char *text = read_file(path, err, cap);
    if (!text) return errno == ENOENT ? IROH_ENOTFOUND : IROH_EIO;
    char table[256] = "", cert_dir[RELAY_PATH_LEN] = ".";
    int rc = IROH_OK, line = 1;
    const char *p = text;
    while (rc == IROH_OK && *p) {
        const char *start = p;
        p = skip_ws(p);
        for (const char *q = start; q < p; q++)
            line += *q == '\n';
        if (!*p) break;
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (*p == '[') {
            const char *end = strchr(p, ']');
            if (!end || end - p - 1 >= (long)sizeof table || p[1] == '[') {
                rc = fail(err, cap, "%s:%d: bad table header", path, line);
                break;
            }
            snprintf(table, sizeof table, "%.*s", (int)(end - p - 1), p + 1);
            p = end + 1;
            continue;
        }
        const char *eq = strchr(p, '=');
        const char *nl = strchr(p, '\n');
        if (!eq || (nl && nl < eq)) {
            rc = fail(err, cap, "%s:%d: expected key = value", path, line);
            break;
        }
        const char *kend = eq;
        while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        char key[512];
        snprintf(key, sizeof key, "%s%s%.*s", table, *table ? "." : "", (int)(kend - p), p);
        /* Quoted key parts are not supported; spaces around dots are. */
        char *w = key;
        for (char *r = key; *r; r++)
            if (*r != ' ' && *r != '\t') *w++ = *r;
        *w = '\0';
        struct toml_value v;
        const char *after = parse_value(skip_ws(eq + 1), &v);
        if (!after) {
            value_free(&v);
            rc = fail(err, cap, "%s:%d: cannot parse the value of %s", path, line, key);
            break;
        }
        for (const char *q = p; q < after; q++)
            line += *q == '\n';
        p = after;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '#')
            while (*p && *p != '\n')
                p++;
        if (*p && *p != '\n') {
            value_free(&v);
            rc = fail(err, cap, "%s:%d: unexpected text after the value of %s", path, line, key);
            break;
        }
        char msg[400];
        rc = apply(cfg, key, &v, msg, sizeof msg, cert_dir, sizeof cert_dir);
        if (rc < 0) fail(err, cap, "%s:%d: %s", path, line, msg);
        value_free(&v);
    }
    free(text);
    if (rc < 0) return rc;
    if (cfg->tls && !cfg->cert_path[0])
        snprintf(cfg->cert_path, sizeof cfg->cert_path, "%s/default.crt", cert_dir);
    if (cfg->tls && !cfg->key_path[0])
        snprintf(cfg->key_path, sizeof cfg->key_path, "%s/default.key", cert_dir);
    return IROH_OK;
}

static void usage(void)
{
    printf("usage: iroh-relay [--dev] [-c|--config-path FILE] [options]\n"
           "  --dev                  plain HTTP on 127.0.0.1:3340 (metrics on :9090)\n"
           "  --http-bind ADDR       HTTP listener (default [::]:80)\n"
           "  --https-bind ADDR      HTTPS listener (default [::]:443, with --tls-cert)\n"
           "  --tls-cert FILE        PEM certificate chain; enables HTTPS\n"
           "  --tls-key FILE         PEM private key\n"
           "  --metrics-bind ADDR    Prometheus listener (default <http ip>:9090)\n"
           "  --no-metrics           no metrics listener\n"
           "  --allow ID             admit only these endpoint ids (repeatable)\n"
           "  --deny ID              refuse these endpoint ids (repeatable)\n"
           "  --token TOKEN          admit clients presenting this token (repeatable)\n"
           "  --access-http URL      ask URL (HTTP POST) about every client\n"
           "  --access-http-timeout-ms N   callout timeout (default 5000)\n"
           "  --rx-bytes-per-second N      per-client receive rate limit\n"
           "  --log-level LEVEL      error, warn, info, debug\n"
           "See iroh-relay(8) for the config file.\n");
}

int relay_config_parse_args(struct relay_config *cfg, int argc, char **argv, char *err, size_t cap)
{
    enum {
        O_DEV = 256,
        O_HTTP,
        O_HTTPS,
        O_CERT,
        O_KEY,
        O_METRICS,
        O_NO_METRICS,
        O_ALLOW,
        O_DENY,
        O_TOKEN,
        O_CALLOUT,
        O_CALLOUT_TIMEOUT,
        O_RX,
        O_LOG,
        O_VERSION
    };
    static const struct option opts[] = {
        {"dev", no_argument, NULL, O_DEV},
        {"config-path", required_argument, NULL, 'c'},
        {"http-bind", required_argument, NULL, O_HTTP},
        {"https-bind", required_argument, NULL, O_HTTPS},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"metrics-bind", required_argument, NULL, O_METRICS},
        {"no-metrics", no_argument, NULL, O_NO_METRICS},
        {"allow", required_argument, NULL, O_ALLOW},
        {"deny", required_argument, NULL, O_DENY},
        {"token", required_argument, NULL, O_TOKEN},
        {"access-http", required_argument, NULL, O_CALLOUT},
        {"access-http-timeout-ms", required_argument, NULL, O_CALLOUT_TIMEOUT},
        {"rx-bytes-per-second", required_argument, NULL, O_RX},
        {"log-level", required_argument, NULL, O_LOG},
        {"version", no_argument, NULL, O_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool metrics_set = cfg->metrics_bind_addr[0] != '\0';
    int c, rc = IROH_OK;
    optind = 1;
    while (rc == IROH_OK && (c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case O_DEV:
        case 'c': break; /* handled by main.c's first pass */
        case O_HTTP: snprintf(cfg->http_bind_addr, sizeof cfg->http_bind_addr, "%s", optarg); break;
        case O_HTTPS:
            snprintf(cfg->https_bind_addr, sizeof cfg->https_bind_addr, "%s", optarg);
            break;
        case O_CERT:
            cfg->tls = true;
            snprintf(cfg->cert_path, sizeof cfg->cert_path, "%s", optarg);
            break;
        case O_KEY:
            cfg->tls = true;
            snprintf(cfg->key_path, sizeof cfg->key_path, "%s", optarg);
            break;
        case O_METRICS:
            metrics_set = true;
            cfg->enable_metrics = true;
            snprintf(cfg->metrics_bind_addr, sizeof cfg->metrics_bind_addr, "%s", optarg);
            break;
        case O_NO_METRICS: cfg->enable_metrics = false; break;
        case O_ALLOW:
        case O_DENY: {
            enum relay_access_mode mode =
                c == O_ALLOW ? RELAY_ACCESS_ALLOWLIST : RELAY_ACCESS_DENYLIST;
            if (cfg->access != mode) cfg->num_ids = 0;
            cfg->access = mode;
            rc = add_id(cfg, optarg, err, cap);
            break;
        }
        case O_TOKEN:
            if (cfg->access != RELAY_ACCESS_SHARED_TOKEN) clear_tokens(cfg);
            cfg->access = RELAY_ACCESS_SHARED_TOKEN;
            rc = add_token(cfg, optarg);
            break;
        case O_CALLOUT:
            cfg->access = RELAY_ACCESS_HTTP;
            snprintf(cfg->callout_url, sizeof cfg->callout_url, "%s", optarg);
            break;
        case O_CALLOUT_TIMEOUT:
            cfg->callout_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case O_RX: cfg->rx_bytes_per_second = (uint32_t)strtoul(optarg, NULL, 10); break;
        case O_LOG: snprintf(cfg->log_level, sizeof cfg->log_level, "%s", optarg); break;
        case O_VERSION: printf("iroh-relay %s\n", IROHD_VERSION); return 1;
        case 'h': usage(); return 1;
        default: return fail(err, cap, "unknown option (see --help)");
        }
    }
    if (rc < 0) return rc;
    if (optind < argc) return fail(err, cap, "unexpected argument '%s'", argv[optind]);
    const char *token = getenv("IROH_RELAY_ACCESS_TOKEN");
    if (token && cfg->access == RELAY_ACCESS_SHARED_TOKEN) {
        clear_tokens(cfg);
        if (add_token(cfg, token) < 0) return IROH_ENOMEM;
    }
    const char *bearer = getenv("IROH_RELAY_HTTP_BEARER_TOKEN");
    if (bearer) snprintf(cfg->callout_bearer, sizeof cfg->callout_bearer, "%s", bearer);
    if (!metrics_set) default_metrics_addr(cfg);
    if (cfg->rx_bytes_per_second && !cfg->rx_max_burst_bytes)
        cfg->rx_max_burst_bytes = cfg->rx_bytes_per_second / 10;
    if (cfg->accept_conn_limit && !cfg->accept_conn_burst)
        cfg->accept_conn_burst = cfg->accept_conn_limit;
    return IROH_OK;
}

int relay_config_check(const struct relay_config *cfg, char *err, size_t cap)
{
    if (cfg->access == RELAY_ACCESS_SHARED_TOKEN) {
        if (cfg->num_tokens == 0) return fail(err, cap, "the shared token list is empty");
        for (size_t i = 0; i < cfg->num_tokens; i++)
            if (!cfg->tokens[i][0]) return fail(err, cap, "a shared token is empty");
    }
    if (cfg->access == RELAY_ACCESS_HTTP && strncmp(cfg->callout_url, "http://", 7) != 0)
        return fail(err, cap, "the access callout URL must start with http://");
    if (cfg->tls && (!cfg->cert_path[0] || !cfg->key_path[0]))
        return fail(err, cap, "TLS needs both a certificate and a key file");
    if (cfg->rx_bytes_per_second && cfg->rx_max_burst_bytes < 1)
        return fail(err, cap, "limits.client.rx.max_burst_bytes must be positive");
    if (cfg->queue_frames < 1) return fail(err, cap, "queue_frames must be positive");
    return IROH_OK;
}
