/* harness.h — the real irohd of the integration tests that speak libiroh-client (test_client.c,
 * test_blobs.c; linked in by tests/integration/CMakeLists.txt). It owns the daemon: a fresh
 * temp dir under IROH_TEST_TMP, irohd (IROHD_PATH) started there with a bounded wait until its
 * socket accepts, stopped with SIGTERM or killed (also at exit); and the helpers every such test
 * had a copy of: calls that expect a result or an error code, results and notifications checked
 * against their schemas in ipc/api.json, and small getters over json-c objects. Its CHECKs
 * count against the calling test file (harness_init takes that file's counter from test.h). */
#ifndef IROH_TEST_HARNESS_H
#define IROH_TEST_HARNESS_H

#include <iroh/client.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

extern char irohd_dir[256], irohd_sock[300]; /* the temp dir and irohd's socket in it */
extern pid_t irohd_pid;                      /* the running irohd, or -1 */

/* Parses ipc/api.json and remembers the bound of every wait (ms) and where the caller counts
 * failed checks (&test_failed_checks). Returns false after printing why. */
bool harness_init(int *failed_checks, int wait_ms);
/* Frees what harness_init made. */
void harness_free(void);

/* Makes the fresh temp dir IROH_TEST_TMP/PREFIX-XXXXXX (irohd_dir, irohd_sock; exits the
 * test if it cannot) and arranges for irohd to be killed at exit. */
void harness_make_dir(const char *prefix);
/* Removes the temp dir, or when keep says so leaves it and says where it is. */
void harness_remove_dir(bool keep);

/* Starts irohd on irohd_dir (kept across restarts; its output appended to irohd.log there)
 * with extra_args (NULL-terminated, or NULL) and waits until its socket accepts. */
bool start_daemon(const char *const *extra_args);
/* Stops irohd the clean way (SIGTERM) and waits for it. Returns its wait status (-1: none). */
int stop_daemon(void);
/* Kills irohd (SIGKILL) if it runs and reaps it. */
void kill_daemon(void);
/* A new connection to irohd (checked), or NULL. */
iroh_client *connect_daemon(void);

/* Calls and returns the parsed result (the caller puts it), or NULL after a failed CHECK. */
json_object *call_result(iroh_client *c, const char *method, const char *params);
/* Calls and returns the JSON-RPC error code (0 for a result). */
int call_error(iroh_client *c, const char *method, const char *params);

/* The element of a JSON array whose "name" is name, or NULL. */
json_object *find_named(json_object *list, const char *name);
/* Checks value against the schema ipc/api.json gives a method's result (section "methods") or
 * a notification's params (section "x-notifications"). */
void check_schema(const char *section, const char *name, json_object *value);

/* obj[key] as an integer (-1 if missing), a string ("" if missing), a boolean (false). */
int64_t get_int(json_object *obj, const char *key);
const char *get_str(json_object *obj, const char *key);
bool get_bool(json_object *obj, const char *key);

int64_t now_ms(void);
void sleep_ms(int ms);

#endif
