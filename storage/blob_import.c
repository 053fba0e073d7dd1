/* blob_import.c — adding content to the blob store: bytes and files, by copy or by reference;
 * see blob_store.h. Content is streamed in blocks of IMPORT_BLOCK bytes (the only buffer),
 * hashed group by group on two threads, and its outboard streamed to a temp file or a 16 KiB
 * buffer; the commit then takes the hash lock, renames the temp files into data/, fsyncs the
 * directory and only then writes the row. */
#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bao.h"
#include "storage/blob_internal.h"

#define IMPORT_BLOCK (4u << 20) /* 256 chunk groups */
/* Outboards up to this size (blobs up to 4 GiB) are built in memory and written to their file
 * in one go; larger ones are written pair by pair as the builder emits them. */
#define IMPORT_OUTBOARD_IN_MEMORY (16u << 20)
#define PARALLEL_MIN_GROUPS 16 /* fewer are hashed on the calling thread alone */

/* ---- hashing ------------------------------------------------------------------------------ */

struct group_batch {
    uint64_t size, first, count;
    const uint8_t *data; /* group `first` */
    uint8_t *cvs;
};

static void hash_batch(const struct group_batch *b)
{
    for (uint64_t i = 0; i < b->count; i++) {
        uint64_t g = b->first + i;
        iroh_bao_group_cv(b->size, g, b->data + i * IROH_BAO_GROUP_LEN,
                          iroh_bao_group_len(b->size, g), 1, b->cvs + i * 32);
    }
}

static void *hash_batch_thread(void *arg)
{
    hash_batch(arg);
    return NULL;
}

void blob_hash_groups(uint64_t size, uint64_t first, uint64_t count, const uint8_t *data,
                      uint8_t *cvs)
{
    struct group_batch all = {size, first, count, data, cvs};
    if (count < PARALLEL_MIN_GROUPS) {
        hash_batch(&all);
        return;
    }
    uint64_t half = count / 2;
    struct group_batch left = {size, first, half, data, cvs};
    struct group_batch right = {size, first + half, count - half, data + half * IROH_BAO_GROUP_LEN,
                                cvs + half * 32};
    pthread_t t;
    if (pthread_create(&t, NULL, hash_batch_thread, &right) != 0) {
        hash_batch(&all);
        return;
    }
    hash_batch(&left);
    pthread_join(t, NULL);
}

/* ---- one import ----------------------------------------------------------------------------- */

struct import {
    struct blob_store *s;
    const struct blob_progress *progress;
    const char *stage;
    enum blob_import_mode mode;
    uint64_t size;
    uint8_t hash[BLOB_HASH_LEN];
    /* data: inline bytes, a temp file to rename (copy), or the referenced file */
    const uint8_t *inline_data;
    int data_fd;
    char data_tmp[PATH_MAX];
    const char *ext_path;
    struct stat ext_st;
    bool copy_in_kernel; /* copy_file_range works between the source and the temp file */
    /* outboard: in memory up to IMPORT_OUTBOARD_IN_MEMORY; a temp file when over 16 KiB */
    uint8_t *ob_mem;
    uint64_t ob_len;
    int ob_fd;
    char ob_tmp[PATH_MAX];
    int ob_errno; /* the first failed outboard write */
};

static void import_init(struct import *im, struct blob_store *s, const struct blob_progress *p,
                        enum blob_import_mode mode, uint64_t size)
{
    memset(im, 0, sizeof *im);
    im->s = s;
    im->progress = p;
    im->mode = mode;
    im->size = size;
    im->stage = mode == BLOB_IMPORT_REFERENCE ? "hashing" : "copying";
    im->data_fd = im->ob_fd = -1;
    im->copy_in_kernel = true;
    im->ob_len = iroh_bao_outboard_size(size);
}

/* Removes what is left of the temp files (those not renamed into place). */
static void import_cleanup(struct import *im)
{
    if (im->data_fd >= 0) close(im->data_fd);
    if (im->ob_fd >= 0) close(im->ob_fd);
    if (im->data_tmp[0]) unlink(im->data_tmp);
    if (im->ob_tmp[0]) unlink(im->ob_tmp);
    free(im->ob_mem);
    im->data_fd = im->ob_fd = -1;
    im->ob_mem = NULL;
}

