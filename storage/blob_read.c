/* blob_read.c — reading blobs (readers over inline, owned, referenced and partial entries)
 * and exporting them by copy; see blob_store.h. A reader takes its snapshot of the entry
 * (row, open fds, bitfield) under the hash lock and reads without any lock afterwards: an
 * open fd keeps a deleted file's bytes readable. Referenced files are verified group by group
 * against the outboard before any byte of a group is returned. */
#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/bao.h"
#include "storage/blob_internal.h"

#define OB_WINDOW 16384 /* outboard bytes a reader of a referenced file reads at once */

struct blob_reader {
    uint8_t hash[BLOB_HASH_LEN];
    uint64_t size;
    bool complete;
    enum blob_location loc;
    uint8_t *inline_data; /* inline entries */
    int data_fd;          /* owned, partial and referenced entries */
    char path[PATH_MAX];  /* the referenced file, for messages */
    /* verification of referenced files */
    uint8_t *ob_mem; /* inline outboard */
    size_t ob_len;
    int ob_fd;                    /* owned outboard */
    uint8_t *group;               /* the last verified group */
    uint64_t group_at;            /* its index, or UINT64_MAX */
    struct iroh_bao_path checked; /* the checked pairs of the last group's path: the next group's
                                     path shares all but its lowest levels */
    uint8_t *ob_window;           /* owned outboard: OB_WINDOW bytes read ahead for the checks */
    uint64_t ob_window_at;
    size_t ob_window_len;
    uint8_t *bits; /* partial entries: present groups */
};

