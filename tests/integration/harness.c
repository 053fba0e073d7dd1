/* harness.c — the real irohd and the shared helpers of the libiroh-client integration tests
 * (see harness.h). */
static int own_checks, *caller_checks = &own_checks;
#define TEST_FAILED_CHECKS (*caller_checks) /* CHECKs here fail the calling test */
#include "test.h"

#include "harness.h"
#include "tests/unit/tmpdir.h"

#include "ipc/api.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char irohd_dir[256], irohd_sock[300];
pid_t irohd_pid = -1;

static struct rpc_api *api;
static int wait_bound_ms;

bool harness_init(int *failed_checks, int wait_ms)
{
    caller_checks = failed_checks;
    wait_bound_ms = wait_ms;
    char err[256];
    if (rpc_api_parse(rpc_api_json, rpc_api_json_len, &api, err, sizeof err) < 0) {
        fprintf(stderr, "api.json: %s\n", err);
        return false;
    }
    return true;
}

void harness_free(void)
{
    rpc_api_free(api);
    api = NULL;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- the daemon ------------------------------------------------------------------------ */

void kill_daemon(void)
{
    if (irohd_pid > 0) {
        kill(irohd_pid, SIGKILL);
        waitpid(irohd_pid, NULL, 0);
        irohd_pid = -1;
    }
}

int stop_daemon(void)
{
    int status = -1;
    if (irohd_pid > 0) {
        kill(irohd_pid, SIGTERM);
        waitpid(irohd_pid, &status, 0);
        irohd_pid = -1;
    }
    return status;
}

void harness_make_dir(const char *prefix)
{
    tmpdir_make(irohd_dir, sizeof irohd_dir, prefix);
    snprintf(irohd_sock, sizeof irohd_sock, "%s/s.sock", irohd_dir);
    atexit(kill_daemon);
}

void harness_remove_dir(bool keep)
{
    if (keep) {
        fprintf(stderr, "irohd's data dir and log are kept in %s\n", irohd_dir);
        return;
    }
    if (rm_rf(irohd_dir) != 0) fprintf(stderr, "could not remove %s\n", irohd_dir);
}

bool start_daemon(const char *const *extra_args)
{
    char log[300];
    snprintf(log, sizeof log, "%s/irohd.log", irohd_dir);
    irohd_pid = fork();
    if (irohd_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        const char *argv[16] = {"irohd", "--data-dir", irohd_dir, "--socket", irohd_sock};
        size_t n = 5;
        for (size_t i = 0; extra_args && extra_args[i] && n < 15; i++)
            argv[n++] = extra_args[i];
        argv[n] = NULL;
        execv(IROHD_PATH, (char *const *)argv);
        _exit(127);
    }
    for (int64_t end = now_ms() + wait_bound_ms; now_ms() < end; sleep_ms(20)) {
        iroh_client *c;
        if (iroh_client_connect(irohd_sock, &c) == 0) {
            iroh_client_close(c);
            return true;
        }
        if (waitpid(irohd_pid, NULL, WNOHANG) == irohd_pid) {
            irohd_pid = -1;
            break;
        }
    }
    fprintf(stderr, "irohd did not start; its log is %s\n", log);
    return false;
}

iroh_client *connect_daemon(void)
{
    iroh_client *c = NULL;
    CHECK_EQ_INT(iroh_client_connect(irohd_sock, &c), 0);
    return c;
}

/* ---- calls ----------------------------------------------------------------------------- */

json_object *call_result(iroh_client *c, const char *method, const char *params)
{
    iroh_response *r = NULL;
    int rc = iroh_client_call(c, method, params, wait_bound_ms, &r);
    CHECK_EQ_INT(rc, 0);
    if (rc < 0) return NULL;
    CHECK_EQ_INT(iroh_response_error_code(r), 0);
    if (iroh_response_error_code(r) != 0)
        fprintf(stderr, "%s %s: error %d %s %s\n", method, params ? params : "",
                iroh_response_error_code(r), iroh_response_error_message(r),
                iroh_response_error_data(r) ? iroh_response_error_data(r) : "");
    json_object *result =
        json_tokener_parse(iroh_response_result(r) ? iroh_response_result(r) : "");
    iroh_response_free(r);
    return result;
}

int call_error(iroh_client *c, const char *method, const char *params)
{
    iroh_response *r = NULL;
    int rc = iroh_client_call(c, method, params, wait_bound_ms, &r);
    CHECK_EQ_INT(rc, 0);
    int code = rc < 0 ? rc : iroh_response_error_code(r);
    iroh_response_free(r);
    return code;
}

/* ---- the API description and JSON ------------------------------------------------------ */

json_object *find_named(json_object *list, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *item = json_object_array_get_idx(list, i), *n;
        if (json_object_object_get_ex(item, "name", &n) &&
            strcmp(json_object_get_string(n), name) == 0)
            return item;
    }
    return NULL;
}

void check_schema(const char *section, const char *name, json_object *value)
{
    json_object *list, *entry, *schema = NULL;
    json_object_object_get_ex(rpc_api_document(api), section, &list);
    entry = find_named(list, name);
    if (strcmp(section, "methods") == 0) {
        json_object *result;
        json_object_object_get_ex(entry, "result", &result);
        json_object_object_get_ex(result, "schema", &schema);
    } else {
        json_object_object_get_ex(entry, "params", &schema);
    }
    CHECK(schema != NULL);
    char err[256] = "";
    int rc = rpc_schema_check(schema, value, name, err, sizeof err);
    if (rc < 0) fprintf(stderr, "schema: %s\n", err);
    CHECK_EQ_INT(rc, 0);
}

int64_t get_int(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : -1;
}

const char *get_str(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && json_object_get_string(v)
               ? json_object_get_string(v)
               : "";
}

bool get_bool(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && json_object_get_boolean(v);
}