static void emit_pair(void *ctx, uint64_t offset, const uint8_t pair[64])
{
    struct import *im = ctx;
    if (im->ob_mem) {
        memcpy(im->ob_mem + offset, pair, IROH_BAO_PAIR_LEN);
    } else if (im->ob_errno == 0 &&
               blob_pwrite_all(im->ob_fd, pair, IROH_BAO_PAIR_LEN, offset) < 0) {
        im->ob_errno = errno ? errno : EIO;
    }
}

static int report(struct import *im, const char *stage, uint64_t done, struct blob_error *e)
{
    const struct blob_progress *p = im->progress;
    if (p && p->fn && p->fn(p->ctx, stage, done, im->size))
        return blob_fail(e, IROH_ECLOSED, "the import was cancelled");
    return 0;
}

/* Copies n bytes at off from src_fd to the temp data file in the kernel (copy_file_range),
 * which is several times faster than write() here. Returns 0, 1 when the kernel cannot copy
 * between these files (use write()), or -1 with errno (0: the source ended early). */
static int copy_in_kernel(struct import *im, int src_fd, uint64_t off, size_t n)
{
    loff_t in = (loff_t)off, out = (loff_t)off;
    while (n > 0) {
        ssize_t got = copy_file_range(src_fd, &in, im->data_fd, &out, n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 &&
            (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) &&
            in == (loff_t)off)
            return 1;
        if (got <= 0) {
            if (got == 0) errno = 0;
            return -1;
        }
        n -= (size_t)got;
    }
    return 0;
}

/* Puts the next n bytes at off of the content into buf (unless it is in memory at src) and,
 * for a copy, into the temp data file. A kernel copy is hashed from our own temp file, never
 * from the source, so a source changing meanwhile cannot make data and hash disagree. */
static int next_block(struct import *im, const uint8_t *src, int src_fd, uint64_t off, size_t n,
                      uint8_t *buf, struct blob_error *e)
{
    if (!src && im->data_fd >= 0 && im->copy_in_kernel) {
        int rc = copy_in_kernel(im, src_fd, off, n);
        if (rc == 0 && blob_pread_all(im->data_fd, buf, n, off) == 0) return 0;
        if (rc < 0 && errno == 0)
            return blob_fail(e, IROH_ECORRUPT,
                             "%s shrank while it was imported; try again when it is not being "
                             "written",
                             im->ext_path);
        if (rc < 0) return blob_fail_errno(e, "cannot copy", im->ext_path);
        if (rc == 0) return blob_fail_errno(e, "cannot read", im->data_tmp);
        im->copy_in_kernel = false;
    }
    if (!src && blob_pread_all(src_fd, buf, n, off) < 0)
        return errno ? blob_fail_errno(e, "cannot read", im->ext_path)
                     : blob_fail(e, IROH_ECORRUPT,
                                 "%s shrank while it was imported; try again when it is not "
                                 "being written",
                                 im->ext_path);
    if (im->data_fd >= 0 && blob_pwrite_all(im->data_fd, src ? src + off : buf, n, off) < 0)
        return blob_fail_errno(e, "cannot write", im->data_tmp);
    return 0;
}

/* Streams the content (from memory at src, or from src_fd) through the hasher and, for a
 * copy, into the temp data file; builds the outboard; sets im->hash. */
