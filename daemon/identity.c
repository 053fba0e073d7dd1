/* identity.c — secret.key load and create; see identity.h. */
#include "daemon/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encoding.h"

#define KEY_HEX_LEN 64

static int load(int fd, const char *path, struct iroh_secret_key *key, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        return IROH_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        return IROH_EINVAL;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s belongs to uid %u, not to this user (uid %u)", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return IROH_EPERM;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "%s is accessible by group or others (mode %04o); the node's secret key must "
                 "be private: run 'chmod 600 %s'",
                 path, (unsigned)(st.st_mode & 07777), path);
        return IROH_EPERM;
    }
    char text[KEY_HEX_LEN + 2];
    ssize_t n = read(fd, text, sizeof text);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return IROH_EIO;
    }
    size_t hex_len = (size_t)n;
    if (hex_len == KEY_HEX_LEN + 1 && text[KEY_HEX_LEN] == '\n') hex_len = KEY_HEX_LEN;
    int rc = hex_len == KEY_HEX_LEN
                 ? iroh_hex_decode(text, hex_len, key->seed, sizeof key->seed, IROH_HEX_LOWER_ONLY)
                 : IROH_EINVAL;
    sodium_memzero(text, sizeof text);
    if (rc < 0) {
        snprintf(err, errlen,
                 "%s is malformed: it must hold the secret key as 64 lowercase hex characters "
                 "and a newline",
                 path);
        return IROH_EINVAL;
    }
    return 0;
}

static int create(const char *path, struct iroh_secret_key *key, char *err, size_t errlen)
{
    char tmp[PATH_MAX], text[KEY_HEX_LEN + 2];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "path too long: %s", path);
        return IROH_EINVAL;
    }
    iroh_secret_key_generate(key);
    iroh_hex_encode(key->seed, sizeof key->seed, text, sizeof text);
    text[KEY_HEX_LEN] = '\n';

    unlink(tmp); /* a leftover of a start that died half-way */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = fd < 0 ? IROH_EIO : 0;
    if (rc == 0 && (write(fd, text, KEY_HEX_LEN + 1) != KEY_HEX_LEN + 1 || fsync(fd) < 0))
        rc = IROH_EIO;
    if (fd >= 0) close(fd);
    sodium_memzero(text, sizeof text);
    /* link() never replaces an existing key, unlike rename(). */
    if (rc == 0 && link(tmp, path) < 0) rc = IROH_EIO;
    int saved = errno;
    unlink(tmp);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(saved));
        return rc;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 1;
}

int identity_load_or_create(const char *path, struct iroh_secret_key *key, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) return create(path, key, err, errlen);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return errno == EACCES ? IROH_EPERM : IROH_EIO;
    }
    int rc = load(fd, path, key, err, errlen);
    close(fd);
    return rc;
}
