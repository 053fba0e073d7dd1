/* loop_wait.c — bounded waits on a libuv loop; see loop_wait.h. */
#include "tests/integration/loop_wait.h"

static void on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

bool loop_run_until(uv_loop_t *loop, const bool *flag, unsigned timeout_ms)
{
    bool expired = false;
    uv_timer_t deadline;
    uv_timer_init(loop, &deadline);
    deadline.data = &expired;
    uv_timer_start(&deadline, on_deadline, timeout_ms, 0);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}
