/* test_client.c — libiroh-client against a scripted fake irohd (a forked child on a socket in a
 * temp dir): connect errors, responses with fds, JSON-RPC errors, notifications, timeouts,
 * the refusal line, garbage and oversized input, pending callbacks on close. The library is
 * compiled into this test (the unit tests link only the in-tree static libraries). */
#include "client/client.c"

#include "test.h"
#include "unit/tmpdir.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

static char tmpdir[256];
static char sock_path[300];

/* ---- the fake daemon ----------------------------------------------------------------- */

static int listen_at(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) exit(1);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 4) < 0) {
        perror("fake irohd: listen");
        exit(1);
    }
    return fd;
}

/* Reads one request line (blocking) and returns its id, or -1 at the end of the stream. */
static int64_t peer_read_request(int conn, char *method, size_t method_len)
{
    char line[4096];
    size_t len = 0;
    while (len < sizeof line - 1) {
        ssize_t n = read(conn, line + len, 1);
        if (n <= 0) return -1;
        if (line[len] == '\n') break;
        len++;
    }
    line[len] = '\0';
    json_object *msg = json_tokener_parse(line), *id, *m;
    int64_t value = -1;
    if (json_object_object_get_ex(msg, "id", &id)) value = json_object_get_int64(id);
    if (method && json_object_object_get_ex(msg, "method", &m))
        snprintf(method, method_len, "%s", json_object_get_string(m));
    json_object_put(msg);
    return value;
}

/* Sends one line, with an fd when fd >= 0 (the fd is consumed). */
static void peer_send(int conn, const char *text, int fd)
{
    struct ipc_writer w;
    ipc_writer_init(&w, IPC_MAX_LINE * 2);
    ipc_writer_append(&w, text, strlen(text), &fd, fd >= 0 ? 1 : 0);
    ipc_wire_flush(conn, &w);
    ipc_writer_free(&w);
}

static void peer_sendf(int conn, const char *fmt, long long id)
{
    char buf[1024];
    snprintf(buf, sizeof buf, fmt, id);
    peer_send(conn, buf, -1);
}

/* Starts a fake irohd at sock_path that accepts one connection and runs script on it. */
static pid_t fake_irohd(void (*script)(int conn))
{
    int lfd = listen_at(sock_path);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a script that waits forever must not hang the test run */
        int conn = accept(lfd, NULL, NULL);
        if (conn >= 0) script(conn);
        _exit(0);
    }
    close(lfd);
    return pid;
}

static void reap(pid_t pid)
{
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static iroh_client *connect_fake(void (*script)(int conn), pid_t *pid)
{
    *pid = fake_irohd(script);
    iroh_client *c = NULL;
    CHECK_EQ_INT(iroh_client_connect(sock_path, &c), 0);
    return c;
}

/* Calls method without params and checks that the result's text is want. */
static void check_call_result(iroh_client *c, const char *method, const char *want)
{
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, method, NULL, 5000, &r), 0);
    CHECK_EQ_STR(iroh_response_result(r), want);
    iroh_response_free(r);
}

/* ---- connecting ---------------------------------------------------------------------- */

static void test_connect_errors(void)
{
    iroh_client *c = (iroh_client *)1;
    char path[400];
    snprintf(path, sizeof path, "%s/missing.sock", tmpdir);
    CHECK_EQ_INT(iroh_client_connect(path, &c), IROH_ENOTRUNNING);
    CHECK(c == NULL);
    snprintf(path, sizeof path, "%s/no-such-dir/s.sock", tmpdir);
    CHECK_EQ_INT(iroh_client_connect(path, &c), IROH_ENOTRUNNING);

    /* A socket file that nobody listens on any more. */
    close(listen_at(sock_path));
    CHECK_EQ_INT(iroh_client_connect(sock_path, &c), IROH_ENOTRUNNING);
    unlink(sock_path);

    char long_path[200];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    CHECK_EQ_INT(iroh_client_connect(long_path, &c), IROH_EINVAL);
    CHECK_EQ_INT(iroh_client_connect("", &c), IROH_EINVAL);
    CHECK_EQ_INT(iroh_client_connect(path, NULL), IROH_EINVAL);
}

