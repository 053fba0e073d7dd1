/* test_robustness.c — the real irohd binary (IROHD_PATH) against hostile and careless clients,
 * spoken to over raw Unix sockets (no client library, so the server itself is tested):
 * malformed JSON, wrong params, batches (mixed, empty, notifications only), a line over
 * 16 MiB, clients vanishing mid-message or before their answer, 500 concurrent clients, a
 * client that never reads (dropped at its output limit while others are answered promptly),
 * "fds" claims without fds, passed fds closed by the daemon, a client of another uid; then
 * the daemon's life cycle: a second irohd on the same data dir or socket, a stale socket
 * after kill -9, secret.key with a loose mode or malformed, SIGTERM. Every connection the
 * test closes must also be closed by the daemon (its client count comes back down).
 * The daemons' stderr goes to files in the temp dir, printed when a check fails. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "tests/unit/send_fds.h"

#ifndef IROHD_PATH
#error "IROHD_PATH must name the irohd binary"
#endif

#define MAX_LINE (16u * 1024 * 1024) /* the API's documented limit */

/* ---- processes ------------------------------------------------------------------------- */

static char tmpdir[64];
static char main_sock[128], main_data[128], main_err[128], main_config[128];
static pid_t main_pid = -1;

struct child {
    pid_t pid;
    char errpath[160];
};
static struct child children[32];
static size_t nchildren;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Kills every child still running (used at exit, on timeout and from the alarm handler, so
 * only async-signal-safe calls). */
static void kill_children(void)
{
    for (size_t i = 0; i < nchildren; i++) {
        if (children[i].pid <= 0) continue;
        kill(children[i].pid, SIGKILL);
        waitpid(children[i].pid, NULL, 0);
        children[i].pid = -1;
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_robustness: overall deadline passed; killing irohd\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    kill_children();
    _exit(1);
}

static struct child *child_of(pid_t pid)
{
    for (size_t i = 0; i < nchildren; i++)
        if (children[i].pid == pid) return &children[i];
    return NULL;
}

/* Starts irohd with the given arguments (NULL-terminated), stdout and stderr appended to
 * errpath. Returns its pid. */
static pid_t spawn_irohd(const char *errpath, const char *const *args)
{
    if (nchildren == sizeof children / sizeof children[0]) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        int out = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(out, 1);
        dup2(out, 2);
        char *argv[16];
        size_t n = 0;
        argv[n++] = (char *)"irohd";
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(IROHD_PATH, argv);
        _exit(127);
    }
    if (pid > 0) {
        children[nchildren].pid = pid;
        snprintf(children[nchildren].errpath, sizeof children[nchildren].errpath, "%s", errpath);
        nchildren++;
    }
    return pid;
}

/* Waits up to timeout_ms for pid to exit. Returns 1 and its wait status, or 0. */
static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = now_ms() + timeout_ms;
    do {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid) {
            struct child *c = child_of(pid);
            if (c) c->pid = -1;
            return 1;
        }
        if (got < 0) return 0;
        sleep_ms(5);
    } while (now_ms() < deadline);
    return 0;
}

static int connect_to(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Waits up to 15 s until irohd accepts connections on sock. Returns 0, or -1 if it exited
 * or the deadline passed. */
static int wait_ready(pid_t pid, const char *sock)
{
    int64_t deadline = now_ms() + 15000;
    while (now_ms() < deadline) {
        int fd = connect_to(sock);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            struct child *c = child_of(pid);
            if (c) c->pid = -1;
            fprintf(stderr, "irohd exited before listening (status 0x%x)\n", status);
            return -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "irohd did not listen on %s within 15 s\n", sock);
    return -1;
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void print_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    fprintf(stderr, "---- %s ----\n", path);
    char line[2048];
    int lines = 0;
    while (fgets(line, sizeof line, f) && lines++ < 400)
        fputs(line, stderr);
    fclose(f);
    fprintf(stderr, "---- end of %s ----\n", path);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- raw JSON-RPC connections ------------------------------------------------------------ */

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static int conn_open(struct conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->fd = connect_to(path);
    return c->fd < 0 ? -1 : 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Sends all of text (plus a newline if nl), waiting at most 10 s. Returns 0 or -errno. */
static int conn_send(struct conn *c, const char *text, size_t len, int nl)
{
    int64_t deadline = now_ms() + 10000;
    size_t off = 0;
    while (off < len + (nl ? 1 : 0)) {
        const char *p = off < len ? text + off : "\n";
        size_t n = off < len ? len - off : 1;
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) return -errno;
        if (now_ms() > deadline) return -ETIMEDOUT;
        struct pollfd pfd = {c->fd, POLLOUT, 0};
        poll(&pfd, 1, 50);
    }
    return 0;
}

static int conn_send_str(struct conn *c, const char *line)
{
    return conn_send(c, line, strlen(line), 1);
}

/* Reads one line. Returns 1 with *line (caller frees), 0 at end of stream (or a reset), or -1
 * when timeout_ms passes first. */
static int conn_read_line(struct conn *c, int timeout_ms, char **line)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            *line = malloc(n + 1);
            if (!*line) return -1;
            memcpy(*line, c->buf, n);
            (*line)[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) return -1;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)(left > 100 ? 100 : left)) <= 0) continue;
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 131072;
            char *grown = realloc(c->buf, cap);
            if (!grown) return -1;
            c->buf = grown;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) return 0;
        if (n < 0 && errno != EAGAIN && errno != EINTR) return 0;
        if (n > 0) c->len += (size_t)n;
    }
}

/* Reads one line and parses it as JSON; NULL on timeout, end of stream or bad JSON. */
static json_object *conn_read_json(struct conn *c, int timeout_ms)
{
    char *line = NULL;
    if (conn_read_line(c, timeout_ms, &line) != 1) return NULL;
    json_object *msg = json_tokener_parse(line);
    if (!msg) fprintf(stderr, "not JSON from irohd: %.200s\n", line);
    free(line);
    return msg;
}

static json_object *conn_call(struct conn *c, const char *request)
{
    if (conn_send_str(c, request) < 0) return NULL;
    return conn_read_json(c, 10000);
}

