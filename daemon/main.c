/* main.c — irohd's start-up and shut-down: settings, data dir lock, identity, database, the
 * API server and services on one libuv loop; SIGINT/SIGTERM or node.shutdown stop it cleanly
 * (socket removed, database closed, lock released). */
#include <errno.h>
#include <iroh/error.h>
#include <libgen.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/keys.h"
#include "daemon/blobs_fetch.h"
#include "daemon/blobs_provider.h"
#include "daemon/blobs_share.h"
#include "daemon/blobs_service.h"
#include "daemon/config.h"
#include "daemon/datadir.h"
#include "daemon/endpoint_service.h"
#include "daemon/identity.h"
#include "daemon/log.h"
#include "daemon/node_service.h"
#include "daemon/rpc_server.h"
#include "ipc/api.h"
#include "ipc/paths.h"
#include "storage/blob_store.h"
#include "storage/db.h"

struct daemon {
    uv_loop_t loop;
    struct config config;
    struct datadir dir;
    sqlite3 *db;
    struct blob_store *blobs;
    struct rpc_api *api;
    struct rpc_server *server;
    struct node_service *node;
    struct blobs_service *blobs_service;
    struct blobs_fetch *blobs_fetch;
    struct blobs_provider *blobs_provider;
    struct blobs_share *blobs_share;
    struct endpoint_service *endpoint;
    uv_signal_t sigint, sigterm;
    uv_timer_t shutdown_timer;
    int stopping;
};

static void on_server_stopped(void *arg)
{
    struct daemon *d = arg;
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->shutdown_timer, NULL);
}

/* Runs from the loop, never from inside a handler, so no caller is on the stack. */
static void on_shutdown_timer(uv_timer_t *timer)
{
    struct daemon *d = timer->data;
    log_info("irohd", "stopping");
    node_service_stop(d->node);
    d->node = NULL;
    if (d->blobs_service) blobs_service_stop(d->blobs_service);
    d->blobs_service = NULL;
    if (d->blobs_fetch) blobs_fetch_stop(d->blobs_fetch);
    d->blobs_fetch = NULL;
    if (d->blobs_share) blobs_share_stop(d->blobs_share);
    d->blobs_share = NULL;
    if (d->blobs_provider) blobs_provider_stop(d->blobs_provider);
    d->blobs_provider = NULL;
    if (d->endpoint) endpoint_service_stop(d->endpoint);
    d->endpoint = NULL;
    rpc_server_stop(d->server, on_server_stopped, d);
}

static void request_shutdown(void *arg)
{
    struct daemon *d = arg;
    if (d->stopping++) return;
    uv_timer_start(&d->shutdown_timer, on_shutdown_timer, 0, 0);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;
    if (d->stopping) {
        log_warn("irohd", "%s again: exiting at once", strsignal(signum));
        _exit(1);
    }
    log_info("irohd", "%s received", strsignal(signum));
    request_shutdown(d);
}

/* The default socket's directory must be ours alone: in /tmp anyone could have made it. */
static int prepare_socket_dir(const char *socket_path, int is_default, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", socket_path);
    const char *dir = dirname(buf);
    struct stat st;
    if (lstat(dir, &st) < 0) {
        if (errno != ENOENT || make_dirs(dir, 0700) < 0) {
            snprintf(err, errlen, "cannot create socket directory %s: %s", dir, strerror(errno));
            return IROH_EIO;
        }
        return 0;
    }
    if (is_default && (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))) {
        snprintf(err, errlen,
                 "socket directory %s must be a directory of uid %u with mode 0700; remove it "
                 "or pass --socket",
                 dir, (unsigned)geteuid());
        return IROH_EPERM;
    }
    return 0;
}

/* Hundreds of clients, each with a socket and passed fds, need more than 1024 descriptors. */
static void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

static void on_blob_changed(void *provider, const uint8_t hash[BLOB_HASH_LEN])
{
    blobs_provider_blob_changed(provider, hash);
}

