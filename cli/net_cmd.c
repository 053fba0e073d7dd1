/* net_cmd.c — `iroh ticket`, `iroh connect` and `iroh listen`: this node's ticket, and
 * netcat-style streams through irohd's endpoint (endpoint.connect / endpoint.listen and
 * conn.open_bi / conn.accept_bi of libiroh-client). stdin goes into the stream (its end
 * finishes the stream), the stream comes out on stdout. iroh.c dispatches to these. */
#include "cli/cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIECE 65536
#define MAX_ADDRS 16
#define MAX_QUEUED 64 /* streams accepted while another one is piped */

/* ---- piping a stream ------------------------------------------------------------------------- */

struct pipe_state {
    bool stdin_open;
    char buf[PIECE]; /* read from stdin, not yet in the stream */
    size_t len, off;
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_interrupts(void)
{
    struct sigaction sa = {.sa_handler = on_interrupt}; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Pipes stdin into the stream fd and the stream to stdout until the peer finishes it (returns
 * EXIT_OK) or it fails; keeps client's messages flowing meanwhile. */
static int pipe_stream(iroh_client *client, int fd, struct pipe_state *ps)
{
    if (!ps->stdin_open) shutdown(fd, SHUT_WR);
    bool sending = true;
    while (!interrupted) {
        struct pollfd p[3] = {
            {iroh_client_fd(client), POLLIN | (iroh_client_wants_write(client) ? POLLOUT : 0), 0},
            {fd, POLLIN | (sending && ps->len > ps->off ? POLLOUT : 0), 0},
            {ps->stdin_open && sending && ps->len == ps->off ? STDIN_FILENO : -1, POLLIN, 0},
        };
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR) continue;
            perror("iroh: poll");
            return EXIT_RPC;
        }
        if (p[0].revents && iroh_client_process(client) < 0) {
            fprintf(stderr, "iroh: irohd went away\n");
            return EXIT_RPC;
        }
        if (p[2].revents) {
            ssize_t n = read(STDIN_FILENO, ps->buf, sizeof ps->buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ps->stdin_open = false;
                shutdown(fd, SHUT_WR);
            } else {
                ps->len = (size_t)n;
                ps->off = 0;
            }
        }
        if ((p[1].revents & POLLOUT) && ps->len > ps->off) {
            ssize_t n = send(fd, ps->buf + ps->off, ps->len - ps->off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) ps->off += (size_t)n;
            if (n < 0 && errno != EAGAIN && errno != EINTR) sending = false; /* peer stopped */
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            char out[PIECE];
            ssize_t n = recv(fd, out, sizeof out, MSG_DONTWAIT);
            if (n == 0) return EXIT_OK;
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                fprintf(stderr, "iroh: the stream was reset: %s\n", strerror(errno));
                return EXIT_RPC;
            }
            if (n > 0 && !cli_write_all(STDOUT_FILENO, out, (size_t)n)) return EXIT_RPC;
        }
    }
    return EXIT_RPC;
}

static int failed(const char *what)
{
    fprintf(stderr, "iroh: %s: %s\n", what, iroh_last_error());
    return EXIT_RPC;
}

/* ---- iroh ticket ----------------------------------------------------------------------------- */

int cli_cmd_ticket(const struct options *opts, int argc, char **argv)
{
    if (argc > 0) return cli_usage_error("ticket", "unexpected argument: ", argv[0]);
    iroh_client *client;
    int rc = cli_open_client(opts, &client);
    if (rc != EXIT_OK) return rc;
    char ticket[4096];
    if (iroh_endpoint_ticket(client, ticket, sizeof ticket) < 0) {
        rc = failed("endpoint.ticket");
    } else if (opts->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ticket", json_object_new_string(ticket));
        cli_print_json(o);
        json_object_put(o);
    } else {
        printf("%s\n", ticket);
    }
    iroh_client_close(client);
    return rc;
}

/* ---- iroh connect ---------------------------------------------------------------------------- */