/* Whether the daemon closed the connection within timeout_ms (pending lines are skipped). */
static int conn_closed_by_peer(struct conn *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        char *line = NULL;
        int64_t left = deadline - now_ms();
        if (left <= 0) return 0;
        int rc = conn_read_line(c, (int)left, &line);
        free(line);
        if (rc == 0) return 1;
        if (rc < 0) return 0;
    }
}

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

/* Checks that msg is an error response with code and kind (and id when id_int >= 0, or id
 * null when id_int == -1). */
#define CHECK_ERROR(msg, code, kind, id_int)                                                       \
    do {                                                                                           \
        json_object *m_ = (msg), *e_ = member(m_, "error");                                        \
        CHECK(m_ != NULL);                                                                         \
        CHECK(e_ != NULL);                                                                         \
        CHECK_EQ_INT(json_object_get_int(member(e_, "code")), (code));                             \
        CHECK_EQ_STR(json_object_get_string(member(member(e_, "data"), "kind")), (kind));          \
        CHECK(json_object_get_string_len(member(e_, "message")) > 0);                              \
        CHECK_EQ_STR(json_object_get_string(member(m_, "jsonrpc")), "2.0");                        \
        json_object *id_ = (json_object *)1;                                                       \
        CHECK(json_object_object_get_ex(m_, "id", &id_));                                          \
        if ((id_int) == -1)                                                                        \
            CHECK(id_ == NULL);                                                                    \
        else if ((id_int) >= 0)                                                                    \
            CHECK_EQ_INT(json_object_get_int64(id_), (id_int));                                    \
        if (!e_ && m_) fprintf(stderr, "got: %s\n", json_object_to_json_string(m_));               \
    } while (0)

/* A node.status result with the given id? Returns the result (borrowed) or NULL. */
static json_object *status_result(json_object *msg, int64_t id)
{
    json_object *r = member(msg, "result");
    if (!r || json_object_get_int64(member(msg, "id")) != id) {
        if (msg)
            fprintf(stderr, "not a status result %lld: %s\n", (long long)id,
                    json_object_to_json_string(msg));
        return NULL;
    }
    if (json_object_get_string_len(member(r, "id")) != 64) return NULL;
    return r;
}

/* node.status on c; returns its "clients" or -1. */
static int status_clients(struct conn *c)
{
    json_object *msg =
        conn_call(c, "{\"jsonrpc\":\"2.0\",\"id\":424242,\"method\":\"node.status\"}");
    json_object *r = status_result(msg, 424242);
    int clients = r ? json_object_get_int(member(r, "clients")) : -1;
    json_object_put(msg);
    return clients;
}

static struct conn observer; /* one connection kept open through the whole run */

/* The daemon serves exactly `want` clients (besides the observer) within 10 s. */
static int clients_settle(int want)
{
    int64_t deadline = now_ms() + 10000;
    int got = -1;
    while (now_ms() < deadline) {
        got = status_clients(&observer) - 1;
        if (got == want) return 1;
        sleep_ms(20);
    }
    fprintf(stderr, "irohd still has %d other clients, expected %d\n", got, want);
    return 0;
}