static void test_default_socket(void)
{
    char buf[128];
    setenv("IROHD_SOCKET", "/run/x/irohd.sock", 1);
    CHECK_EQ_INT(iroh_client_default_socket(buf, sizeof buf), 0);
    CHECK_EQ_STR(buf, "/run/x/irohd.sock");
    CHECK_EQ_INT(iroh_client_default_socket(buf, 4), IROH_EBUFFER);

    /* NULL connects to the default. */
    setenv("IROHD_SOCKET", sock_path, 1);
    iroh_client *c;
    CHECK_EQ_INT(iroh_client_connect(NULL, &c), IROH_ENOTRUNNING);
    unsetenv("IROHD_SOCKET");
}

static void test_version(void)
{
    CHECK_EQ_STR(iroh_client_version(), IROHD_VERSION);
}

/* ---- calls --------------------------------------------------------------------------- */

static void script_echo_method(int conn)
{
    char method[64];
    int64_t id;
    while ((id = peer_read_request(conn, method, sizeof method)) >= 0) {
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"method\":\"%s\"}}", (long long)id,
                 method);
        peer_send(conn, buf, -1);
    }
}

static void test_call_result(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_echo_method, &pid);
    iroh_response *r = NULL;
    CHECK_EQ_INT(iroh_client_call(c, "node.status", NULL, 5000, &r), 0);
    CHECK_EQ_STR(iroh_response_result(r), "{\"method\":\"node.status\"}");
    CHECK_EQ_INT(iroh_response_error_code(r), 0);
    CHECK(iroh_response_error_message(r) == NULL);
    CHECK(iroh_response_error_data(r) == NULL);
    CHECK_EQ_INT(iroh_response_fd_count(r), 0);
    CHECK_EQ_INT(iroh_response_take_fd(r, 0), -1);
    iroh_response_free(r);

    CHECK_EQ_INT(iroh_client_call(c, "a", "{\"x\":[1,2]}", 5000, &r), 0);
    iroh_response_free(r);
    CHECK_EQ_INT(iroh_client_call(c, "a", "[1, \"two\"]", 5000, &r), 0);
    iroh_response_free(r);
    CHECK_EQ_INT(iroh_client_call(c, "a", " {}\n", 5000, &r), 0);
    iroh_response_free(r);
    iroh_client_close(c);
    reap(pid);
}

static void test_bad_arguments(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_echo_method, &pid);
    iroh_response *r = (iroh_response *)1;
    CHECK_EQ_INT(iroh_client_call(c, "m", "{nope", 1000, &r), IROH_EINVAL);
    CHECK(r == NULL);
    CHECK_EQ_INT(iroh_client_call(c, "m", "42", 1000, &r), IROH_EINVAL);
    CHECK_EQ_INT(iroh_client_call(c, "m", "{} {}", 1000, &r), IROH_EINVAL);
    CHECK_EQ_INT(iroh_client_call(c, NULL, NULL, 1000, &r), IROH_EINVAL);
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 1000, NULL), IROH_EINVAL);
    CHECK_EQ_INT(iroh_client_call_async(c, "m", "\"s\"", NULL, NULL, NULL), IROH_EINVAL);
    /* The connection is still good. */
    CHECK_EQ_INT(iroh_client_call(c, "m", "{}", 5000, &r), 0);
    iroh_response_free(r);
    iroh_client_close(c);
    reap(pid);
}

static void script_error(int conn)
{
    int64_t id = peer_read_request(conn, NULL, 0);
    peer_sendf(conn,
               "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32602,\"message\":\"bad "
               "level\",\"data\":{\"kind\":\"invalid_params\",\"param\":\"level\"}}}",
               id);
    id = peer_read_request(conn, NULL, 0);
    peer_sendf(conn,
               "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":1001,\"message\":\"gone\"}}",
               id);
    peer_read_request(conn, NULL, 0);
}

