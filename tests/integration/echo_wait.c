/* echo_wait.c — an echo run to its end on a test's loop; see echo_wait.h. */
#include "tests/integration/echo_wait.h"

#include <iroh/error.h>
#include <stdio.h>

#include "tests/integration/loop_wait.h"

void echo_outcome_set(const struct echo_result *r, void *arg)
{
    struct echo_outcome *o = arg;
    o->r = *r;
    o->done = true;
}

struct echo_outcome echo_run(uv_loop_t *loop, struct endpoint *ep, const struct echo_request *req)
{
    struct echo_outcome o = {0};
    struct echo_client *c;
    int rc = echo_client_start(loop, ep, req, echo_outcome_set, &o, &c);
    if (rc < 0) {
        o.r.status = rc;
    } else if (!loop_run_until(loop, &o.done, req->timeout_ms + 5000)) {
        echo_client_cancel(c, "its own timeout did not end it"); /* sets o.done */
        o.r.status = IROH_ETIMEDOUT;
    }
    if (o.r.status != 0) fprintf(stderr, "echo: %s: %s\n", iroh_strerror(o.r.status), o.r.why);
    return o;
}
