/* test_client.c — libiroh-client against a real irohd (IROHD_PATH) started in a fresh temp dir:
 * node.status and its schema, params by name and position, async calls mixed with blocking
 * ones and pipelined, node.logs as notifications and through a passed pipe, rpc.unsubscribe,
 * JSON-RPC errors, a missing daemon, timeouts, and node.shutdown. Linked with the static
 * client library and harness.c (the daemon, calls, schema checks against ipc/api.json). */
#include <iroh/client.h>

#include "harness.h"
#include "test.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 10000 /* the bound of every wait for the daemon */

/* ---- helpers ------------------------------------------------------------------------- */

static bool is_lower_hex(const char *s, size_t len)
{
    if (strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* Connecting and leaving logs "connected" and "closed" at debug level. */
static void provoke_log_lines(void)
{
    iroh_client *other = connect_daemon();
    json_object_put(call_result(other, "node.status", NULL));
    iroh_client_close(other);
}

/* Drives c like an app's loop until *counter reaches target, the connection ends or ms pass. */
static void run_until(iroh_client *c, const int *counter, int target, int ms)
{
    for (int64_t end = now_ms() + ms; *counter < target && now_ms() < end;) {
        struct pollfd p = {iroh_client_fd(c), POLLIN, 0};
        if (iroh_client_wants_write(c)) p.events |= POLLOUT;
        poll(&p, 1, 50);
        if (iroh_client_process(c) < 0) break;
    }
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_status(void)
{
    iroh_client *c = connect_daemon();
    json_object *status = call_result(c, "node.status", NULL);
    check_schema("methods", "node.status", status);
    CHECK(is_lower_hex(get_str(status, "id"), 64));
    CHECK_EQ_STR(get_str(status, "version"), IROHD_VERSION);
    CHECK_EQ_STR(get_str(status, "socket"), irohd_sock);
    CHECK(strstr(get_str(status, "data_dir"), strrchr(irohd_dir, '/')) != NULL);
    CHECK_EQ_INT(get_int(status, "pid"), irohd_pid);
    CHECK(get_int(status, "clients") >= 1);
    json_object *uptime;
    CHECK(json_object_object_get_ex(status, "uptime_s", &uptime) &&
          json_object_get_double(uptime) >= 0);
    CHECK(strlen(get_str(status, "ticket")) > 0);
    json_object_put(status);

    /* The same id on every call; the empty params forms are accepted too. */
    json_object *again = call_result(c, "node.status", "{}");
    json_object *third = call_result(c, "node.status", "[]");
    CHECK_EQ_STR(get_str(again, "id"), get_str(third, "id"));
    json_object_put(again);
    json_object_put(third);
    iroh_client_close(c);
}

static void test_params_by_name_and_position(void)
{
    iroh_client *c = connect_daemon();
    /* An unknown subscription is "not found", which shows the param itself was understood. */
    CHECK_EQ_INT(call_error(c, "rpc.unsubscribe", "{\"subscription\":424242}"), 1001);
    CHECK_EQ_INT(call_error(c, "rpc.unsubscribe", "[424242]"), 1001);
    CHECK_EQ_INT(call_error(c, "rpc.unsubscribe", "{\"subscription\":\"x\"}"), -32602);
    CHECK_EQ_INT(call_error(c, "rpc.unsubscribe", "[]"), -32602);

    json_object *by_position = call_result(c, "node.logs", "[\"warn\", false]");
    json_object *by_name = call_result(c, "node.logs", "{\"level\":\"warn\"}");
    check_schema("methods", "node.logs", by_name);
    CHECK(get_int(by_position, "subscription") > 0);
    CHECK(get_int(by_name, "subscription") > get_int(by_position, "subscription"));
    json_object_put(by_position);
    json_object_put(by_name);
    iroh_client_close(c);
}

static void test_rpc_error(void)
{
    iroh_client *c = connect_daemon();
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "no.such.method", NULL, WAIT_MS, &r), 0);
    CHECK_EQ_INT(iroh_response_error_code(r), -32601);
    CHECK(iroh_response_error_message(r) && *iroh_response_error_message(r));
    CHECK(iroh_response_result(r) == NULL);
    json_object *data =
        json_tokener_parse(iroh_response_error_data(r) ? iroh_response_error_data(r) : "");
    CHECK_EQ_STR(get_str(data, "kind"), "method_not_found");
    json_object_put(data);
    iroh_response_free(r);

    CHECK_EQ_INT(iroh_client_call(c, "node.logs", "{\"level\":\"loud\"}", WAIT_MS, &r), 0);
    CHECK_EQ_INT(iroh_response_error_code(r), -32602);
    data = json_tokener_parse(iroh_response_error_data(r) ? iroh_response_error_data(r) : "");
    CHECK_EQ_STR(get_str(data, "kind"), "invalid_params");
    json_object_put(data);
    iroh_response_free(r);
    iroh_client_close(c);
}

struct tally {
    int answered, failed;
};

static void on_status(iroh_client *client, int status, iroh_response *response, void *userdata)
{
    (void)client;
    struct tally *t = userdata;
    t->answered++;
    json_object *result = status == 0 ? json_tokener_parse(iroh_response_result(response)) : NULL;
    if (!is_lower_hex(get_str(result, "id"), 64)) t->failed++;
    json_object_put(result);
}

static void test_async_with_blocking(void)
{
    iroh_client *c = connect_daemon();
    struct tally t = {0};
    int64_t a, b;
    CHECK_EQ_INT(iroh_client_call_async(c, "node.status", NULL, on_status, &t, &a), 0);
    CHECK_EQ_INT(iroh_client_call_async(c, "node.status", NULL, on_status, &t, &b), 0);
    CHECK(b > a);
    /* The blocking call sends both queued requests and dispatches their answers first. */
    json_object_put(call_result(c, "node.status", NULL));
    CHECK_EQ_INT(t.answered, 2);
    CHECK_EQ_INT(iroh_client_call_async(c, "node.status", NULL, on_status, &t, NULL), 0);
    run_until(c, &t.answered, 3, WAIT_MS);
    CHECK_EQ_INT(t.answered, 3);
    CHECK_EQ_INT(t.failed, 0);
    iroh_client_close(c);
}

static void test_pipelined(void)
{
    enum { N = 500 };
    iroh_client *c = connect_daemon();
    struct tally t = {0};
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(iroh_client_call_async(c, "node.status", NULL, on_status, &t, NULL), 0);
    run_until(c, &t.answered, N, WAIT_MS);
    CHECK_EQ_INT(t.answered, N);
    CHECK_EQ_INT(t.failed, 0);
    iroh_client_close(c);
}

struct log_events {
    int64_t subscription;
    int matching, other;
};

static void on_log(iroh_client *client, const char *method, const char *params, void *userdata)
{
    (void)client;
    struct log_events *e = userdata;
    json_object *p = json_tokener_parse(params);
    if (strcmp(method, "node.log") == 0 && get_int(p, "subscription") == e->subscription) {
        check_schema("x-notifications", "node.log", p);
        e->matching++;
    } else {
        e->other++;
    }
    json_object_put(p);
}

static void test_logs_notifications(void)
{
    iroh_client *c = connect_daemon();
    struct log_events e = {0};
    iroh_client_on_notification(c, on_log, &e);
    json_object *sub = call_result(c, "node.logs", "{\"level\":\"debug\"}");
    e.subscription = get_int(sub, "subscription");
    CHECK(e.subscription > 0);
    CHECK(!json_object_object_get_ex(sub, "fd", NULL));
    json_object_put(sub);

    provoke_log_lines();
    run_until(c, &e.matching, 1, WAIT_MS);
    CHECK(e.matching >= 1);
    CHECK_EQ_INT(e.other, 0);

    /* After rpc.unsubscribe no more events come. */
    char params[64];
    snprintf(params, sizeof params, "{\"subscription\":%lld}", (long long)e.subscription);
    json_object *ok = call_result(c, "rpc.unsubscribe", params);
    CHECK(json_object_get_boolean(ok));
    json_object_put(ok);
    provoke_log_lines();
    int before = e.matching;
    const int never = 0;
    run_until(c, &never, 1, 300);
    CHECK_EQ_INT(e.matching, before);
    CHECK_EQ_INT(call_error(c, "rpc.unsubscribe", params), 1001);
    iroh_client_close(c);
}

/* Reads from fd until a newline or WAIT_MS pass. Returns the bytes read (0 at end of file). */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (int64_t end = now_ms() + WAIT_MS; len + 1 < cap && now_ms() < end;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0) break;
        if (buf[len++] == '\n') break;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

static void test_logs_pipe(void)
{
    iroh_client *c = connect_daemon();
    iroh_response *r;
    CHECK_EQ_INT(iroh_client_call(c, "node.logs", "{\"level\":\"debug\",\"fd\":true}", WAIT_MS, &r),
                 0);
    json_object *sub = json_tokener_parse(iroh_response_result(r));
    CHECK_EQ_INT(iroh_response_fd_count(r), 1);
    CHECK_EQ_INT(get_int(sub, "fd"), 0);
    int fd = iroh_response_take_fd(r, (size_t)get_int(sub, "fd"));
    CHECK(fd >= 0);
    iroh_response_free(r);
    if (fd < 0) {
        json_object_put(sub);
        iroh_client_close(c);
        return;
    }
    provoke_log_lines();
    char line[1024];
    CHECK(read_line(fd, line, sizeof line) > 0);
    CHECK(line[0] && line[strlen(line) - 1] == '\n');
    CHECK(strstr(line, "debug") != NULL);

    /* Unsubscribing closes the pipe's write end: the reader sees the end after what is left. */
    char params[64];
    snprintf(params, sizeof params, "{\"subscription\":%lld}",
             (long long)get_int(sub, "subscription"));
    json_object_put(call_result(c, "rpc.unsubscribe", params));
    ssize_t n;
    int lines = 0;
    while ((n = read_line(fd, line, sizeof line)) > 0 && lines < 1000)
        lines++;
    CHECK_EQ_INT(n, 0);
    close(fd);
    json_object_put(sub);
    iroh_client_close(c);
}

static void test_not_running(void)
{
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nobody.sock", irohd_dir);
    iroh_client *c = (iroh_client *)1;
    CHECK_EQ_INT(iroh_client_connect(missing, &c), IROH_ENOTRUNNING);
    CHECK(c == NULL);
}

/* Whether pid is stopped (state T in /proc/PID/stat) within WAIT_MS: kill(SIGSTOP) returns
 * before the process has stopped. */
static bool wait_stopped(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int64_t end = now_ms() + WAIT_MS; now_ms() < end; sleep_ms(5)) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f) fclose(f);
        stat[n] = '\0';
        const char *paren = strrchr(stat, ')');
        if (paren && paren[1] == ' ' && paren[2] == 'T') return true;
    }
    return false;
}

