/* paths.c — the default socket path; see paths.h. */
#include "ipc/paths.h"

#include <iroh/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int ipc_default_socket_path(char *buf, size_t len)
{
    const char *env = getenv("IROHD_SOCKET");
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int n;
    if (env && *env)
        n = snprintf(buf, len, "%s", env);
    else if (runtime && *runtime)
        n = snprintf(buf, len, "%s/irohd/irohd.sock", runtime);
    else
        n = snprintf(buf, len, "/tmp/irohd-%u/irohd.sock", (unsigned)getuid());
    if (n < 0 || (size_t)n >= len || n > IPC_SOCKET_PATH_MAX) return IROH_EBUFFER;
    return 0;
}