static const char STATUS_1[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\"}";

/* Connects c to sock and calls node.status there, which must answer as the irohd of pid.
 * Returns the answer (the caller puts it); c stays open. */
static json_object *open_and_status(struct conn *c, const char *sock, pid_t pid)
{
    CHECK_EQ_INT(conn_open(c, sock), 0);
    json_object *msg = conn_call(c, STATUS_1);
    json_object *r = status_result(msg, 1);
    CHECK(r != NULL);
    CHECK_EQ_INT(json_object_get_int(member(r, "pid")), pid);
    return msg;
}

/* The node.status calls a second client makes while another one misbehaves. */
struct status_probe {
    int calls, bad;  /* calls made; answers that were not a status result */
    int64_t slowest; /* ms */
};

/* One node.status call on c, counted and timed into p. */
static void probe_status(struct conn *c, struct status_probe *p)
{
    int64_t t0 = now_ms();
    json_object *msg = conn_call(c, STATUS_1);
    if (!status_result(msg, 1)) p->bad++;
    json_object_put(msg);
    int64_t took = now_ms() - t0;
    if (took > p->slowest) p->slowest = took;
    p->calls++;
}

/* At least min_calls calls were made and every one was answered right. The calls are made
 * between steps of the other client's misbehaviour, which waits for each answer: a daemon that
 * served the other client first would leave one unanswered (conn_call gives up after 10 s).
 * How long the answers took is printed, not checked: a sanitized irohd on a loaded machine is
 * slow, and speed is for bench/. */
static void check_probe(const struct status_probe *p, int min_calls)
{
    CHECK(p->calls >= min_calls);
    CHECK_EQ_INT(p->bad, 0);
}

/* ---- cases against the main daemon ---------------------------------------------------------- */

/* Checks that c still answers node.status, closes it and waits until irohd has let it go. */
static void close_usable(struct conn *c)
{
    json_object *msg = conn_call(c, STATUS_1);
    CHECK(status_result(msg, 1) != NULL);
    json_object_put(msg);
    conn_close(c);
    CHECK(clients_settle(0));
}

static void test_probe_connection_closed(void)
{
    /* wait_ready's probe connected and closed at once: the daemon must not keep it. */
    CHECK(clients_settle(0));
}

static void test_malformed_json(void)
{
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    static const char *bad[] = {
        "{not json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\"",
        "}",         "{\"jsonrpc\":\"2.0\",\"id\":1} {\"jsonrpc\":\"2.0\",\"id\":2}",
        "[1,2,",     "\"unterminated",
        "nul\x01l",  "\xff\xfe\xfd",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(conn_send_str(&c, bad[i]), 0);
        json_object *msg = conn_read_json(&c, 10000);
        CHECK_ERROR(msg, -32700, "parse_error", -1);
        json_object_put(msg);
    }
    /* Nesting deeper than the parser allows is a parse error, not a crash. */
    char deep[4003];
    memset(deep, '[', 4000);
    deep[4000] = '\0';
    CHECK_EQ_INT(conn_send_str(&c, deep), 0);
    json_object *msg = conn_read_json(&c, 10000);
    CHECK_ERROR(msg, -32700, "parse_error", -1);
    json_object_put(msg);
    /* A NUL inside the line. */
    CHECK_EQ_INT(conn_send(&c, "{\"a\":1}\0{\"b\":2}", 15, 1), 0);
    msg = conn_read_json(&c, 10000);
    CHECK_ERROR(msg, -32700, "parse_error", -1);
    json_object_put(msg);
    /* Blank lines get no answer; the connection stays usable. */
    CHECK_EQ_INT(conn_send_str(&c, ""), 0);
    CHECK_EQ_INT(conn_send_str(&c, "   \t "), 0);
    close_usable(&c);
}

static void test_invalid_requests_and_params(void)
{
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    static const struct {
        const char *request;
        int code;
        const char *kind;
        int id; /* -1: null */
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"node.logs\",\"params\":{\"level\":5}}", -32602,
         "invalid_params", 2},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"node.logs\",\"params\":{\"level\":\"loud\"}}",
         -32602, "invalid_params", 3},
        {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"node.logs\",\"params\":{\"fd\":\"yes\"}}",
         -32602, "invalid_params", 4},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"node.logs\",\"params\":{\"colour\":1}}",
         -32602, "invalid_params", 5},
        {"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"rpc.unsubscribe\",\"params\":{}}", -32602,
         "invalid_params", 6},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"rpc.unsubscribe\",\"params\":[\"x\"]}", -32602,
         "invalid_params", 7},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"rpc.unsubscribe\",\"params\":[0]}", -32602,
         "invalid_params", 8},
        {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"node.status\",\"params\":[1]}", -32602,
         "invalid_params", 9},
        {"{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"no.such\"}", -32601, "method_not_found", 10},
        {"{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"node.status\",\"params\":\"x\"}", -32600,
         "invalid_request", 11},
        {"{\"jsonrpc\":\"1.0\",\"id\":12,\"method\":\"node.status\"}", -32600, "invalid_request",
         12},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"node.status\"}", -32600, "invalid_request",
         -1},
        {"{\"jsonrpc\":\"2.0\",\"id\":13,\"result\":true}", -32600, "invalid_request", 13},
        {"42", -32600, "invalid_request", -1},
        {"{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"node.unsubscribe\"}", -32601,
         "method_not_found", 14},
        {"{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":\"rpc.unsubscribe\",\"params\":[99]}", 1001,
         "not_found", 15},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *msg = conn_call(&c, cases[i].request);
        if (!member(msg, "error") ||
            json_object_get_int(member(member(msg, "error"), "code")) != cases[i].code)
            fprintf(stderr, "case %zu: %s -> %s\n", i, cases[i].request,
                    msg ? json_object_to_json_string(msg) : "(nothing)");
        CHECK_ERROR(msg, cases[i].code, cases[i].kind, cases[i].id);
        json_object_put(msg);
    }
    /* Still usable, and a string id comes back as that string. */
    json_object *msg = conn_call(
        &c, "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"node.status\",\"params\":{}}");
    CHECK_EQ_STR(json_object_get_string(member(msg, "id")), "s-1");
    CHECK(member(msg, "result") != NULL);
    json_object_put(msg);
    conn_close(&c);
    CHECK(clients_settle(0));
}

static void test_batches(void)
{
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    /* Mixed: a request, an invalid element, a notification, bad params, an unknown method. */
    json_object *msg = conn_call(
        &c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\"},"
            "{\"foo\":1},"
            "{\"jsonrpc\":\"2.0\",\"method\":\"node.status\"},"
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"rpc.unsubscribe\",\"params\":{\"x\":1}},"
            "{\"jsonrpc\":\"2.0\",\"id\":\"four\",\"method\":\"nope\"},"
            "5]");
    CHECK(json_object_is_type(msg, json_type_array));
    CHECK_EQ_INT(json_object_array_length(msg), 5);
    int seen_status = 0, seen_invalid = 0, seen_params = 0, seen_method = 0;
    for (size_t i = 0; i < json_object_array_length(msg); i++) {
        json_object *r = json_object_array_get_idx(msg, i);
        json_object *err = member(r, "error");
        int code = json_object_get_int(member(err, "code"));
        json_object *id = member(r, "id");
        if (!err && status_result(r, 1)) seen_status++;
        if (code == -32600 && id == NULL) seen_invalid++;
        if (code == -32602 && json_object_get_int(id) == 3) seen_params++;
        if (code == -32601 && json_object_is_type(id, json_type_string) &&
            strcmp(json_object_get_string(id), "four") == 0)
            seen_method++;
    }
    CHECK_EQ_INT(seen_status, 1);
    CHECK_EQ_INT(seen_invalid, 2); /* {"foo":1} and 5 */
    CHECK_EQ_INT(seen_params, 1);
    CHECK_EQ_INT(seen_method, 1);
    json_object_put(msg);

    /* Empty batch: one error object, not an array. */
    msg = conn_call(&c, "[]");
    CHECK(json_object_is_type(msg, json_type_object));
    CHECK_ERROR(msg, -32600, "invalid_request", -1);
    json_object_put(msg);
    msg = conn_call(&c, "  [ ]  ");
    CHECK_ERROR(msg, -32600, "invalid_request", -1);
    json_object_put(msg);

    /* Only notifications: no answer at all; the next answer is the next request's. */
    CHECK_EQ_INT(conn_send_str(&c, "[{\"jsonrpc\":\"2.0\",\"method\":\"node.status\"},"
                                   "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}]"),
                 0);
    CHECK_EQ_INT(conn_send_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"node.status\"}"), 0);
    msg = conn_call(&c, "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"node.status\"}");
    CHECK(status_result(msg, 77) != NULL);
    json_object_put(msg);

    /* A large batch: 2000 requests, 2000 answers with every id once. */
    size_t cap = 2000 * 64 + 16, len = 0;
    char *big = malloc(cap);
    CHECK(big != NULL);
    if (big) {
        big[len++] = '[';
        for (int i = 0; i < 2000; i++)
            len += (size_t)snprintf(big + len, cap - len,
                                    "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"node.status\"}",
                                    i ? "," : "", 1000 + i);
        big[len++] = ']';
        big[len] = '\0';
        msg = conn_call(&c, big);
        CHECK_EQ_INT(json_object_array_length(msg), 2000);
        static unsigned char seen[2000];
        memset(seen, 0, sizeof seen);
        int bad = 0;
        for (size_t i = 0; i < json_object_array_length(msg); i++) {
            int64_t id = json_object_get_int64(member(json_object_array_get_idx(msg, i), "id"));
            if (id < 1000 || id >= 3000 || seen[id - 1000]++) bad++;
        }
        CHECK_EQ_INT(bad, 0);
        json_object_put(msg);
        free(big);
    }
    conn_close(&c);
    CHECK(clients_settle(0));
}

