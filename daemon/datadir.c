/* datadir.c — data directory and its lock; see datadir.h. */
#include "daemon/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int datadir_default_path(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(buf, len, "%s/irohd", xdg);
    else if (home && *home == '/')
        n = snprintf(buf, len, "%s/.local/share/irohd", home);
    else
        return IROH_EINVAL;
    return n < 0 || (size_t)n >= len ? IROH_EBUFFER : 0;
}

int make_dirs(const char *dir, unsigned mode)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return IROH_EIO;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) return IROH_EIO;
        *p = '/';
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST) return IROH_EIO;
    return 0;
}

int datadir_file(const struct datadir *d, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", d->path, name);
    return n < 0 || (size_t)n >= len ? IROH_EBUFFER : 0;
}

int datadir_open(struct datadir *d, const char *path, const char *socket_path, char *err,
                 size_t errlen)
{
    d->lock_fd = -1;
    if (snprintf(d->path, sizeof d->path, "%s", path) >= (int)sizeof d->path) {
        snprintf(err, errlen, "data dir path is too long");
        return IROH_EINVAL;
    }
    if (make_dirs(path, 0700) < 0) {
        snprintf(err, errlen, "cannot create data dir %s: %s", path, strerror(errno));
        return IROH_EIO;
    }
    char lock_path[PATH_MAX];
    if (datadir_file(d, "irohd.lock", lock_path, sizeof lock_path) < 0) {
        snprintf(err, errlen, "data dir path is too long");
        return IROH_EINVAL;
    }
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", lock_path, strerror(errno));
        return errno == EACCES ? IROH_EPERM : IROH_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        char holder[512] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        for (char *p = holder; *p; p++)
            if (*p == '\n') *p = *(p + 1) ? ',' : '\0';
        close(fd);
        if (saved == EWOULDBLOCK) {
            snprintf(err, errlen, "another irohd is already running on %s (%s)", path,
                     *holder ? holder : "holder unknown");
            return IROH_EBUSY;
        }
        snprintf(err, errlen, "cannot lock %s: %s", lock_path, strerror(saved));
        return IROH_EIO;
    }
    char record[PATH_MAX + 64];
    int n = snprintf(record, sizeof record, "pid %ld\nsocket %s\n", (long)getpid(), socket_path);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, record, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write %s: %s", lock_path, strerror(errno));
        close(fd);
        return IROH_EIO;
    }
    d->lock_fd = fd;
    return 0;
}

void datadir_close(struct datadir *d)
{
    if (d->lock_fd >= 0) {
        /* The file stays: removing it would race with a starting irohd that opened it. Its
         * stale record is harmless since it is read only while someone holds the lock. */
        close(d->lock_fd);
        d->lock_fd = -1;
    }
}
