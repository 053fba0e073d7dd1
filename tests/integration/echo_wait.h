/* echo_wait.h — an echo (daemon/endpoint_echo.h) run to its end on a test's loop, for the
 * in-process integration tests (test_endpoint.c, test_paths.c, test_quic_hostile.c). */
#ifndef IROH_TESTS_ECHO_WAIT_H
#define IROH_TESTS_ECHO_WAIT_H

#include <stdbool.h>
#include <uv.h>

#include "daemon/endpoint_echo.h"

struct echo_outcome {
    bool done;
    struct echo_result r;
};

/* An echo_done_fn: stores the result in the echo_outcome at arg and sets its done. */
void echo_outcome_set(const struct echo_result *r, void *arg);

/* Echoes as req asks from ep and runs loop until the echo ends (at most req->timeout_ms and
 * 5 s more). A failure to start is the outcome's status; any failure is printed to stderr. */
struct echo_outcome echo_run(uv_loop_t *loop, struct endpoint *ep, const struct echo_request *req);

#endif