static void test_rpc_error(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_error, &pid);
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "node.logs", "{\"level\":\"loud\"}", 5000, &r), 0);
    CHECK_EQ_INT(iroh_response_error_code(r), -32602);
    CHECK_EQ_STR(iroh_response_error_message(r), "bad level");
    CHECK_EQ_STR(iroh_response_error_data(r), "{\"kind\":\"invalid_params\",\"param\":\"level\"}");
    CHECK(iroh_response_result(r) == NULL);
    iroh_response_free(r);
    CHECK_EQ_INT(iroh_client_call(c, "x", NULL, 5000, &r), 0);
    CHECK_EQ_INT(iroh_response_error_code(r), 1001);
    CHECK(iroh_response_error_data(r) == NULL);
    iroh_response_free(r);
    iroh_client_close(c);
    reap(pid);
}

static void script_fds_in_order(int conn)
{
    int64_t id = peer_read_request(conn, NULL, 0);
    int p[2];
    if (pipe(p) < 0) _exit(1);
    if (write(p[1], "hello\n", 6) != 6) _exit(1);
    close(p[1]);
    int q[2];
    if (pipe(q) < 0) _exit(1);
    close(q[1]);
    peer_send(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"x.fd\",\"params\":{},\"fds\":1}", q[0]);
    char buf[128];
    snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"fd\":0},\"fds\":1}",
             (long long)id);
    peer_send(conn, buf, p[0]);
    peer_read_request(conn, NULL, 0);
}

static int count_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
}

static void test_response_fds_in_order(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_fds_in_order, &pid);
    int before = count_open_fds();
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "node.logs", "{\"fd\":true}", 5000, &r), 0);
    CHECK_EQ_INT(iroh_response_fd_count(r), 1);
    CHECK_EQ_STR(iroh_response_result(r), "{\"fd\":0}");
    int fd = iroh_response_take_fd(r, 0);
    CHECK(fd >= 0);
    CHECK_EQ_INT(iroh_response_take_fd(r, 0), -1);
    iroh_response_free(r);
    char buf[16] = {0};
    CHECK_EQ_INT(read(fd, buf, sizeof buf - 1), 6);
    CHECK_EQ_STR(buf, "hello\n");
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    /* The notification's fd was closed and nothing else leaked. */
    CHECK_EQ_INT(count_open_fds(), before);
    iroh_client_close(c);
    reap(pid);
}

static void script_fd_not_taken(int conn)
{
    int64_t id = peer_read_request(conn, NULL, 0);
    int p[2];
    if (pipe(p) < 0) _exit(1);
    char buf[128];
    snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{},\"fds\":1}",
             (long long)id);
    peer_send(conn, buf, p[0]);
    /* The write end sees EPIPE once the client closed the fd it did not take. */
    signal(SIGPIPE, SIG_IGN);
    peer_read_request(conn, NULL, 0);
    _exit(write(p[1], "x", 1) == -1 && errno == EPIPE ? 0 : 1);
}

static void test_untaken_fds_closed(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_fd_not_taken, &pid);
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 5000, &r), 0);
    CHECK_EQ_INT(iroh_response_fd_count(r), 1);
    iroh_response_free(r);
    iroh_client_close(c);
    reap(pid);
}

/* ---- notifications and async calls --------------------------------------------------- */

struct seen {
    int notifications;
    char last_method[64];
    char last_params[256];
    int responses;
    int last_status;
    int64_t order[8];
};

static void on_note(iroh_client *client, const char *method, const char *params, void *userdata)
{
    (void)client;
    struct seen *s = userdata;
    s->notifications++;
    snprintf(s->last_method, sizeof s->last_method, "%s", method);
    snprintf(s->last_params, sizeof s->last_params, "%s", params);
}

static void script_notify_then_answer(int conn)
{
    int64_t id = peer_read_request(conn, NULL, 0);
    peer_send(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"node.log\",\"params\":{\"message\":\"a\"}}",
              -1);
    peer_send(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"bare\"}", -1);
    peer_sendf(conn, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":true}", id);
    peer_read_request(conn, NULL, 0);
}