static int stream(struct import *im, const uint8_t *src, int src_fd, struct blob_error *e)
{
    struct blob_store *s = im->s;
    if (im->ob_len > BLOB_INLINE_MAX) {
        im->ob_fd = blob_temp_create(s, im->ob_tmp, sizeof im->ob_tmp);
        if (im->ob_fd < 0) {
            im->ob_tmp[0] = 0;
            return blob_fail_errno(e, "cannot create a temp file in", s->tmp_dir);
        }
    }
    if (im->ob_len > 0 && im->ob_len <= IMPORT_OUTBOARD_IN_MEMORY) {
        im->ob_mem = calloc(1, im->ob_len);
        if (!im->ob_mem) return blob_fail(e, IROH_ENOMEM, "out of memory");
    }
    if (im->mode == BLOB_IMPORT_COPY) {
        im->data_fd = blob_temp_create(s, im->data_tmp, sizeof im->data_tmp);
        if (im->data_fd < 0) {
            im->data_tmp[0] = 0;
            return blob_fail_errno(e, "cannot create a temp file in", s->tmp_dir);
        }
    }
    uint8_t *buf = src ? NULL : malloc(IMPORT_BLOCK);
    uint8_t *cvs = malloc(IMPORT_BLOCK / IROH_BAO_GROUP_LEN * 32);
    int rc = (src || buf) && cvs ? 0 : blob_fail(e, IROH_ENOMEM, "out of memory");
    struct iroh_bao_outboard_builder builder;
    iroh_bao_outboard_builder_init(&builder, im->size, emit_pair, im);
    if (src_fd >= 0) posix_fadvise(src_fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    for (uint64_t off = 0; rc == 0 && off < im->size;) {
        size_t n = im->size - off < IMPORT_BLOCK ? (size_t)(im->size - off) : IMPORT_BLOCK;
        const uint8_t *block = src ? src + off : buf;
        if ((rc = next_block(im, src, src_fd, off, n, buf, e)) < 0) break;
        uint64_t first = off / IROH_BAO_GROUP_LEN;
        uint64_t count = (n + IROH_BAO_GROUP_LEN - 1) / IROH_BAO_GROUP_LEN;
        blob_hash_groups(im->size, first, count, block, cvs);
        for (uint64_t i = 0; i < count; i++)
            iroh_bao_outboard_builder_add(&builder, cvs + i * 32);
        if (im->ob_errno) {
            errno = im->ob_errno;
            rc = blob_fail_errno(e, "cannot write", im->ob_tmp);
            break;
        }
        off += n;
        rc = report(im, im->stage, off, e);
    }
    free(buf);
    free(cvs);
    if (rc < 0) return rc;
    iroh_bao_outboard_builder_finish(&builder, im->hash);
    if (im->ob_fd >= 0 && im->ob_mem && blob_pwrite_all(im->ob_fd, im->ob_mem, im->ob_len, 0) < 0)
        return blob_fail_errno(e, "cannot write", im->ob_tmp);
    if (im->data_fd >= 0 && fsync(im->data_fd) < 0)
        return blob_fail_errno(e, "cannot sync", im->data_tmp);
    if (im->ob_fd >= 0 && fsync(im->ob_fd) < 0)
        return blob_fail_errno(e, "cannot sync", im->ob_tmp);
    return 0;
}

/* Renames a temp file to its place in data/; clears tmp so cleanup leaves it alone. */
static int place(char *tmp, const char *dest, struct blob_error *e)
{
    if (rename(tmp, dest) < 0) return blob_fail_errno(e, "cannot move a temp file to", dest);
    tmp[0] = 0;
    return 0;
}

static int insert_path(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], const char *path,
                       const struct stat *st, struct blob_error *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(
            db,
            "INSERT OR REPLACE INTO blob_paths (hash, path, size, mtime_ns, ino, dev) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            -1, &q, NULL) != SQLITE_OK)
        return blob_db_fail(db, e, "cannot record the file");
    sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)st->st_size);
    sqlite3_bind_int64(q, 4, blob_stat_mtime_ns(st));
    sqlite3_bind_int64(q, 5, (sqlite3_int64)st->st_ino);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)st->st_dev);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot record the file");
    sqlite3_finalize(q);
    return rc;
}

/* What a commit did to data/, so a failed one can undo it. */
struct placed {
    bool data, outboard; /* our temp file was renamed to the entry's data / outboard file */
    bool had_partial;    /* it replaced a partial entry's files (valid for its groups: keep) */
};

/* Under the hash lock, inside a transaction: makes the content the entry of its hash. */
static int commit_locked(struct import *im, sqlite3 *db, struct blob_added *out, struct placed *pl,
                         struct blob_error *e)
{
    struct blob_store *s = im->s;
    char data_path[PATH_MAX], ob_path[PATH_MAX];
    blob_data_path(s, im->hash, data_path, sizeof data_path);
    blob_outboard_path(s, im->hash, ob_path, sizeof ob_path);
    struct blob_row row;
    int rc = blob_row_get(db, im->hash, &row, e);
    if (rc < 0 && rc != IROH_ENOTFOUND) return rc;
    bool exists = rc == 0;