/* A batch answer is one message, so it carries at most 16 fds: the 17th element that would
 * pass one gets a busy error instead, and the connection stays usable. */
static void test_batch_with_too_many_fds(void)
{
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    char batch[17 * 80 + 4];
    size_t len = 0;
    batch[len++] = '[';
    for (int i = 0; i < 17; i++)
        len += (size_t)snprintf(batch + len, sizeof batch - len,
                                "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"node.logs\","
                                "\"params\":{\"fd\":true}}",
                                i ? "," : "", i);
    batch[len++] = ']';
    batch[len] = '\0';
    json_object *msg = conn_call(&c, batch);
    CHECK(json_object_is_type(msg, json_type_array));
    int with_fd = 0, busy = 0;
    for (size_t i = 0; i < json_object_array_length(msg); i++) {
        json_object *r = json_object_array_get_idx(msg, i);
        if (json_object_get_int(member(r, "fds")) == 1 && member(r, "result")) with_fd++;
        if (json_object_get_int(member(member(r, "error"), "code")) == 1004) busy++;
    }
    CHECK_EQ_INT(with_fd, 16);
    CHECK_EQ_INT(busy, 1);
    json_object_put(msg);
    close_usable(&c);
}

static void test_line_too_large(void)
{
    /* Client A sends a line of more than 16 MiB; client B keeps calling node.status. A gets an
     * error of kind too_large and is disconnected; B is answered throughout. */
    struct conn a, b;
    CHECK_EQ_INT(conn_open(&a, main_sock), 0);
    CHECK_EQ_INT(conn_open(&b, main_sock), 0);
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"x\":\"";
    size_t total = MAX_LINE + 4096;
    char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    memcpy(chunk, head, sizeof head - 1);
    size_t sent = 0;
    int sending = 1, closed = 0, got_error = 0, other = 0;
    struct status_probe probe = {0, 0, 0};
    size_t next_ping_at = 0;
    int64_t next_ping = now_ms(), deadline = now_ms() + 60000;
    while (!closed && now_ms() < deadline) {
        struct pollfd pfd = {a.fd, (short)(POLLIN | (sending ? POLLOUT : 0)), 0};
        poll(&pfd, 1, 20);
        if (sending && (pfd.revents & POLLOUT)) {
            size_t n = total - sent < sizeof chunk ? total - sent : sizeof chunk;
            const char *p = sent == 0 ? chunk : chunk + sizeof head;
            if (sent > 0 && n > sizeof chunk - sizeof head) n = sizeof chunk - sizeof head;
            ssize_t w = send(a.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) sent += (size_t)w;
            if (w < 0 && errno != EAGAIN) sending = 0; /* the daemon hung up */
            if (sent >= total) {
                send(a.fd, "\"}\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT);
                sending = 0;
            }
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            char *line = NULL;
            int rc = conn_read_line(&a, 50, &line);
            if (rc == 0) closed = 1;
            if (rc == 1) {
                json_object *msg = json_tokener_parse(line);
                json_object *e = member(msg, "error");
                if (json_object_get_int(member(e, "code")) == 1006 &&
                    strcmp(json_object_get_string(member(member(e, "data"), "kind")),
                           "too_large") == 0)
                    got_error++;
                else
                    other++;
                json_object_put(msg);
                free(line);
            }
        }
        /* B calls after every MiB A sends (and every 100 ms). */
        if (now_ms() >= next_ping || sent >= next_ping_at) {
            probe_status(&b, &probe);
            next_ping = now_ms() + 100;
            next_ping_at = sent + (1u << 20);
        }
    }
    printf("too large: sent %zu bytes; %d node.status calls meanwhile, slowest %lld ms\n", sent,
           probe.calls, (long long)probe.slowest);
    CHECK(closed);
    CHECK_EQ_INT(got_error, 1);
    CHECK_EQ_INT(other, 0);
    CHECK(sent > MAX_LINE);
    check_probe(&probe, 16);
    CHECK(file_contains(main_err, "over 16777216 bytes; disconnecting"));
    /* B's connection is unaffected. */
    json_object *msg = conn_call(&b, STATUS_1);
    CHECK(status_result(msg, 1) != NULL);
    json_object_put(msg);
    conn_close(&a);
    conn_close(&b);
    CHECK(clients_settle(0));
}

static void test_line_at_limit(void)
{
    /* A message of exactly 16 MiB is read whole and answered (its params are wrong). */
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    static const char head[] =
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"node.status\",\"params\":{\"pad\":\"";
    char *line = malloc(MAX_LINE + 1);
    CHECK(line != NULL);
    if (!line) return;
    memset(line, 'p', MAX_LINE);
    memcpy(line, head, sizeof head - 1);
    memcpy(line + MAX_LINE - 3, "\"}}", 3);
    CHECK_EQ_INT(conn_send(&c, line, MAX_LINE, 1), 0);
    free(line);
    json_object *msg = conn_read_json(&c, 30000);
    CHECK_ERROR(msg, -32602, "invalid_params", 5);
    json_object_put(msg);
    close_usable(&c);
}

static void test_disconnects(void)
{
    /* Half a message, then gone; a request, then gone before the answer; a request and a
     * half-close (the answer still arrives, then the daemon closes); 50 of each. */
    for (int i = 0; i < 50; i++) {
        struct conn c;
        CHECK_EQ_INT(conn_open(&c, main_sock), 0);
        CHECK_EQ_INT(conn_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth", 30, 0), 0);
        conn_close(&c);
        CHECK_EQ_INT(conn_open(&c, main_sock), 0);
        CHECK_EQ_INT(
            conn_send_str(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.discover\"}"), 0);
        conn_close(&c);
        CHECK_EQ_INT(conn_open(&c, main_sock), 0);
        CHECK_EQ_INT(conn_send_str(&c, STATUS_1), 0);
        shutdown(c.fd, SHUT_WR);
        json_object *msg = conn_read_json(&c, 10000);
        CHECK(status_result(msg, 1) != NULL);
        json_object_put(msg);
        int closed = conn_closed_by_peer(&c, 10000);
        CHECK(closed);
        conn_close(&c);
        if (!closed) break;
    }
    /* A half-closed client with nothing asked is closed at once. */
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    shutdown(c.fd, SHUT_WR);
    CHECK(conn_closed_by_peer(&c, 10000));
    conn_close(&c);
    /* Every one of those connections is gone from the daemon too. */
    CHECK(clients_settle(0));
    CHECK(kill(main_pid, 0) == 0);
}

/* An app that dies with a call still pending (an endpoint.connect to an address nobody answers)
 * loses its ALPN at once, not when that dial ends; so does one that half-closed first and then
 * hung up. */
static void test_hangup_with_pending_call(void)
{
    static const char listen_req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                                     "\"endpoint.listen\",\"params\":{\"alpn\":\"test/hup/0\"}}";
    static const char connect_req[] =
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"endpoint.connect\",\"params\":{\"id\":"
        "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"addrs\":["
        "\"127.0.0.1:9\"],\"alpn\":\"test/hup/0\",\"timeout_s\":600}}";
    for (int half_close = 0; half_close <= 1; half_close++) {
        struct conn a;
        CHECK_EQ_INT(conn_open(&a, main_sock), 0);
        json_object *msg = conn_call(&a, listen_req);
        CHECK(member(msg, "result") != NULL);
        json_object_put(msg);
        int64_t dial_start = now_ms();
        CHECK_EQ_INT(conn_send_str(&a, connect_req), 0);
        char *line = NULL;
        CHECK_EQ_INT(conn_read_line(&a, 300, &line), -1); /* still dialing */
        free(line);
        if (half_close) {
            shutdown(a.fd, SHUT_WR);
            sleep_ms(100);
            CHECK_EQ_INT(status_clients(&observer) - 1, 1); /* kept for its answer */
        }
        conn_close(&a);
        CHECK(clients_settle(0));
        struct conn b;
        CHECK_EQ_INT(conn_open(&b, main_sock), 0);
        msg = conn_call(&b, listen_req);
        CHECK(member(msg, "result") != NULL);
        if (!member(msg, "result")) fprintf(stderr, "got: %s\n", json_object_to_json_string(msg));
        json_object_put(msg);
        /* The listen is tried once: it succeeds only if the ALPN was freed before the dial the
         * app left behind ended, which is after irohd's 10 s QUIC handshake timeout. (No time
         * bound is checked: on a machine slow enough to get here after that, the case proved
         * nothing and says so.) */
        if (now_ms() - dial_start >= 10000)
            printf("note: the hang-up case took over 10 s; the dial may have ended first\n");
        conn_close(&b);
        CHECK(clients_settle(0));
    }
}

static void test_many_clients(void)
{
    enum { CLIENTS = 500, CALLS = 3 };
    static struct conn cs[CLIENTS];
    static int done[CLIENTS];
    int opened = 0;
    for (int i = 0; i < CLIENTS; i++) {
        if (conn_open(&cs[i], main_sock) < 0) {
            fprintf(stderr, "client %d: connect: %s\n", i, strerror(errno));
            break;
        }
        opened++;
    }
    CHECK_EQ_INT(opened, CLIENTS);
    /* Every client sends its first call, then the next one as each answer arrives. */
    char req[96];
    int sent_ok = 1;
    for (int i = 0; i < opened; i++) {
        done[i] = 0;
        snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"node.status\"}",
                 i * 10);
        if (conn_send_str(&cs[i], req) < 0) sent_ok = 0;
    }
    CHECK(sent_ok);
    static struct pollfd pfds[CLIENTS];
    int finished = 0, bad = 0;
    int64_t deadline = now_ms() + 60000;
    while (finished < opened && now_ms() < deadline) {
        for (int i = 0; i < opened; i++)
            pfds[i] = (struct pollfd){cs[i].fd, (short)(done[i] < CALLS ? POLLIN : 0), 0};
        if (poll(pfds, (nfds_t)opened, 100) <= 0) continue;
        for (int i = 0; i < opened; i++) {
            if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            json_object *msg = conn_read_json(&cs[i], 10000);
            json_object *r = status_result(msg, i * 10 + done[i]);
            if (!r) {
                bad++;
                done[i] = CALLS;
            } else if (++done[i] < CALLS) {
                snprintf(req, sizeof req,
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"node.status\"}",
                         i * 10 + done[i]);
                if (conn_send_str(&cs[i], req) < 0) bad++;
            }
            json_object_put(msg);
            if (done[i] == CALLS) finished++;
        }
    }
    printf("many clients: %d of %d clients finished %d calls each\n", finished, opened, CALLS);
    CHECK_EQ_INT(finished, opened);
    CHECK_EQ_INT(bad, 0);
    /* The daemon counts them all while they are connected. */
    CHECK_EQ_INT(status_clients(&observer) - 1, opened);
    for (int i = 0; i < opened; i++)
        conn_close(&cs[i]);
    CHECK(clients_settle(0));
}

static void test_client_that_never_reads(void)
{
    /* S pipelines node.status calls and never reads: once its unread answers pass the
     * configured client_output_limit (1 MiB) it is disconnected. F is answered promptly all
     * the while. */
    struct conn s, f;
    CHECK_EQ_INT(conn_open(&s, main_sock), 0);
    CHECK_EQ_INT(conn_open(&f, main_sock), 0);
    char batch[100 * 64];
    size_t blen = 0;
    for (int i = 0; i < 100; i++)
        blen += (size_t)snprintf(batch + blen, sizeof batch - blen,
                                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"node.status\"}\n", i);
    size_t off = 0, requests = 0, next_ping_at = 0;
    int dropped = 0;
    struct status_probe probe = {0, 0, 0};
    int64_t next_ping = now_ms(), deadline = now_ms() + 60000;
    while (!dropped && now_ms() < deadline) {
        struct pollfd pfd = {s.fd, POLLOUT, 0};
        poll(&pfd, 1, 10);
        if (pfd.revents & (POLLHUP | POLLERR)) dropped = 1;
        if (!dropped && (pfd.revents & POLLOUT)) {
            ssize_t w = send(s.fd, batch + off, blen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) dropped = 1;
            if (w > 0) {
                off += (size_t)w;
                if (off == blen) {
                    off = 0;
                    requests += 100;
                }
            }
        }
        /* F calls after every 200 requests S sends (and every 50 ms). */
        if (now_ms() >= next_ping || requests >= next_ping_at) {
            next_ping_at = requests + 200;
            probe_status(&f, &probe);
            next_ping = now_ms() + 50;
        }
    }
    printf("never reads: dropped after %zu requests; %d node.status calls meanwhile, slowest "
           "%lld ms\n",
           requests, probe.calls, (long long)probe.slowest);
    CHECK(dropped);
    CHECK(requests >= 1000); /* it took thousands of unread answers to get there */
    check_probe(&probe, 5);
    CHECK(file_contains(main_err, "does not read its answers"));
    conn_close(&s);
    conn_close(&f);
    CHECK(clients_settle(0));
}

/* Sends text plus a newline with n fds attached to its first byte. Returns 0 or -1. */
static int send_line_with_fds(int sock, const char *text, const int *fds, size_t n)
{
    size_t len = strlen(text);
    char *line = malloc(len + 1);
    if (!line) return -1;
    memcpy(line, text, len);
    line[len] = '\n';
    int rc = send_fds(sock, line, len + 1, fds, n);
    free(line);
    return rc;
}

static void test_fds_claimed_but_missing(void)
{
    static const char *claims[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"fds\":2}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"fds\":17}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"fds\":-1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"fds\":\"1\"}",
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"fds\":1}]",
    };
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        struct conn c;
        CHECK_EQ_INT(conn_open(&c, main_sock), 0);
        json_object *msg = conn_call(&c, claims[i]);
        CHECK_ERROR(msg, -32600, "invalid_request", -1);
        CHECK(strstr(json_object_get_string(member(member(member(msg, "error"), "data"), "detail")),
                     "fds") != NULL);
        json_object_put(msg);
        CHECK(conn_closed_by_peer(&c, 10000));
        conn_close(&c);
    }
    CHECK(clients_settle(0));
}