/* Against a fake irohd running script, with cb(userdata) handling notifications: a call of
 * method without params has the result want. */
static void call_with_notifications(void (*script)(int conn), iroh_notification_cb *cb,
                                    void *userdata, const char *method, const char *want)
{
    pid_t pid;
    iroh_client *c = connect_fake(script, &pid);
    iroh_client_on_notification(c, cb, userdata);
    check_call_result(c, method, want);
    iroh_client_close(c);
    reap(pid);
}

static void test_notifications_during_call(void)
{
    struct seen s = {0};
    call_with_notifications(script_notify_then_answer, on_note, &s, "node.logs", "true");
    CHECK_EQ_INT(s.notifications, 2);
    CHECK_EQ_STR(s.last_method, "bare");
    CHECK_EQ_STR(s.last_params, "null");
}

static void on_response(iroh_client *client, int status, iroh_response *response, void *userdata)
{
    (void)client;
    struct seen *s = userdata;
    if (s->responses < 8)
        s->order[s->responses] = status == 0 ? atoi(iroh_response_result(response)) : status;
    s->responses++;
    s->last_status = status;
}

/* Answers requests in reverse order of arrival, n at a time; the result is the id. */
static void script_reverse(int conn)
{
    int64_t ids[3];
    for (;;) {
        for (int i = 0; i < 3; i++)
            if ((ids[i] = peer_read_request(conn, NULL, 0)) < 0) return;
        for (int i = 2; i >= 0; i--) {
            char buf[128];
            snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":%lld}",
                     (long long)ids[i], (long long)ids[i]);
            peer_send(conn, buf, -1);
        }
    }
}

/* Drives the client like an app's event loop until cond or a bounded wait passes. */
static void run_loop(iroh_client *c, const int *counter, int target)
{
    for (int spins = 0; spins < 500 && *counter < target; spins++) {
        struct pollfd p = {iroh_client_fd(c), POLLIN, 0};
        if (iroh_client_wants_write(c)) p.events |= POLLOUT;
        poll(&p, 1, 10);
        if (iroh_client_process(c) < 0) break;
    }
}

static void test_async_out_of_order(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_reverse, &pid);
    struct seen s = {0};
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(iroh_client_call_async(c, "m", NULL, on_response, &s, &ids[i]), 0);
    CHECK(ids[0] > 0 && ids[1] == ids[0] + 1 && ids[2] == ids[1] + 1);
    CHECK(iroh_client_wants_write(c));
    run_loop(c, &s.responses, 3);
    CHECK_EQ_INT(s.responses, 3);
    CHECK_EQ_INT(s.order[0], ids[2]);
    CHECK_EQ_INT(s.order[2], ids[0]);
    CHECK(!iroh_client_wants_write(c));

    iroh_client_close(c);
    reap(pid);
}

static void test_async_during_blocking_call(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_echo_method, &pid);
    struct seen s = {0};
    CHECK_EQ_INT(iroh_client_call_async(c, "m", NULL, on_response, &s, NULL), 0);
    CHECK_EQ_INT(iroh_client_call_async(c, "m", NULL, on_response, &s, NULL), 0);
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 5000, &r), 0);
    CHECK_EQ_INT(s.responses, 2); /* answered in order, so before the blocking call */
    iroh_response_free(r);
    iroh_client_close(c);
    reap(pid);
}

static void script_silent(int conn)
{
    while (peer_read_request(conn, NULL, 0) >= 0) {
    }
}

static void test_close_fails_pending(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_silent, &pid);
    struct seen s = {0};
    CHECK_EQ_INT(iroh_client_call_async(c, "m", NULL, on_response, &s, NULL), 0);
    CHECK_EQ_INT(iroh_client_call_async(c, "m", NULL, on_response, &s, NULL), 0);
    CHECK_EQ_INT(iroh_client_process(c), 0);
    iroh_client_close(c);
    CHECK_EQ_INT(s.responses, 2);
    CHECK_EQ_INT(s.last_status, IROH_ECLOSED);
    reap(pid);
}

