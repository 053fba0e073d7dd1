/* fd_pump.h — streams a byte range of a blob into the write end of a pipe whose read end an
 * app holds (blobs.read with fd: true). Runs on the daemon's loop: blocks are read on the
 * libuv thread pool (one at a time, two buffers of FD_PUMP_BLOCK bytes: one being written
 * while the next is read), and written to the non-blocking pipe when uv_poll says it is
 * writable, so a slow reader never blocks the loop and never costs more than the two buffers.
 * Owned by the blobs service. */
#ifndef IROHD_FD_PUMP_H
#define IROHD_FD_PUMP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "storage/blob_store.h"

#define FD_PUMP_BLOCK (256u * 1024)

struct fd_pump;

/* Called once on the loop when the pump ends: rc 0 when every byte was written, IROH_ECLOSED
 * when the app closed its end or the pump was stopped, or the read error (detail says why). */
typedef void fd_pump_done_fn(void *ctx, int rc, const char *detail);

/* Starts streaming length bytes from offset of reader into wfd (made non-blocking here). The
 * first `first_len` bytes of the range may already be in `first` (a FD_PUMP_BLOCK buffer from
 * malloc, or NULL). Takes ownership of reader, wfd and first on success and on failure.
 * Returns 0 and the pump in *out, or IROH_ENOMEM / IROH_EIO. */
int fd_pump_start(uv_loop_t *loop, struct blob_reader *reader, uint64_t offset, uint64_t length,
                  uint8_t *first, size_t first_len, int wfd, fd_pump_done_fn *done, void *ctx,
                  struct fd_pump **out);
/* Ends the pump early: the pipe is closed (the app sees EOF before the range ends); done runs
 * with IROH_ECLOSED once no read is in flight. */
void fd_pump_stop(struct fd_pump *p);

#endif
