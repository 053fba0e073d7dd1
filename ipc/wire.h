/* wire.h — moves frame.h buffers over a connected Unix stream socket, fds included.
 * Used by the daemon's RPC server and by the client library; works on blocking and
 * non-blocking sockets alike (callers of non-blocking ones wait for readiness on IROH_EAGAIN). */
#ifndef IROH_IPC_WIRE_H
#define IROH_IPC_WIRE_H

#include "ipc/frame.h"

/* Reads once into r, queueing any received fds. Returns the number of bytes read (> 0),
 * IROH_ECLOSED at end of stream, IROH_EAGAIN, IROH_EPROTO (fds were truncated or overflowed the
 * queue: drop the connection), IROH_ENOMEM or IROH_EIO (errno set). */
int ipc_wire_recv(int sockfd, struct ipc_reader *r);

/* Sends as much of w as the socket accepts now, each queued fd with or before the first byte
 * of its message. Returns 0 when everything is sent, IROH_EAGAIN when bytes remain, IROH_ECLOSED
 * if the peer is gone, or IROH_EIO (errno set). Never raises SIGPIPE. */
int ipc_wire_flush(int sockfd, struct ipc_writer *w);

/* The uid and pid of the process at the other end of a Unix socket (SO_PEERCRED).
 * Returns 0 or IROH_EIO. */
int ipc_wire_peer(int sockfd, unsigned *uid, int *pid);

#endif