static int read_paths(sqlite3 *db, struct blob_reader *r, struct blob_error *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT path, size, mtime_ns, ino, dev FROM blob_paths WHERE hash = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return blob_db_fail(db, e, "cannot read the blob's paths");
    sqlite3_bind_blob(q, 1, r->hash, BLOB_HASH_LEN, SQLITE_STATIC);
    int rc = IROH_ECORRUPT, step;
    char first[PATH_MAX] = "";
    const char *why = "it has no recorded path";
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(q, 0);
        if (!first[0]) snprintf(first, sizeof first, "%s", path);
        /* O_NONBLOCK: a FIFO put in the file's place must not block the open. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        if (fd < 0) {
            why = errno == ENOENT ? "it was removed" : strerror(errno);
            continue;
        }
        if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != (uint64_t)sqlite3_column_int64(q, 1) ||
            blob_stat_mtime_ns(&st) != sqlite3_column_int64(q, 2) ||
            (sqlite3_int64)st.st_ino != sqlite3_column_int64(q, 3) ||
            (sqlite3_int64)st.st_dev != sqlite3_column_int64(q, 4)) {
            why = "it was modified or replaced since it was imported";
            close(fd);
            continue;
        }
        r->data_fd = fd;
        snprintf(r->path, sizeof r->path, "%s", path);
        rc = 0;
        break;
    }
    if (rc == 0 || step == SQLITE_DONE || step == SQLITE_ROW) {
        if (rc < 0)
            blob_fail(e, rc, "the blob's referenced file %s cannot be used: %s; import it again",
                      first[0] ? first : "(none)", why);
    } else {
        rc = blob_db_fail(db, e, "cannot read the blob's paths");
    }
    sqlite3_finalize(q);
    return rc;
}

static int read_bitfield(sqlite3 *db, struct blob_reader *r, struct blob_error *e)
{
    size_t len = (size_t)((iroh_bao_groups(r->size) + 7) / 8);
    r->bits = calloc(1, len ? len : 1);
    if (!r->bits) return blob_fail(e, IROH_ENOMEM, "out of memory");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT bitfield FROM blob_partial WHERE hash = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return blob_db_fail(db, e, "cannot read the bitfield");
    sqlite3_bind_blob(q, 1, r->hash, BLOB_HASH_LEN, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        if (n > len) n = len;
        if (n) memcpy(r->bits, sqlite3_column_blob(q, 0), n);
    } else {
        rc = blob_db_fail(db, e, "cannot read the bitfield");
    }
    sqlite3_finalize(q);
    return rc;
}

static int open_file(const char *path, int *fd, struct blob_error *e)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0) return 0;
    int rc = blob_fail_errno(e, "the store lost", path);
    return rc == IROH_ENOTFOUND ? IROH_ECORRUPT : rc;
}

/* Fills the reader from the entry's row, under the hash lock. */
static int snapshot(struct blob_store *s, sqlite3 *db, struct blob_reader *r, struct blob_error *e)
{
    struct blob_row row;
    int rc = blob_row_get(db, r->hash, &row, e);
    if (rc == IROH_ENOTFOUND && memcmp(r->hash, blob_empty_hash, BLOB_HASH_LEN) == 0) {
        r->complete = true; /* the empty blob is always there */
        r->inline_data = malloc(1);
        return r->inline_data ? 0 : blob_fail(e, IROH_ENOMEM, "out of memory");
    }
    if (rc < 0) return rc;
    r->size = row.size;
    r->complete = row.complete;
    r->loc = row.data_loc;
    char path[PATH_MAX];
    if (!row.complete) {
        if ((rc = read_bitfield(db, r, e)) < 0) return rc;
        if (row.data_loc == BLOB_LOC_OWNED) { /* over 16 KiB: sparse files */
            blob_data_path(s, r->hash, path, sizeof path);
            rc = open_file(path, &r->data_fd, e);
        }
    } else if (row.data_loc == BLOB_LOC_INLINE) {
        size_t len;
        if ((rc = blob_inline_get(db, r->hash, "data", &r->inline_data, &len, e)) < 0) return rc;
        if (len != row.size)
            return blob_fail(e, IROH_ECORRUPT, "the store's inline data has the wrong size");
    } else if (row.data_loc == BLOB_LOC_OWNED) {
        blob_data_path(s, r->hash, path, sizeof path);
        rc = open_file(path, &r->data_fd, e);
    } else if (row.data_loc == BLOB_LOC_EXTERNAL) {
        rc = read_paths(db, r, e);
        r->group = rc == 0 ? malloc(IROH_BAO_GROUP_LEN) : NULL;
        if (rc == 0 && !r->group) rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    } else {
        rc = blob_fail(e, IROH_ECORRUPT, "the blob's entry is malformed");
    }
    if (rc < 0) return rc;
    /* The outboard: checks of referenced files, and blob_reader_outboard (providers). */
    if (row.outboard_loc == BLOB_OUTBOARD_INLINE)
        return blob_inline_get(db, r->hash, "outboard", &r->ob_mem, &r->ob_len, e);
    if (row.outboard_loc == BLOB_OUTBOARD_OWNED) {
        blob_outboard_path(s, r->hash, path, sizeof path);
        return open_file(path, &r->ob_fd, e);
    }
    return 0;
}

int blob_store_reader_open(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                           struct blob_reader **out, struct blob_error *e)
{
    struct blob_reader *r = calloc(1, sizeof *r);
    if (!r) return blob_fail(e, IROH_ENOMEM, "out of memory");
    memcpy(r->hash, hash, BLOB_HASH_LEN);
    r->data_fd = r->ob_fd = -1;
    r->group_at = UINT64_MAX;
    iroh_bao_path_init(&r->checked);
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) {
        free(r);
        return IROH_EIO;
    }
    blob_lock_hash(s, hash);
    int rc = snapshot(s, db, r, e);
    blob_unlock_hash(s, hash);
    blob_conn_put(s, db);
    if (rc < 0) {
        blob_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

uint64_t blob_reader_size(const struct blob_reader *r)
{
    return r->size;
}

bool blob_reader_complete(const struct blob_reader *r)
{
    return r->complete;
}

int blob_reader_outboard(struct blob_reader *r, uint64_t offset, void *buf, size_t len,
                         struct blob_error *e)
{
    uint64_t size = iroh_bao_outboard_size(r->size);
    if (offset > size || len > size - offset)
        return blob_fail(e, IROH_EINVAL, "outboard bytes %llu..%llu are past its %llu bytes",
                         (unsigned long long)offset, (unsigned long long)(offset + len),
                         (unsigned long long)size);
    if (len == 0) return 0;
    if (r->ob_mem) {
        memcpy(buf, r->ob_mem + offset, len);
        return 0;
    }
    if (r->ob_fd < 0 || blob_pread_all(r->ob_fd, buf, len, offset) < 0)
        return blob_fail(e, r->ob_fd >= 0 && errno ? IROH_EIO : IROH_ECORRUPT,
                         "cannot read the blob's outboard: %s",
                         r->ob_fd >= 0 && errno ? strerror(errno)
                                                : "it is shorter than it must be");
    return 0;
}

void blob_reader_close(struct blob_reader *r)
{
    if (!r) return;
    if (r->data_fd >= 0) close(r->data_fd);
    if (r->ob_fd >= 0) close(r->ob_fd);
    free(r->inline_data);
    free(r->ob_mem);
    free(r->group);
    free(r->ob_window);
    free(r->bits);
    free(r);
}

/* iroh_bao_read_fn over the reader's outboard (the pairs r->checked does not hold yet).
 * Groups checked in order need new pairs in pre-order, which is outboard order: a window read
 * ahead serves them (one pread per 256 pairs instead of one per pair). */
static int read_pair(void *ctx, uint64_t offset, void *buf, size_t len)
{
    struct blob_reader *r = ctx;
    if (r->ob_mem) {
        struct iroh_bao_buffer b = {r->ob_mem, r->ob_len};
        return iroh_bao_read_buffer(&b, offset, buf, len);
    }
    if (offset < r->ob_window_at || offset + len > r->ob_window_at + r->ob_window_len) {
        uint64_t size = iroh_bao_outboard_size(r->size);
        if (offset >= size || len > size - offset || len > OB_WINDOW) return IROH_ECORRUPT;
        if (!r->ob_window && !(r->ob_window = malloc(OB_WINDOW))) return IROH_ENOMEM;
        size_t want = size - offset < OB_WINDOW ? (size_t)(size - offset) : OB_WINDOW;
        r->ob_window_len = 0;
        if (blob_pread_all(r->ob_fd, r->ob_window, want, offset) < 0)
            return errno ? IROH_EIO : IROH_ECORRUPT;
        r->ob_window_at = offset;
        r->ob_window_len = want;
    }
    memcpy(buf, r->ob_window + (offset - r->ob_window_at), len);
    return 0;
}

/* The failure of a read of the store's own data file (errno 0: it ended early). */
static int data_read_failed(struct blob_error *e)
{
    if (errno)
        return blob_fail(e, IROH_EIO, "cannot read the blob's data file: %s", strerror(errno));
    return blob_fail(e, IROH_ECORRUPT, "the blob's data file is shorter than the blob");
}

/* The failure of a read of a referenced file (errno 0: it ended early). */
static int referenced_read_failed(const struct blob_reader *r, struct blob_error *e)
{
    if (errno) return blob_fail_errno(e, "cannot read", r->path);
    return blob_fail(e, IROH_ECORRUPT,
                     "the referenced file %s was truncated since it was imported; import it again",
                     r->path);
}

/* Checks group g of a referenced file, read into data, against the outboard. The outboard is
 * the store's own (the reader's snapshot holds it open): a pair of it checked once stays good
 * for the reader's life (r->checked); the data is hashed every time. */
static int check_group(struct blob_reader *r, uint64_t g, const uint8_t *data, struct blob_error *e)
{
    uint8_t cv[32];
    iroh_bao_group_cv(r->size, g, data, iroh_bao_group_len(r->size, g), 1, cv);
    int rc = iroh_bao_verify_group_cv_path(r->hash, r->size, read_pair, r, g, cv, &r->checked);
    if (rc == IROH_ECORRUPT)
        return blob_fail(e, rc,
                         "the referenced file %s was modified since it was imported (chunk group "
                         "%llu does not match the blob's hash); import it again",
                         r->path, (unsigned long long)g);
    if (rc < 0) return blob_fail(e, rc, "cannot read the outboard of %s", r->path);
    return 0;
}

/* Loads group g of a referenced file into r->group and checks it against the outboard. */
static int load_verified_group(struct blob_reader *r, uint64_t g, struct blob_error *e)
{
    if (r->group_at == g) return 0;
    r->group_at = UINT64_MAX;
    size_t len = iroh_bao_group_len(r->size, g);
    if (blob_pread_all(r->data_fd, r->group, len, g * IROH_BAO_GROUP_LEN) < 0)
        return referenced_read_failed(r, e);
    int rc = check_group(r, g, r->group, e);
    if (rc == 0) r->group_at = g;
    return rc;
}

/* Fails with the partial entry's first group in [first, first + n) that is not present. */
static int check_present(const struct blob_reader *r, uint64_t first, uint64_t n,
                         struct blob_error *e)
{
    for (uint64_t g = first; r->bits && g < first + n; g++)
        if (!(r->bits[g / 8] & (1u << (g % 8))))
            return blob_fail(e, IROH_ENOTFOUND,
                             "the blob is incomplete: chunk group %llu is not present yet",
                             (unsigned long long)g);
    return 0;
}

/* preadv until every iovec is full; -1 with errno set, or errno 0 when the file ends first. */
static int preadv_all(int fd, struct iovec *iov, int n, uint64_t offset)
{
    while (n > 0) {
        ssize_t got = preadv(fd, iov, n, (off_t)offset);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = 0;
            return -1;
        }
        offset += (uint64_t)got;
        for (; n > 0 && (size_t)got >= iov->iov_len; iov++, n--)
            got -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + got;
            iov->iov_len -= (size_t)got;
        }
    }
    return 0;
}

