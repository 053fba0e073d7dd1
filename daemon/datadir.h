/* datadir.h — irohd's data directory: where it is, creating it (0700), and the lock that keeps
 * a second irohd off it. Called by main.c at start-up and shut-down. */
#ifndef IROHD_DATADIR_H
#define IROHD_DATADIR_H

#include <limits.h>
#include <stddef.h>

struct datadir {
    char path[PATH_MAX];
    int lock_fd;
};

/* $XDG_DATA_HOME/irohd, else $HOME/.local/share/irohd. Returns 0 or IROH_EBUFFER/IROH_EINVAL. */
int datadir_default_path(char *buf, size_t len);

/* Creates the directory (and parents) if needed, then takes the lock, recording this pid and
 * the socket path in <dir>/irohd.lock. Returns 0; IROH_EBUSY when another irohd holds it (err
 * names its pid and socket); IROH_EIO or IROH_EPERM with err saying what failed. */
int datadir_open(struct datadir *d, const char *path, const char *socket_path, char *err,
                 size_t errlen);
/* Writes <dir>/<name> into buf. Returns 0 or IROH_EBUFFER. */
int datadir_file(const struct datadir *d, const char *name, char *buf, size_t len);
/* Releases the lock. */
void datadir_close(struct datadir *d);

/* Creates dir and its missing parents; the last component gets `mode`, parents 0700.
 * Returns 0 or IROH_EIO (errno set). Shared with the socket directory set-up. */
int make_dirs(const char *dir, unsigned mode);

#endif