static void test_timeout(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_silent, &pid);
    iroh_response *r = (iroh_response *)1;
    int64_t start = now_ms();
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 150, &r), IROH_ETIMEDOUT);
    int64_t took = now_ms() - start;
    CHECK(took >= 150 && took < 2000);
    CHECK(r == NULL);
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 0, &r), IROH_ETIMEDOUT);
    iroh_client_close(c);
    reap(pid);
}

static void script_late(int conn)
{
    int64_t first = peer_read_request(conn, NULL, 0);
    int64_t second = peer_read_request(conn, NULL, 0);
    peer_sendf(conn, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"late\"}", first);
    peer_sendf(conn, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"second\"}", second);
    peer_read_request(conn, NULL, 0);
}

static void test_late_response_dropped(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_late, &pid);
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "first", NULL, 50, &r), IROH_ETIMEDOUT);
    check_call_result(c, "second", "\"second\"");
    iroh_client_close(c);
    reap(pid);
}

/* ---- a misbehaving or refusing peer -------------------------------------------------- */

static const char *scripted_line; /* what script_refuse and script_garbage send */

static void script_refuse(int conn)
{
    peer_send(conn, scripted_line, -1);
}

static void test_refusal(void)
{
    static const struct {
        const char *line;
        int status;
    } refusals[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1003,\"message\":\"irohd serves "
         "only uid 1 and root\",\"data\":{\"kind\":\"permission_denied\"}}}",
         IROH_EPERM},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1004,\"message\":\"too many\"}}",
         IROH_EBUSY},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        scripted_line = refusals[i].line;
        pid_t pid;
        iroh_client *c = connect_fake(script_refuse, &pid);
        reap(pid); /* the refusal is written and the connection closed */
        iroh_response *r;
        CHECK_EQ_INT(iroh_client_call(c, "node.status", NULL, 5000, &r), refusals[i].status);
        CHECK_EQ_INT(iroh_client_process(c), refusals[i].status);
        CHECK_EQ_INT(iroh_client_call_async(c, "m", NULL, NULL, NULL, NULL), refusals[i].status);
        iroh_client_close(c);
    }
}

static void script_garbage(int conn)
{
    int64_t id = peer_read_request(conn, NULL, 0);
    (void)id;
    peer_send(conn, scripted_line, -1);
    peer_read_request(conn, NULL, 0);
}

static void test_garbage(void)
{
    static const char *lines[] = {
        "hello",
        "[1,2]",
        "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":1}",             /* nobody asked */
        "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}",           /* not our id type */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\"}}", /* malformed error */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":0,\"message\":\"\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"fds\":2}", /* fds that never came */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"fds\":-1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ask\"}", /* the daemon sends no requests */
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1} trailing",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        scripted_line = lines[i];
        pid_t pid;
        iroh_client *c = connect_fake(script_garbage, &pid);
        struct seen s = {0};
        CHECK_EQ_INT(iroh_client_call_async(c, "pending", NULL, on_response, &s, NULL), 0);
        iroh_response *r;
        int rc = iroh_client_call(c, "m", NULL, 5000, &r);
        if (rc != IROH_EPROTO) fprintf(stderr, "garbage line %zu: %d\n", i, rc);
        CHECK_EQ_INT(rc, IROH_EPROTO);
        CHECK_EQ_INT(s.responses, 1);
        CHECK_EQ_INT(s.last_status, IROH_EPROTO);
        CHECK_EQ_INT(iroh_client_process(c), IROH_EPROTO);
        iroh_client_close(c);
        reap(pid);
    }
}

static void script_huge(int conn)
{
    peer_read_request(conn, NULL, 0);
    char *junk = malloc(1 << 20);
    memset(junk, 'x', 1 << 20);
    /* 17 MiB without a newline; the client hangs up at 16 MiB. */
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < 17; i++)
        if (write(conn, junk, 1 << 20) < 0) break;
    free(junk);
}