static int start(struct daemon *d, int argc, char **argv, char *err, size_t errlen)
{
    int rc = config_load(&d->config, argc, argv, err, errlen);
    if (rc != 0) return rc;
    log_set_stderr_level(d->config.log_level);
    if (iroh_keys_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return IROH_EIO;
    }
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    umask(077); /* everything irohd writes belongs to this user alone */

    char default_socket[PATH_MAX] = "";
    ipc_default_socket_path(default_socket, sizeof default_socket);
    int is_default = strcmp(default_socket, d->config.socket_path) == 0;
    if ((rc = prepare_socket_dir(d->config.socket_path, is_default, err, errlen)) < 0) return rc;
    if ((rc = datadir_open(&d->dir, d->config.data_dir, d->config.socket_path, err, errlen)) < 0)
        return rc;

    char path[PATH_MAX];
    struct iroh_secret_key secret;
    struct node_info info = {.data_dir = d->dir.path, .socket_path = d->config.socket_path};
    datadir_file(&d->dir, "secret.key", path, sizeof path);
    rc = identity_load_or_create(path, &secret, err, errlen);
    if (rc < 0) return rc;
    iroh_secret_key_public(&secret, &info.id);
    if (rc == 1) log_info("irohd", "created a new node identity in %s", path);

    char id_hex[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&info.id, id_hex, sizeof id_hex);
    datadir_file(&d->dir, "irohd.db", path, sizeof path);
    if ((rc = storage_db_open(path, id_hex, &d->db, err, errlen)) < 0) return rc;
    char blobs_dir[PATH_MAX];
    datadir_file(&d->dir, "blobs", blobs_dir, sizeof blobs_dir);
    struct blob_error berr = {""};
    if ((rc = blob_store_open(path, blobs_dir, &d->blobs, &berr)) < 0) {
        snprintf(err, errlen, "cannot open the blob store: %s", berr.detail);
        return rc;
    }
    const struct blob_recovery *rec = blob_store_recovery(d->blobs);
    if (rec->temp_files || rec->orphan_files || rec->lost_entries || rec->reset_partial)
        log_warn("blobs",
                 "recovered the blob store: removed %u temp files and %u unclaimed files; %u "
                 "blobs had lost their files and were dropped; %u partial blobs restart empty",
                 rec->temp_files, rec->orphan_files, rec->lost_entries, rec->reset_partial);

    if ((rc = rpc_api_parse(rpc_api_json, rpc_api_json_len, &d->api, err, errlen)) < 0) return rc;
    uv_loop_init(&d->loop);
    struct rpc_server_options options = {
        .socket_path = d->config.socket_path,
        .max_clients = d->config.max_clients,
        .client_output_limit = d->config.client_output_limit,
    };
    if ((rc = rpc_server_start(&d->loop, &options, d->api, &d->server, err, errlen)) < 0) return rc;
    info.started_ns = uv_hrtime();
    const char *relays[CONFIG_MAX_RELAYS];
    for (size_t i = 0; i < d->config.n_relays; i++)
        relays[i] = d->config.relays[i];
    struct endpoint_options endpoint_options = {
        .secret = &secret,
        .bind = *d->config.bind ? d->config.bind : NULL,
        .relays = relays,
        .n_relays = d->config.n_relays,
        .no_relay = d->config.no_relay,
        .relay_ca_file = *d->config.relay_ca_file ? d->config.relay_ca_file : NULL,
        .relay_token = *d->config.relay_token ? d->config.relay_token : NULL,
        .retry_always = d->config.retry_always,
    };
    if ((rc = endpoint_service_start(&d->loop, d->server, &endpoint_options, &d->endpoint, err,
                                     errlen)) < 0)
        return rc;
    info.endpoint = endpoint_service_endpoint(d->endpoint);
    if ((rc = node_service_start(d->server, &info, request_shutdown, d, &d->node)) < 0) {
        snprintf(err, errlen, "cannot start the node service: %s", iroh_strerror(rc));
        return rc;
    }
    if ((rc = blobs_service_start(&d->loop, d->server, d->blobs, &d->blobs_service)) < 0) {
        snprintf(err, errlen, "cannot start the blobs service: %s", iroh_strerror(rc));
        return rc;
    }
    if ((rc = blobs_fetch_start(&d->loop, d->server, endpoint_service_endpoint(d->endpoint),
                                d->blobs, &d->blobs_fetch)) < 0) {
        snprintf(err, errlen, "cannot start the downloader: %s", iroh_strerror(rc));
        return rc;
    }
    struct blobs_provider_options provider = {
        .push_allow = d->config.blobs_push_allow,
        .push_allow_count = d->config.n_blobs_push_allow,
        .max_requests = (unsigned)d->config.blobs_max_requests,
        .max_conn_requests = (unsigned)d->config.blobs_max_conn_requests,
    };
    struct endpoint *ep = endpoint_service_endpoint(d->endpoint);
    if ((rc = blobs_provider_start(&d->loop, ep, d->blobs, &provider, &d->blobs_provider)) < 0 ||
        (rc = blobs_share_start(&d->loop, d->server, ep, d->blobs, d->blobs_provider,
                                &d->blobs_share)) < 0) {
        snprintf(err, errlen, "cannot start the blobs provider: %s", iroh_strerror(rc));
        return rc;
    }
    /* Observe requests hear of the blobs that downloads, adds, deletes and GCs change. */
    const struct blob_changes changes = {on_blob_changed, d->blobs_provider};
    blobs_service_set_changes(d->blobs_service, &changes);
    blobs_fetch_set_changes(d->blobs_fetch, &changes);
    if ((rc = rpc_server_check_complete(d->server, err, errlen)) < 0) return rc;

    uv_timer_init(&d->loop, &d->shutdown_timer);
    d->shutdown_timer.data = d;
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    d->sigint.data = d->sigterm.data = d;
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);

    printf("irohd %s is running\n"
           "endpoint id: %s\n"
           "ticket:      %s\n"
           "socket:      %s\n"
           "data dir:    %s\n"
           "Ask it with 'iroh status'; stop it with Ctrl-C or 'iroh shutdown'.\n",
           IROHD_VERSION, id_hex, node_service_ticket(d->node), d->config.socket_path, d->dir.path);
    fflush(stdout);
    log_info("irohd", "node %s serving %s", id_hex, d->config.socket_path);
    return 0;
}

