/* echo.c — iroh's echo example as an app behind irohd (ALPN iroh-example/echo/0):
 *   iroh-example-echo accept            prints this node's ticket as its first line, then
 *                                       echoes every bidirectional stream of every
 *                                       connection until killed
 *   iroh-example-echo connect TICKET    sends stdin (a greeting if stdin is a terminal) on
 *                                       --streams N streams (default 1) at once, checks that
 *                                       each echo equals what was sent, exits 0 if so
 * Options: --socket PATH (irohd's API socket), --alpn ALPN. Streams are plain socket fds:
 * the server echoes each in a thread, the client drives its streams with poll(). Build it
 * against an installed library with:
 *   cc echo.c $(pkg-config --cflags --libs iroh-client) -lpthread -o iroh-example-echo */
#include <errno.h>
#include <fcntl.h>
#include <iroh/client.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ALPN "iroh-example/echo/0"
#define MAX_STREAMS 16
#define PIECE 65536

static const char *alpn = ALPN;

/* ---- accept ---------------------------------------------------------------------------------- */

static void *echo_stream(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static _Thread_local char buf[PIECE];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        for (ssize_t off = 0; n > 0 && off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) goto out;
            off += w;
        }
out:
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void on_stream(iroh_client *client, int status, uint64_t conn, int fd, void *userdata);

static void accept_next(iroh_client *client, uint64_t conn)
{
    if (iroh_conn_accept_bi_async(client, conn, on_stream, NULL) < 0)
        fprintf(stderr, "conn %llu: %s\n", (unsigned long long)conn, iroh_last_error());
}

static void on_stream(iroh_client *client, int status, uint64_t conn, int fd, void *userdata)
{
    (void)userdata;
    if (status < 0) return; /* the connection closed */
    pthread_t t;
    if (pthread_create(&t, NULL, echo_stream, (void *)(intptr_t)fd) != 0) {
        close(fd);
    } else {
        pthread_detach(t);
    }
    accept_next(client, conn);
}

static void on_notification(iroh_client *client, const char *method, const char *params_json,
                            void *userdata)
{
    (void)userdata;
    iroh_incoming in;
    if (iroh_incoming_parse(method, params_json, &in) < 0) return;
    fprintf(stderr, "connection %llu from %.10s\n", (unsigned long long)in.conn, in.remote);
    accept_next(client, in.conn);
}

static int serve(iroh_client *client)
{
    char ticket[4096];
    if (iroh_endpoint_listen(client, alpn, NULL) < 0 ||
        iroh_endpoint_ticket(client, ticket, sizeof ticket) < 0) {
        fprintf(stderr, "cannot listen on %s: %s\n", alpn, iroh_last_error());
        return 1;
    }
    printf("%s\n", ticket);
    fflush(stdout);
    iroh_client_on_notification(client, on_notification, NULL);
    for (;;) {
        struct pollfd p = {iroh_client_fd(client),
                           POLLIN | (iroh_client_wants_write(client) ? POLLOUT : 0), 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) return 1;
        int rc = iroh_client_process(client);
        if (rc < 0) {
            fprintf(stderr, "irohd went away: %s\n", iroh_strerror(rc));
            return 1;
        }
    }
}

/* ---- connect --------------------------------------------------------------------------------- */

struct out_stream {
    int fd;
    size_t sent, got;
    int eof, mismatch;
};