/* Whether writing to fd fails with EPIPE within timeout_ms (the read end is gone). */
static int write_end_broken(int fd, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    do {
        if (write(fd, "x", 1) < 0 && errno == EPIPE) return 1;
        sleep_ms(10);
    } while (now_ms() < deadline);
    return 0;
}

/* Whether the read end sees EOF within timeout_ms (every write end is gone). */
static int read_end_eof(int fd, int timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return 0;
    char c;
    return read(fd, &c, 1) == 0;
}

static void test_passed_fds_closed(void)
{
    struct conn c;
    CHECK_EQ_INT(conn_open(&c, main_sock), 0);
    /* The read end of a pipe passed with a request: once the daemon dropped its copy and we
     * close ours, writing to the pipe fails with EPIPE. */
    int p[2];
    CHECK_EQ_INT(pipe(p), 0);
    CHECK_EQ_INT(
        send_line_with_fds(
            c.fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"node.status\",\"fds\":1}", &p[0], 1),
        0);
    json_object *msg = conn_read_json(&c, 10000);
    CHECK(status_result(msg, 1) != NULL);
    json_object_put(msg);
    close(p[0]);
    CHECK(write_end_broken(p[1], 10000));
    close(p[1]);

    /* The write end passed: the read end sees EOF once ours is closed too. */
    CHECK_EQ_INT(pipe(p), 0);
    CHECK_EQ_INT(
        send_line_with_fds(
            c.fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"node.status\",\"fds\":1}", &p[1], 1),
        0);
    msg = conn_read_json(&c, 10000);
    CHECK(status_result(msg, 2) != NULL);
    json_object_put(msg);
    close(p[1]);
    CHECK(read_end_eof(p[0], 10000));
    close(p[0]);

    /* Fds of a batch: two elements claim one each. */
    int q[2], r[2];
    CHECK_EQ_INT(pipe(q), 0);
    CHECK_EQ_INT(pipe(r), 0);
    int two[2] = {q[1], r[1]};
    CHECK_EQ_INT(
        send_line_with_fds(c.fd,
                           "[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"node.status\",\"fds\":1},"
                           "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"nope\",\"fds\":1}]",
                           two, 2),
        0);
    msg = conn_read_json(&c, 10000);
    CHECK_EQ_INT(json_object_array_length(msg), 2);
    json_object_put(msg);
    close(q[1]);
    close(r[1]);
    CHECK(read_end_eof(q[0], 10000));
    CHECK(read_end_eof(r[0], 10000));
    close(q[0]);
    close(r[0]);

    /* Fds nobody claims stay with the connection and are closed when it ends. */
    CHECK_EQ_INT(pipe(p), 0);
    CHECK_EQ_INT(send_line_with_fds(c.fd, STATUS_1, &p[1], 1), 0);
    msg = conn_read_json(&c, 10000);
    CHECK(status_result(msg, 1) != NULL);
    json_object_put(msg);
    close(p[1]);
    CHECK(!read_end_eof(p[0], 200)); /* the daemon still holds it */
    conn_close(&c);
    CHECK(read_end_eof(p[0], 10000));
    close(p[0]);
    CHECK(clients_settle(0));
}