/* Runs the loop until no handle is left. After each round of events the loop spins briefly
 * (busy-polls its epoll fd) before sleeping: a client waiting for its answer usually sends
 * the next request within microseconds, and waking a sleeping CPU costs far more than that
 * (cross-CPU wake-ups are ~30 us on small VMs). The spin only follows activity, so an idle
 * daemon uses no CPU. */
static void run_loop(uv_loop_t *loop, unsigned spin_us)
{
    while (uv_run(loop, UV_RUN_ONCE)) {
        uint64_t until = uv_hrtime() + spin_us * 1000ull;
        struct pollfd backend = {uv_backend_fd(loop), POLLIN, 0};
        /* Yielding lets clients on this CPU run; the CPU still never goes idle. */
        while (uv_hrtime() < until && poll(&backend, 1, 0) == 0)
            sched_yield();
    }
}

int main(int argc, char **argv)
{
    static struct daemon d = {.dir.lock_fd = -1};
    char err[1024] = "";
    int rc = start(&d, argc, argv, err, sizeof err);
    if (rc == 0) {
        run_loop(&d.loop, d.config.busy_poll_us);
        uv_loop_close(&d.loop);
        log_info("irohd", "stopped");
    } else if (rc < 0) {
        fprintf(stderr, "irohd: %s\n", *err ? err : iroh_strerror(rc));
    }
    blob_store_close(d.blobs); /* after the loop: every job has come back */
    if (d.db) storage_db_close(d.db);
    rpc_api_free(d.api);
    datadir_close(&d.dir);
    return rc < 0 ? 1 : 0;
}