static void test_oversized_line(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_huge, &pid);
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 20000, &r), IROH_EPROTO);
    iroh_client_close(c);
    reap(pid);
}

static void script_hang_up(int conn)
{
    peer_read_request(conn, NULL, 0);
}

static void test_peer_hangs_up(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_hang_up, &pid);
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 5000, &r), IROH_ECLOSED);
    CHECK_EQ_INT(iroh_client_call(c, "m", NULL, 5000, &r), IROH_ECLOSED);
    iroh_client_close(c);
    reap(pid);
}

/* ---- re-entrancy --------------------------------------------------------------------- */

struct nested {
    int status;
    char result[64];
    bool close_in_callback;
};

static void on_note_calls(iroh_client *client, const char *method, const char *params,
                          void *userdata)
{
    (void)method;
    (void)params;
    struct nested *n = userdata;
    if (n->close_in_callback) {
        iroh_client_close(client);
        return;
    }
    iroh_response *r;
    n->status = iroh_client_call(client, "inner", NULL, 5000, &r);
    const char *result = n->status == 0 ? iroh_response_result(r) : NULL;
    snprintf(n->result, sizeof n->result, "%s", result ? result : "");
    iroh_response_free(r);
}

static void script_notify_nested(int conn)
{
    char method[64];
    int64_t outer = peer_read_request(conn, method, sizeof method);
    peer_send(conn, "{\"jsonrpc\":\"2.0\",\"method\":\"poke\",\"params\":{}}", -1);
    int64_t inner = peer_read_request(conn, method, sizeof method);
    if (inner < 0) return; /* the client closed in its callback */
    peer_sendf(conn, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"inner\"}", inner);
    peer_sendf(conn, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"outer\"}", outer);
    peer_read_request(conn, NULL, 0);
}

static void test_call_from_callback(void)
{
    struct nested n = {0};
    call_with_notifications(script_notify_nested, on_note_calls, &n, "outer", "\"outer\"");
    CHECK_EQ_INT(n.status, 0);
    CHECK_EQ_STR(n.result, "\"inner\"");
}

static void test_close_from_callback(void)
{
    pid_t pid;
    iroh_client *c = connect_fake(script_notify_nested, &pid);
    struct nested n = {.close_in_callback = true};
    struct seen s = {0};
    iroh_client_on_notification(c, on_note_calls, &n);
    CHECK_EQ_INT(iroh_client_call_async(c, "outer", NULL, on_response, &s, NULL), 0);
    int rc = 0;
    for (int spins = 0; spins < 500 && rc == 0; spins++) {
        struct pollfd p = {iroh_client_fd(c), POLLIN, 0};
        if (iroh_client_wants_write(c)) p.events |= POLLOUT;
        poll(&p, 1, 10);
        rc = iroh_client_process(c); /* frees c when the callback closed it */
    }
    CHECK_EQ_INT(rc, IROH_ECLOSED);
    CHECK_EQ_INT(s.responses, 1);
    CHECK_EQ_INT(s.last_status, IROH_ECLOSED);
    reap(pid);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    tmpdir_make(tmpdir, sizeof tmpdir, "client");
    snprintf(sock_path, sizeof sock_path, "%s/s.sock", tmpdir);
    RUN(test_connect_errors);
    RUN(test_default_socket);
    RUN(test_version);
    RUN(test_call_result);
    RUN(test_bad_arguments);
    RUN(test_rpc_error);
    RUN(test_response_fds_in_order);
    RUN(test_untaken_fds_closed);
    RUN(test_notifications_during_call);
    RUN(test_async_out_of_order);
    RUN(test_async_during_blocking_call);
    RUN(test_close_fails_pending);
    RUN(test_timeout);
    RUN(test_late_response_dropped);
    RUN(test_refusal);
    RUN(test_garbage);
    RUN(test_oversized_line);
    RUN(test_peer_hangs_up);
    RUN(test_call_from_callback);
    RUN(test_close_from_callback);
    unlink(sock_path);
    rmdir(tmpdir);
    return TEST_SUMMARY();
}
