/* paths.h — where the local API's socket lives by default. One function shared by irohd and
 * every client so they always agree. */
#ifndef IROH_IPC_PATHS_H
#define IROH_IPC_PATHS_H

#include <stddef.h>

/* Writes the default socket path into buf: $IROHD_SOCKET if set and non-empty, else
 * $XDG_RUNTIME_DIR/irohd/irohd.sock, else /tmp/irohd-<uid>/irohd.sock. Returns 0 or
 * IROH_EBUFFER (also when the path is too long for a Unix socket address). */
int ipc_default_socket_path(char *buf, size_t len);

/* The longest socket path a sockaddr_un holds, without the NUL. */
#define IPC_SOCKET_PATH_MAX 107

#endif