    if (exists && row.complete) {
        out->existed = true;
        out->location = row.data_loc;
        if (row.data_loc != BLOB_LOC_EXTERNAL) return 0; /* owned and inline win */
        if (im->mode == BLOB_IMPORT_REFERENCE)           /* one more path of the same content */
            return insert_path(db, im->hash, im->ext_path, &im->ext_st, e);
        /* A copy of referenced content: the entry becomes owned, its paths go. */
        if ((rc = place(im->data_tmp, data_path, e)) < 0) return rc;
        pl->data = true;
        if ((rc = blob_sync_data_dir(s, e)) < 0) return rc;
        if ((rc = blob_exec_hash(db, "UPDATE blobs SET data_loc = 1 WHERE hash = ?1", im->hash,
                                 e)) < 0 ||
            (rc = blob_exec_hash(db, "DELETE FROM blob_paths WHERE hash = ?1", im->hash, e)) < 0)
            return rc;
        out->location = BLOB_LOC_OWNED;
        return 0;
    }

    /* New, or completing a partial entry (whose files the renames replace: complete data
     * and outboard are valid for every group the partial one claimed). */
    pl->had_partial = exists;
    enum blob_location data_loc = im->inline_data                ? BLOB_LOC_INLINE
                                  : im->mode == BLOB_IMPORT_COPY ? BLOB_LOC_OWNED
                                                                 : BLOB_LOC_EXTERNAL;
    enum blob_outboard_location ob_loc = im->ob_len == 0 ? BLOB_OUTBOARD_NOT_NEEDED
                                         : im->ob_fd < 0 ? BLOB_OUTBOARD_INLINE
                                                         : BLOB_OUTBOARD_OWNED;
    if (data_loc == BLOB_LOC_OWNED) {
        if ((rc = place(im->data_tmp, data_path, e)) < 0) return rc;
        pl->data = true;
    }
    if (ob_loc == BLOB_OUTBOARD_OWNED) {
        if ((rc = place(im->ob_tmp, ob_path, e)) < 0) return rc;
        pl->outboard = true;
    }
    if ((pl->data || pl->outboard) && (rc = blob_sync_data_dir(s, e)) < 0) return rc;
    if (exists && (rc = blob_rows_delete(db, im->hash, e)) < 0) return rc;
    if ((rc = blob_row_insert(db, im->hash, im->size, true, data_loc, ob_loc,
                              iroh_bao_groups(im->size), e)) < 0)
        return rc;
    if (data_loc == BLOB_LOC_INLINE || ob_loc == BLOB_OUTBOARD_INLINE) {
        bool ob_inline = ob_loc == BLOB_OUTBOARD_INLINE;
        rc = blob_inline_put(db, im->hash, im->inline_data, im->inline_data ? im->size : 0,
                             ob_inline ? im->ob_mem : NULL, ob_inline ? im->ob_len : 0, e);
        if (rc < 0) return rc;
    }
    if (data_loc == BLOB_LOC_EXTERNAL &&
        (rc = insert_path(db, im->hash, im->ext_path, &im->ext_st, e)) < 0)
        return rc;
    out->existed = false;
    out->location = data_loc;
    return 0;
}

static int commit(struct import *im, struct blob_added *out, struct blob_error *e)
{
    struct blob_store *s = im->s;
    memset(out, 0, sizeof *out);
    memcpy(out->hash, im->hash, BLOB_HASH_LEN);
    out->size = im->size;
    /* Protect the content before its row exists, so a GC never sees it unprotected. */
    int rc = blob_temp_tag_new(s, im->hash, BLOB_FORMAT_RAW, &out->temp_tag);
    if (rc < 0) return blob_fail(e, rc, "out of memory");
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) {
        blob_temp_tag_drop(s, out->temp_tag);
        out->temp_tag = NULL;
        return IROH_EIO;
    }
    blob_lock_hash(s, im->hash);
    struct placed pl = {false, false, false};
    rc = blob_exec(db, "BEGIN IMMEDIATE", e);
    if (rc == 0) rc = commit_locked(im, db, out, &pl, e);
    if (rc == 0) rc = blob_exec(db, "COMMIT", e);
    char path[PATH_MAX];
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        /* No row claims the files we moved into place: remove them (those that replaced a
         * partial entry's files stay: they hold the same bytes and pairs, and more). */
        if (pl.data && !pl.had_partial) {
            blob_data_path(s, im->hash, path, sizeof path);
            unlink(path);
        }
        if (pl.outboard && !pl.had_partial) {
            blob_outboard_path(s, im->hash, path, sizeof path);
            unlink(path);
        }
    } else if (pl.had_partial) {
        /* Leftovers of the partial entry that the new placement does not use. */
        if (!pl.data) {
            blob_data_path(s, im->hash, path, sizeof path);
            unlink(path);
        }
        if (!pl.outboard) {
            blob_outboard_path(s, im->hash, path, sizeof path);
            unlink(path);
        }
        blob_sync_data_dir(s, NULL);
    }
    blob_unlock_hash(s, im->hash);
    blob_conn_put(s, db);
    if (rc < 0) {
        blob_temp_tag_drop(s, out->temp_tag);
        out->temp_tag = NULL;
    }
    return rc;
}

