/* loop_wait.h — bounded waits on a libuv loop for the in-process integration tests
 * (test_endpoint.c, test_blobs_provider.c, test_paths.c, test_quic_hostile.c), which drive
 * endpoints on one loop and wait for their callbacks to change some state. */
#ifndef IROH_TESTS_LOOP_WAIT_H
#define IROH_TESTS_LOOP_WAIT_H

#include <stdbool.h>
#include <uv.h>

/* Runs loop until done(arg) or timeout_ms pass. Returns done(arg). */
bool loop_run_until_done(uv_loop_t *loop, bool (*done)(void *arg), void *arg, unsigned timeout_ms);

/* Runs loop until *flag is set or timeout_ms pass. Returns whether flag was set. */
bool loop_run_until(uv_loop_t *loop, bool *flag, unsigned timeout_ms);

#endif