static int read_input(char **data, size_t *len)
{
    if (isatty(STDIN_FILENO)) {
        *data = strdup("hello from an app behind irohd\n");
        *len = strlen(*data);
        return *data ? 0 : -1;
    }
    size_t cap = PIECE;
    *data = malloc(cap);
    *len = 0;
    ssize_t n;
    while (*data && (n = read(STDIN_FILENO, *data + *len, cap - *len)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        *len += (size_t)n;
        if (*len == cap) *data = realloc(*data, cap *= 2);
    }
    return *data ? 0 : -1;
}

/* Sends data on every stream and checks every echo, all streams at once. */
static int run_streams(struct out_stream *st, int n, const char *data, size_t len)
{
    static char buf[PIECE];
    int left = n;
    for (int i = 0; i < n && len == 0; i++)
        shutdown(st[i].fd, SHUT_WR);
    while (left > 0) {
        struct pollfd p[MAX_STREAMS];
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){st[i].eof ? -1 : st[i].fd,
                                   POLLIN | (st[i].sent < len ? POLLOUT : 0), 0};
        if (poll(p, (nfds_t)n, 30000) <= 0) {
            fprintf(stderr, "no progress for 30 s\n");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct out_stream *s = &st[i];
            if ((p[i].revents & POLLOUT) && s->sent < len) {
                ssize_t w = send(s->fd, data + s->sent, len - s->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (w > 0 && (s->sent += (size_t)w) == len) shutdown(s->fd, SHUT_WR);
            }
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t r = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) {
                if (s->got + (size_t)r > len || memcmp(buf, data + s->got, (size_t)r) != 0)
                    s->mismatch = 1;
                s->got += (size_t)r;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                s->eof = 1;
                left--;
            }
        }
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (st[i].mismatch || st[i].got != len || st[i].sent != len) {
            fprintf(stderr, "stream %d: sent %zu of %zu, echo of %zu bytes %s\n", i, st[i].sent,
                    len, st[i].got, st[i].mismatch ? "differs" : "is short");
            bad = 1;
        }
        close(st[i].fd);
    }
    return bad;
}

static int dial(iroh_client *client, const char *ticket, int streams)
{
    char *data;
    size_t len;
    if (read_input(&data, &len) < 0) {
        fprintf(stderr, "cannot read stdin\n");
        return 1;
    }
    uint64_t conn;
    if (iroh_endpoint_connect(client, ticket, alpn, 10000, &conn) < 0) {
        fprintf(stderr, "cannot connect: %s\n", iroh_last_error());
        free(data);
        return 1;
    }
    struct out_stream st[MAX_STREAMS] = {0};
    for (int i = 0; i < streams; i++) {
        if (iroh_conn_open_bi(client, conn, &st[i].fd) < 0) {
            fprintf(stderr, "cannot open a stream: %s\n", iroh_last_error());
            free(data);
            return 1;
        }
    }
    int rc = run_streams(st, streams, data, len);
    if (rc == 0) fprintf(stderr, "echoed %zu bytes on %d stream(s)\n", len, streams);
    iroh_conn_close(client, conn, 0, "done");
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    const char *socket = NULL, *mode = NULL, *ticket = NULL;
    int streams = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            socket = argv[++i];
        else if (strcmp(argv[i], "--alpn") == 0 && i + 1 < argc)
            alpn = argv[++i];
        else if (strcmp(argv[i], "--streams") == 0 && i + 1 < argc)
            streams = atoi(argv[++i]);
        else if (!mode)
            mode = argv[i];
        else if (!ticket)
            ticket = argv[i];
    }
    int ok_mode = mode && ((strcmp(mode, "accept") == 0 && !ticket) ||
                           (strcmp(mode, "connect") == 0 && ticket));
    if (!ok_mode || streams < 1 || streams > MAX_STREAMS) {
        fprintf(stderr, "usage: iroh-example-echo [--socket PATH] [--alpn ALPN] accept\n"
                        "       iroh-example-echo [--socket PATH] [--alpn ALPN] [--streams N] "
                        "connect TICKET\n");
        return 2;
    }
    iroh_client *client;
    int rc = iroh_client_connect(socket, &client);
    if (rc < 0) {
        fprintf(stderr, "cannot reach irohd: %s\n", iroh_strerror(rc));
        return 1;
    }
    rc = strcmp(mode, "accept") == 0 ? serve(client) : dial(client, ticket, streams);
    iroh_client_close(client);
    return rc;
}