static void test_timeouts(void)
{
    iroh_client *c = connect_daemon();
    iroh_response *r = NULL;
    /* The daemon is stopped so that it answers nothing (running, it could answer within the
     * call's single pass when this process is preempted between sending and reading). */
    kill(irohd_pid, SIGSTOP);
    CHECK(wait_stopped(irohd_pid));
    /* Zero: one non-blocking pass, no answer. */
    CHECK_EQ_INT(iroh_client_call(c, "node.status", NULL, 0, &r), IROH_ETIMEDOUT);
    CHECK(r == NULL);

    /* The call gives up on time. */
    int64_t start = now_ms();
    CHECK_EQ_INT(iroh_client_call(c, "node.status", NULL, 200, &r), IROH_ETIMEDOUT);
    int64_t took = now_ms() - start;
    kill(irohd_pid, SIGCONT);
    CHECK(took >= 200 && took < 3000);

    /* The late answers are dropped; the connection goes on. */
    json_object *status = call_result(c, "node.status", NULL);
    CHECK(is_lower_hex(get_str(status, "id"), 64));
    json_object_put(status);
    iroh_client_close(c);
}

static void test_shutdown(void)
{
    iroh_client *c = connect_daemon();
    json_object *ok = call_result(c, "node.shutdown", NULL);
    CHECK(json_object_get_boolean(ok));
    json_object_put(ok);

    /* The connection ends and irohd exits 0, removing its socket. */
    const int never = 0;
    run_until(c, &never, 1, WAIT_MS);
    CHECK(iroh_client_process(c) < 0);
    iroh_client_close(c);
    int status = -1;
    pid_t got = 0;
    for (int64_t end = now_ms() + WAIT_MS; got == 0 && now_ms() < end; sleep_ms(20))
        got = waitpid(irohd_pid, &status, WNOHANG);
    CHECK(got == irohd_pid);
    if (got == irohd_pid) irohd_pid = -1;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(access(irohd_sock, F_OK) < 0 && errno == ENOENT);
    CHECK_EQ_INT(iroh_client_connect(irohd_sock, &c), IROH_ENOTRUNNING);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (!harness_init(&test_failed_checks, WAIT_MS)) return 1;
    harness_make_dir("irohd");
    if (!start_daemon(NULL)) return 1;
    RUN(test_status);
    RUN(test_params_by_name_and_position);
    RUN(test_rpc_error);
    RUN(test_async_with_blocking);
    RUN(test_pipelined);
    RUN(test_logs_notifications);
    RUN(test_logs_pipe);
    RUN(test_not_running);
    RUN(test_timeouts);
    RUN(test_shutdown);
    kill_daemon();
    harness_free();
    harness_remove_dir(test_failed != 0);
    return TEST_SUMMARY();
}
