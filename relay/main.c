/* relay/main.c — the iroh-relay program: configuration (defaults, --dev, the config file,
 * flags, environment), logging, signals, and the server on one libuv loop. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/keys.h"
#include "daemon/log.h"
#include "iroh/error.h"
#include "relay/config.h"
#include "relay/server.h"

static struct relay_server *server;
static uv_signal_t sigint, sigterm;

/* SIGINT or SIGTERM: stop serving; the loop ends when every handle is closed. */
static void on_signal(uv_signal_t *sig, int signum)
{
    (void)sig;
    log_info("relay", "signal %d: shutting down", signum);
    relay_server_stop(server);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
}

int main(int argc, char **argv)
{
    /* First pass: --dev and the config path decide the defaults the flags then override. */
    bool dev = false;
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dev") == 0)
            dev = true;
        else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config-path") == 0) &&
                 i + 1 < argc)
            config_path = argv[++i];
        else if (strncmp(argv[i], "--config-path=", 14) == 0)
            config_path = argv[i] + 14;
    }
    if (iroh_keys_init() < 0) {
        fprintf(stderr, "iroh-relay: cannot initialise libsodium\n");
        return 1;
    }
    struct relay_config cfg;
    char err[512];
    relay_config_defaults(&cfg, dev);
    int rc = config_path ? relay_config_load(&cfg, config_path, err, sizeof err) : IROH_OK;
    if (rc == IROH_ENOTFOUND) { /* as upstream: no file, the defaults */
        fprintf(stderr, "iroh-relay: %s: using the defaults\n", err);
        rc = IROH_OK;
    }
    if (rc == IROH_OK) rc = relay_config_parse_args(&cfg, argc, argv, err, sizeof err);
    if (rc == 1) {
        relay_config_free(&cfg);
        return 0;
    }
    if (rc == IROH_OK && dev) cfg.tls = false; /* dev mode ignores [tls], as upstream */
    if (rc == IROH_OK) rc = relay_config_check(&cfg, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "iroh-relay: %s\n", err);
        relay_config_free(&cfg);
        return 2;
    }
    int level = log_level_parse(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "iroh-relay: unknown log level '%s'\n", cfg.log_level);
        relay_config_free(&cfg);
        return 2;
    }
    log_set_stderr_level((enum log_level)level);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t *loop = uv_default_loop();
    rc = relay_server_start(loop, &cfg, &server, err, sizeof err);
    if (rc < 0) {
        log_error("relay", "%s", err);
        uv_run(loop, UV_RUN_DEFAULT); /* let the partial server close its handles */
        relay_config_free(&cfg);
        return 1;
    }
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    relay_config_free(&cfg);
    log_info("relay", "stopped");
    return 0;
}