/* In a child of uid/gid 65534: connects to sock and reports through `report` what happened:
 * "EACCES", "connect:<errno>" or the first line the daemon sent followed by "|eof" if the
 * daemon then closed the connection. */
static void other_uid_child(const char *sock, int report)
{
    char out[1024];
    if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
        snprintf(out, sizeof out, "setuid failed: %s", strerror(errno));
    } else {
        struct conn c;
        if (conn_open(&c, sock) < 0) {
            snprintf(out, sizeof out, "%s", errno == EACCES ? "EACCES" : strerror(errno));
        } else {
            conn_send_str(&c, STATUS_1);
            char *line = NULL;
            int rc = conn_read_line(&c, 10000, &line);
            int eof = rc == 1 && conn_closed_by_peer(&c, 10000);
            snprintf(out, sizeof out, "%s%s", rc == 1 ? line : "(no line)", eof ? "|eof" : "");
            free(line);
        }
    }
    if (write(report, out, strlen(out)) < 0) _exit(2);
    _exit(0);
}

static int run_as_other_uid(char *out, size_t len)
{
    int p[2];
    if (pipe(p) < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        other_uid_child(main_sock, p[1]);
    }
    close(p[1]);
    size_t n = 0;
    int64_t deadline = now_ms() + 30000;
    while (n < len - 1 && now_ms() < deadline) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0) continue;
        ssize_t got = read(p[0], out + n, len - 1 - n);
        if (got <= 0) break;
        n += (size_t)got;
    }
    out[n] = '\0';
    close(p[0]);
    int status = 0;
    if (pid > 0 && !wait_exit(pid, 10000, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return 0;
}

static void test_other_uid_refused(void)
{
    if (getuid() != 0) {
        printf("note: not root, skipping the other-uid case\n");
        return;
    }
    /* The socket is 0600: the other user cannot even connect. */
    struct stat st;
    CHECK_EQ_INT(stat(main_sock, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    char out[1024];
    CHECK_EQ_INT(run_as_other_uid(out, sizeof out), 0);
    CHECK_EQ_STR(out, "EACCES");
    /* With the file modes opened up, the daemon's own check refuses it. */
    CHECK_EQ_INT(chmod(tmpdir, 0711), 0);
    CHECK_EQ_INT(chmod(main_sock, 0666), 0);
    CHECK_EQ_INT(run_as_other_uid(out, sizeof out), 0);
    chmod(main_sock, 0600);
    chmod(tmpdir, 0700);
    char *bar = strstr(out, "|eof");
    CHECK(bar != NULL);
    if (bar) *bar = '\0';
    json_object *msg = json_tokener_parse(out);
    if (!msg) fprintf(stderr, "other uid got: %s\n", out);
    CHECK_ERROR(msg, 1003, "permission_denied", -1);
    json_object_put(msg);
    CHECK(file_contains(main_err, "refused a client of uid 65534"));
    CHECK(clients_settle(0));
}

/* ---- the daemon's life cycle ----------------------------------------------------------------- */

/* Runs irohd with args (its stderr in errpath) and checks that it refuses to start: it exits
 * with a non-zero status. */
static void check_refuses_to_start(const char *errpath, const char *const *args)
{
    pid_t pid = spawn_irohd(errpath, args);
    int status = 0;
    CHECK(wait_exit(pid, 15000, &status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

static void test_second_instance(void)
{
    char sock2[128], err2[128], data2[128], expect[64];
    snprintf(sock2, sizeof sock2, "%s/s2.sock", tmpdir);
    snprintf(err2, sizeof err2, "%s/second.err", tmpdir);
    /* Same data dir, another socket: refused, naming the running irohd's pid. */
    const char *args[] = {"--data-dir", main_data, "--socket", sock2, NULL};
    check_refuses_to_start(err2, args);
    snprintf(expect, sizeof expect, "pid %d", (int)main_pid);
    CHECK(file_contains(err2, expect));
    CHECK(file_contains(err2, "already running"));
    CHECK(access(sock2, F_OK) < 0);

    /* Another data dir, the same socket: refused, and the running daemon's socket is kept. */
    snprintf(data2, sizeof data2, "%s/data2", tmpdir);
    const char *args2[] = {"--data-dir", data2, "--socket", main_sock, NULL};
    check_refuses_to_start(err2, args2);
    CHECK(file_contains(err2, "already listens"));
    struct conn c;
    json_object_put(open_and_status(&c, main_sock, main_pid));
    conn_close(&c);
    CHECK(clients_settle(0));
}

/* The files of a daemon besides the main one, named after it in tmpdir. */
struct daemon_files {
    char data[128], sock[128], err[160], key[200]; /* data dir, socket, stderr, secret.key */
};

static void daemon_files_of(struct daemon_files *d, const char *name)
{
    snprintf(d->data, sizeof d->data, "%s/%s", tmpdir, name);
    snprintf(d->sock, sizeof d->sock, "%s/%s.sock", tmpdir, name);
    snprintf(d->err, sizeof d->err, "%s/%s.err", tmpdir, name);
    snprintf(d->key, sizeof d->key, "%s/secret.key", d->data);
}

/* Starts a daemon on d's files and waits until it listens. */
static pid_t start_daemon(const struct daemon_files *d)
{
    const char *args[] = {"--data-dir", d->data, "--socket", d->sock, NULL};
    pid_t pid = spawn_irohd(d->err, args);
    if (pid < 0 || wait_ready(pid, d->sock) < 0) return -1;
    return pid;
}

static void test_stale_socket_and_sigterm(void)
{
    struct daemon_files d;
    daemon_files_of(&d, "d2");
    pid_t pid = start_daemon(&d);
    CHECK(pid > 0);
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    int status = 0;
    CHECK(wait_exit(pid, 10000, &status));
    CHECK(WIFSIGNALED(status));
    struct stat st;
    CHECK_EQ_INT(lstat(d.sock, &st), 0); /* left behind */
    CHECK(S_ISSOCK(st.st_mode));

    /* The next start replaces the stale socket and serves on it. */
    pid = start_daemon(&d);
    CHECK(pid > 0);
    if (pid <= 0) return;
    struct conn c;
    json_object_put(open_and_status(&c, d.sock, pid));

    /* SIGTERM: a clean exit (status 0), the socket removed, the connection closed. */
    CHECK_EQ_INT(kill(pid, SIGTERM), 0);
    CHECK(wait_exit(pid, 15000, &status));
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 0);
    CHECK(access(d.sock, F_OK) < 0 && errno == ENOENT);
    CHECK(conn_closed_by_peer(&c, 5000));
    conn_close(&c);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK_EQ_INT(write(fd, text, strlen(text)), strlen(text));
    fchmod(fd, mode);
    close(fd);
}

/* The files of a daemon called name whose data dir (made here) holds secret.key = key with
 * mode. */
static void daemon_files_with_key(struct daemon_files *d, const char *name, const char *key,
                                  mode_t mode)
{
    daemon_files_of(d, name);
    CHECK_EQ_INT(mkdir(d->data, 0700), 0);
    write_file(d->key, key, mode);
}

/* Starts irohd on a data dir holding secret.key = key (with mode) and expects it to refuse
 * to start with `expect` on stderr, without creating its socket. */
static void check_bad_key(const char *name, const char *key, mode_t mode, const char *expect)
{
    struct daemon_files d;
    daemon_files_with_key(&d, name, key, mode);
    const char *args[] = {"--data-dir", d.data, "--socket", d.sock, NULL};
    check_refuses_to_start(d.err, args);
    if (!file_contains(d.err, expect)) {
        fprintf(stderr, "%s: stderr lacks \"%s\"\n", name, expect);
        print_file(d.err);
    }
    CHECK(file_contains(d.err, expect));
    CHECK(access(d.sock, F_OK) < 0);
    /* The key file is left as it was. */
    char got[200] = "";
    FILE *f = fopen(d.key, "r");
    CHECK(f != NULL);
    if (f) {
        size_t n = fread(got, 1, sizeof got - 1, f);
        got[n] = '\0';
        fclose(f);
    }
    CHECK_EQ_STR(got, key);
}

static void test_bad_secret_key(void)
{
    static const char good[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
    check_bad_key("k644", good, 0644, "chmod 600");
    check_bad_key("k640", good, 0640, "chmod 600");
    check_bad_key("kjunk", "not a key\n", 0600, "malformed");
    check_bad_key("kupper", "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n",
                  0600, "malformed");
    check_bad_key("kshort", "0123456789abcdef\n", 0600, "malformed");
    check_bad_key("kempty", "", 0600, "malformed");
    /* The same key with mode 0600 is fine. */
    struct daemon_files d;
    daemon_files_with_key(&d, "kgood", good, 0600);
    pid_t pid = start_daemon(&d);
    CHECK(pid > 0);
    if (pid <= 0) return;
    struct conn c;
    json_object *msg = open_and_status(&c, d.sock, pid);
    /* The public key of the seed 0123…ef, so the file really was used. */
    CHECK_EQ_STR(json_object_get_string(member(member(msg, "result"), "id")),
                 "207a067892821e25d770f1fba0c47c11ff4b813e54162ece9eb839e076231ab6");
    json_object_put(msg);
    conn_close(&c);
    kill(pid, SIGTERM);
    int status = 0;
    CHECK(wait_exit(pid, 15000, &status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_still_alive(void)
{
    struct conn c;
    json_object_put(open_and_status(&c, main_sock, main_pid));
    conn_close(&c);
    CHECK(kill(main_pid, 0) == 0);
}

static void test_main_sigterm(void)
{
    conn_close(&observer);
    CHECK_EQ_INT(kill(main_pid, SIGTERM), 0);
    int status = 0;
    CHECK(wait_exit(main_pid, 15000, &status));
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 0);
    CHECK(access(main_sock, F_OK) < 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(600);
    /* 500 clients and the daemon's: more fds than the usual soft limit of 1024. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    /* Socket paths must stay short (108 bytes), so the temp dir is in /tmp. */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/irohd-robust-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(main_sock, sizeof main_sock, "%s/s.sock", tmpdir);
    snprintf(main_data, sizeof main_data, "%s/data", tmpdir);
    snprintf(main_err, sizeof main_err, "%s/irohd.err", tmpdir);
    snprintf(main_config, sizeof main_config, "%s/irohd.json", tmpdir);
    FILE *cfg = fopen(main_config, "w");
    if (!cfg) return 1;
    fputs("{\"client_output_limit\": 1048576}\n", cfg);
    fclose(cfg);

    const char *args[] = {"--data-dir", main_data,   "--socket", main_sock,
                          "--config",   main_config, NULL};
    main_pid = spawn_irohd(main_err, args);
    int ready = main_pid > 0 && wait_ready(main_pid, main_sock) == 0 &&
                conn_open(&observer, main_sock) == 0 && status_clients(&observer) >= 1;
    if (!ready) {
        fprintf(stderr, "irohd did not start\n");
        print_file(main_err);
        kill_children();
        return 1;
    }

    RUN(test_probe_connection_closed);
    RUN(test_malformed_json);
    RUN(test_invalid_requests_and_params);
    RUN(test_batches);
    RUN(test_batch_with_too_many_fds);
    RUN(test_disconnects);
    RUN(test_hangup_with_pending_call);
    RUN(test_line_too_large);
    RUN(test_line_at_limit);
    RUN(test_many_clients);
    RUN(test_client_that_never_reads);
    RUN(test_fds_claimed_but_missing);
    RUN(test_passed_fds_closed);
    RUN(test_other_uid_refused);
    RUN(test_second_instance);
    RUN(test_stale_socket_and_sigterm);
    RUN(test_bad_secret_key);
    RUN(test_still_alive);
    RUN(test_main_sigterm);

    kill_children();
    if (test_failed) {
        for (size_t i = 0; i < nchildren; i++) {
            int seen = 0;
            for (size_t k = 0; k < i; k++)
                seen |= strcmp(children[k].errpath, children[i].errpath) == 0;
            if (!seen) print_file(children[i].errpath);
        }
        fprintf(stderr, "temp dir kept: %s\n", tmpdir);
    } else {
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return TEST_SUMMARY();
}