int cli_cmd_connect(const struct options *opts, int argc, char **argv)
{
    const char *target = NULL, *alpn = NULL;
    const char *addrs[MAX_ADDRS];
    size_t n_addrs = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--alpn") == 0 && i + 1 < argc)
            alpn = argv[++i];
        else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc && n_addrs < MAX_ADDRS)
            addrs[n_addrs++] = argv[++i];
        else if (argv[i][0] != '-' && !target)
            target = argv[i];
        else
            return cli_usage_error("connect", "unexpected argument: ", argv[i]);
    }
    if (!target) return cli_usage_error("connect", "missing TICKET or ID", NULL);
    if (!alpn) return cli_usage_error("connect", "missing --alpn ALPN", NULL);
    bool is_ticket = strncmp(target, "endpoint", 8) == 0;
    if (!is_ticket && n_addrs == 0)
        return cli_usage_error("connect", "an ID needs at least one --addr IP:PORT", NULL);
    iroh_client *client;
    int rc = cli_open_client(opts, &client);
    if (rc != EXIT_OK) return rc;
    catch_interrupts();
    int timeout = opts->timeout_set && opts->timeout_ms > 0 ? opts->timeout_ms : 0;
    uint64_t conn;
    int fd = -1;
    if ((is_ticket ? iroh_endpoint_connect(client, target, alpn, timeout, &conn)
                   : iroh_endpoint_connect_addrs(client, target, addrs, n_addrs, alpn, timeout,
                                                 &conn)) < 0) {
        rc = failed("cannot connect");
    } else if (iroh_conn_open_bi(client, conn, &fd) < 0) {
        rc = failed("cannot open a stream");
    } else {
        static struct pipe_state ps = {.stdin_open = true};
        rc = pipe_stream(client, fd, &ps);
        close(fd);
        iroh_conn_close(client, conn, 0, "done");
    }
    iroh_client_close(client);
    return rc;
}

/* ---- iroh listen ----------------------------------------------------------------------------- */

struct listen_state {
    int queued[MAX_QUEUED]; /* stream fds waiting for their turn */
    size_t n_queued;
};

static void on_stream(iroh_client *client, int status, uint64_t conn, int fd, void *userdata);

static void accept_next(iroh_client *client, uint64_t conn, struct listen_state *ls)
{
    if (iroh_conn_accept_bi_async(client, conn, on_stream, ls) < 0)
        fprintf(stderr, "iroh: connection %llu: %s\n", (unsigned long long)conn, iroh_last_error());
}

static void on_stream(iroh_client *client, int status, uint64_t conn, int fd, void *userdata)
{
    struct listen_state *ls = userdata;
    if (status < 0) {
        fprintf(stderr, "iroh: connection %llu ended\n", (unsigned long long)conn);
        return;
    }
    if (ls->n_queued == MAX_QUEUED) {
        close(fd);
    } else {
        ls->queued[ls->n_queued++] = fd;
    }
    accept_next(client, conn, ls);
}

static void on_incoming(iroh_client *client, const char *method, const char *params, void *userdata)
{
    iroh_incoming in;
    if (iroh_incoming_parse(method, params, &in) < 0) return;
    fprintf(stderr, "iroh: connection %llu from %s\n", (unsigned long long)in.conn, in.remote);
    accept_next(client, in.conn, userdata);
}

int cli_cmd_listen(const struct options *opts, int argc, char **argv)
{
    const char *alpn = NULL;
    bool once = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--alpn") == 0 && i + 1 < argc)
            alpn = argv[++i];
        else if (strcmp(argv[i], "--once") == 0)
            once = true;
        else
            return cli_usage_error("listen", "unexpected argument: ", argv[i]);
    }
    if (!alpn) return cli_usage_error("listen", "missing --alpn ALPN", NULL);
    iroh_client *client;
    int rc = cli_open_client(opts, &client);
    if (rc != EXIT_OK) return rc;
    catch_interrupts();
    char ticket[4096];
    if (iroh_endpoint_listen(client, alpn, NULL) < 0) {
        iroh_client_close(client);
        return failed("cannot listen");
    }
    if (iroh_endpoint_ticket(client, ticket, sizeof ticket) == 0)
        fprintf(stderr, "iroh: listening on %s; dial with: iroh connect %s --alpn %s\n", alpn,
                ticket, alpn);
    static struct listen_state ls;
    static struct pipe_state ps = {.stdin_open = true};
    iroh_client_on_notification(client, on_incoming, &ls);
    while (!interrupted) {
        if (ls.n_queued > 0) {
            int fd = ls.queued[0];
            memmove(&ls.queued[0], &ls.queued[1], --ls.n_queued * sizeof fd);
            int piped = pipe_stream(client, fd, &ps);
            close(fd);
            if (once) {
                rc = piped;
                break;
            }
            continue;
        }
        struct pollfd p = {iroh_client_fd(client),
                           POLLIN | (iroh_client_wants_write(client) ? POLLOUT : 0), 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
        if (p.revents && iroh_client_process(client) < 0) {
            fprintf(stderr, "iroh: irohd went away\n");
            rc = EXIT_RPC;
            break;
        }
    }
    while (ls.n_queued > 0)
        close(ls.queued[--ls.n_queued]);
    iroh_client_close(client);
    return rc;
}