int blob_reader_read_groups(struct blob_reader *r, uint64_t first, uint8_t *const *bufs, size_t n,
                            size_t *checked, struct blob_error *e)
{
    size_t unused;
    if (!checked) checked = &unused;
    *checked = 0;
    uint64_t groups = iroh_bao_groups(r->size);
    if (first > groups || n > groups - first || n > BLOB_READ_GROUPS_MAX)
        return blob_fail(e, IROH_EINVAL, "chunk groups %llu..%llu are past the blob's %llu",
                         (unsigned long long)first, (unsigned long long)(first + n),
                         (unsigned long long)groups);
    int rc = check_present(r, first, n, e);
    if (rc < 0 || n == 0) return rc;
    if (r->inline_data) {
        for (size_t i = 0; i < n; i++)
            memcpy(bufs[i], r->inline_data + (first + i) * IROH_BAO_GROUP_LEN,
                   iroh_bao_group_len(r->size, first + i));
        *checked = n;
        return 0;
    }
    struct iovec iov[BLOB_READ_GROUPS_MAX];
    for (size_t i = 0; i < n; i++)
        iov[i] = (struct iovec){bufs[i], iroh_bao_group_len(r->size, first + i)};
    bool referenced = r->loc == BLOB_LOC_EXTERNAL && r->complete;
    if (r->data_fd < 0 || preadv_all(r->data_fd, iov, (int)n, first * IROH_BAO_GROUP_LEN) < 0)
        return referenced ? referenced_read_failed(r, e) : data_read_failed(e);
    for (; referenced && *checked < n; ++*checked)
        if ((rc = check_group(r, first + *checked, bufs[*checked], e)) < 0) return rc;
    *checked = n;
    return 0;
}