/* ---- entry points ---------------------------------------------------------------------------- */

static int add_inline(struct blob_store *s, const uint8_t *data, size_t len,
                      const struct blob_progress *progress, struct blob_added *out,
                      struct blob_error *e)
{
    struct import im;
    import_init(&im, s, progress, BLOB_IMPORT_COPY, len);
    im.inline_data = data;
    iroh_bao_group_cv(len, 0, data, len, 1, im.hash);
    int rc = report(&im, im.stage, len, e);
    if (rc == 0) rc = commit(&im, out, e);
    return rc;
}

int blob_store_add_bytes(struct blob_store *s, const void *data, size_t len,
                         const struct blob_progress *progress, struct blob_added *out,
                         struct blob_error *e)
{
    if (len <= BLOB_INLINE_MAX) return add_inline(s, data, len, progress, out, e);
    struct import im;
    import_init(&im, s, progress, BLOB_IMPORT_COPY, len);
    int rc = stream(&im, data, -1, e);
    if (rc == 0) rc = commit(&im, out, e);
    import_cleanup(&im);
    return rc;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
           blob_stat_mtime_ns(a) == blob_stat_mtime_ns(b);
}

int blob_store_add_path(struct blob_store *s, const char *path, enum blob_import_mode mode,
                        const struct blob_progress *progress, struct blob_added *out,
                        struct blob_error *e)
{
    if (!path || path[0] != '/')
        return blob_fail(e, IROH_EINVAL, "the path must be absolute: %s", path ? path : "(none)");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0) return blob_fail_errno(e, "cannot open", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = blob_fail_errno(e, "cannot stat", path);
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return blob_fail(e, IROH_EINVAL, "%s is %s, not a regular file", path,
                         S_ISDIR(st.st_mode) ? "a directory" : "a special file");
    }
    int rc;
    uint64_t size = (uint64_t)st.st_size;
    if (size <= BLOB_INLINE_MAX) {
        /* Small files are inlined whatever the mode (as iroh-blobs). */
        uint8_t buf[BLOB_INLINE_MAX + 1];
        ssize_t n;
        size_t got = 0;
        while ((n = read(fd, buf + got, sizeof buf - got)) > 0 && got + (size_t)n < sizeof buf)
            got += (size_t)n;
        if (n > 0) got += (size_t)n;
        if (n < 0)
            rc = blob_fail_errno(e, "cannot read", path);
        else if (got != size)
            rc = blob_fail(e, IROH_ECORRUPT,
                           "%s changed size while it was imported; try again when it is not "
                           "being written",
                           path);
        else
            rc = add_inline(s, buf, got, progress, out, e);
        close(fd);
        return rc;
    }
    struct import im;
    import_init(&im, s, progress, mode, size);
    im.ext_path = path;
    im.ext_st = st;
    rc = stream(&im, NULL, fd, e);
    if (rc == 0 && mode == BLOB_IMPORT_REFERENCE) {
        /* The row records this state of the file: it must be the one that was hashed. */
        struct stat after;
        if (fstat(fd, &after) < 0)
            rc = blob_fail_errno(e, "cannot stat", path);
        else if (!same_file_state(&st, &after))
            rc = blob_fail(e, IROH_ECORRUPT,
                           "%s changed while it was imported; try again when it is not being "
                           "written",
                           path);
    }
    if (rc == 0) rc = commit(&im, out, e);
    import_cleanup(&im);
    close(fd);
    return rc;
}
