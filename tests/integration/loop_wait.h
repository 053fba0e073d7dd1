/* loop_wait.h — bounded waits on a libuv loop for the in-process integration tests
 * (test_endpoint.c, test_blobs_provider.c), which drive endpoints on one loop and wait for
 * their callbacks to set a flag. */
#ifndef IROH_TESTS_LOOP_WAIT_H
#define IROH_TESTS_LOOP_WAIT_H

#include <stdbool.h>
#include <uv.h>

/* Runs loop until *flag is set or timeout_ms pass. Returns whether flag was set. */
bool loop_run_until(uv_loop_t *loop, const bool *flag, unsigned timeout_ms);

#endif
