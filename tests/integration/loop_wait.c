/* loop_wait.c — bounded waits on a libuv loop; see loop_wait.h. */
#include "tests/integration/loop_wait.h"

static void on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
    uv_stop(t->loop); /* or a UV_RUN_ONCE that ran the timer first would wait for an event */
}

bool loop_run_until_done(uv_loop_t *loop, bool (*done)(void *arg), void *arg, unsigned timeout_ms)
{
    bool expired = false;
    uv_timer_t deadline;
    uv_timer_init(loop, &deadline);
    deadline.data = &expired;
    uv_update_time(loop);
    uv_timer_start(&deadline, on_deadline, timeout_ms, 0);
    while (!done(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return done(arg);
}

static bool flag_is_set(void *flag)
{
    return *(bool *)flag;
}

bool loop_run_until(uv_loop_t *loop, bool *flag, unsigned timeout_ms)
{
    return loop_run_until_done(loop, flag_is_set, flag, timeout_ms);
}