int64_t blob_reader_read(struct blob_reader *r, uint64_t offset, void *buf, size_t len,
                         struct blob_error *e)
{
    if (offset >= r->size) return 0;
    if (len > r->size - offset) len = (size_t)(r->size - offset);
    if (len > INT64_MAX) len = INT64_MAX;
    uint64_t first = offset / IROH_BAO_GROUP_LEN;
    int rc = check_present(r, first, (offset + len - 1) / IROH_BAO_GROUP_LEN + 1 - first, e);
    if (rc < 0) return rc;
    if (r->inline_data) {
        memcpy(buf, r->inline_data + offset, len);
        return (int64_t)len;
    }
    if (r->loc != BLOB_LOC_EXTERNAL || !r->complete) {
        if (r->data_fd < 0 || blob_pread_all(r->data_fd, buf, len, offset) < 0)
            return data_read_failed(e);
        return (int64_t)len;
    }
    uint8_t *p = buf;
    for (size_t done = 0; done < len;) {
        uint64_t at = offset + done, g = at / IROH_BAO_GROUP_LEN;
        rc = load_verified_group(r, g, e);
        if (rc < 0) return rc;
        size_t in = (size_t)(at - g * IROH_BAO_GROUP_LEN);
        size_t n = iroh_bao_group_len(r->size, g) - in;
        if (n > len - done) n = len - done;
        memcpy(p + done, r->group + in, n);
        done += n;
    }
    return (int64_t)len;
}

/* ---- export ---------------------------------------------------------------------------------- */

#define EXPORT_BLOCK (1u << 20)

int blob_store_export(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], const char *path,
                      mode_t umask, const struct blob_progress *progress, uint64_t *size,
                      struct blob_error *e)
{
    if (!path || path[0] != '/')
        return blob_fail(e, IROH_EINVAL, "the path must be absolute: %s", path ? path : "(none)");
    struct blob_reader *r;
    int rc = blob_store_reader_open(s, hash, &r, e);
    if (rc < 0) return rc;
    if (!r->complete) {
        blob_reader_close(r);
        return blob_fail(e, IROH_EINVAL, "the blob is incomplete; only complete blobs export");
    }
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    uint8_t *buf = malloc(EXPORT_BLOCK);
    if (fd < 0)
        rc = blob_fail_errno(e, "cannot create", tmp);
    else if (fchmod(fd, 0666 & ~umask) < 0) /* mkostemp makes it 0600 */
        rc = blob_fail_errno(e, "cannot set the mode of", tmp);
    else if (!buf)
        rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    for (uint64_t off = 0; rc == 0 && off < r->size;) {
        int64_t n = blob_reader_read(r, off, buf, EXPORT_BLOCK, e);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (blob_write_all(fd, buf, (size_t)n) < 0) {
            rc = blob_fail_errno(e, "cannot write", tmp);
            break;
        }
        off += (uint64_t)n;
        if (progress && progress->fn && progress->fn(progress->ctx, "exporting", off, r->size))
            rc = blob_fail(e, IROH_ECLOSED, "the export was cancelled");
    }
    if (rc == 0 && fsync(fd) < 0) rc = blob_fail_errno(e, "cannot sync", tmp);
    if (rc == 0 && rename(tmp, path) < 0) rc = blob_fail_errno(e, "cannot rename to", path);
    if (rc == 0) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if (fd >= 0) close(fd);
    if (rc < 0 && fd >= 0) unlink(tmp);
    if (rc == 0 && size) *size = r->size;
    free(buf);
    blob_reader_close(r);
    return rc;
}
