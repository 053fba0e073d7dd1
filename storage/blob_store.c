/* blob_store.c — the blob store's life cycle (open, recovery, close), its shared machinery
 * (connection pool, hash locks, file helpers), entries (status, list, delete), tags, temp tags
 * and garbage collection; see blob_store.h. Imports are in blob_import.c, reading and export
 * in blob_read.c, partial entries in blob_partial.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/bao.h"
#include "core/encoding.h"
#include "storage/blob_internal.h"

/* BLAKE3 of the empty input: always complete (spec §10.1). */
const uint8_t blob_empty_hash[BLOB_HASH_LEN] = {
    0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc, 0xc9, 0x49,
    0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1, 0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f, 0x32, 0x62};

/* ---- errors ------------------------------------------------------------------------------ */

int blob_fail(struct blob_error *e, int rc, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->detail, sizeof e->detail, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int blob_fail_errno(struct blob_error *e, const char *what, const char *path)
{
    int err = errno;
    int rc = err == ENOENT                     ? IROH_ENOTFOUND
             : (err == EACCES || err == EPERM) ? IROH_EPERM
                                               : IROH_EIO;
    if (err == ENOSPC || err == EDQUOT)
        return blob_fail(e, rc, "%s %s: %s (nothing was stored)", what, path, strerror(err));
    blob_fail(e, rc, "%s %s: %s", what, path, err ? strerror(err) : "unexpected end of file");
    errno = err;
    return rc;
}

int blob_db_fail(sqlite3 *db, struct blob_error *e, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    if ((code & 0xff) == SQLITE_FULL)
        return blob_fail(e, IROH_EIO, "%s: the disk is full (%s)", what, sqlite3_errmsg(db));
    return blob_fail(e, IROH_EIO, "%s: %s", what, sqlite3_errmsg(db));
}

/* ---- hashes and names --------------------------------------------------------------------- */

int blob_hash_parse(const char *text, uint8_t hash[BLOB_HASH_LEN])
{
    if (!text) return IROH_EINVAL;
    size_t len = strlen(text);
    if (len == BLOB_HASH_HEX_LEN)
        return iroh_hex_decode(text, len, hash, BLOB_HASH_LEN, IROH_HEX_ANY_CASE) == BLOB_HASH_LEN
                   ? 0
                   : IROH_EINVAL;
    if (len == IROH_BASE32_ENCODED_LEN(BLOB_HASH_LEN))
        return iroh_base32_decode(text, len, hash, BLOB_HASH_LEN) == BLOB_HASH_LEN ? 0
                                                                                   : IROH_EINVAL;
    return IROH_EINVAL;
}

void blob_hash_hex(const uint8_t hash[BLOB_HASH_LEN], char out[BLOB_HASH_HEX_LEN + 1])
{
    iroh_hex_encode(hash, BLOB_HASH_LEN, out, BLOB_HASH_HEX_LEN + 1);
}

const char *blob_format_name(enum blob_format f)
{
    return f == BLOB_FORMAT_HASH_SEQ ? "hash_seq" : "raw";
}

int blob_format_parse(const char *name)
{
    if (name && strcmp(name, "raw") == 0) return BLOB_FORMAT_RAW;
    if (name && strcmp(name, "hash_seq") == 0) return BLOB_FORMAT_HASH_SEQ;
    return IROH_EINVAL;
}

const char *blob_location_name(enum blob_location loc)
{
    switch (loc) {
    case BLOB_LOC_INLINE: return "inline";
    case BLOB_LOC_OWNED: return "owned";
    case BLOB_LOC_EXTERNAL: return "external";
    }
    return "?";
}

size_t blob_pair_path(uint64_t size, uint64_t index, uint64_t *offsets, size_t cap)
{
    uint64_t first = 0, count = iroh_bao_groups(size), node = 0;
    size_t n = 0;
    while (count > 1 && n < cap) {
        uint64_t left = 1;
        while (left * 2 < count)
            left *= 2;
        offsets[n++] = node * IROH_BAO_PAIR_LEN;
        if (index < first + left) {
            node += 1;
            count = left;
        } else {
            node += left; /* past this node and the left subtree's left - 1 nodes */
            first += left;
            count -= left;
        }
    }
    return n;
}

/* ---- files --------------------------------------------------------------------------------- */

int blob_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int blob_pread_all(int fd, void *buf, size_t len, uint64_t offset)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) {
            errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int blob_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int64_t blob_stat_mtime_ns(const void *stp)
{
    const struct stat *st = stp;
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

void blob_data_path(const struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], char *buf,
                    size_t len)
{
    char hex[BLOB_HASH_HEX_LEN + 1];
    blob_hash_hex(hash, hex);
    snprintf(buf, len, "%s/%s.data", s->data_dir, hex);
}

void blob_outboard_path(const struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], char *buf,
                        size_t len)
{
    char hex[BLOB_HASH_HEX_LEN + 1];
    blob_hash_hex(hash, hex);
    snprintf(buf, len, "%s/%s.obao4", s->data_dir, hex);
}

int blob_temp_create(struct blob_store *s, char *path, size_t len)
{
    snprintf(path, len, "%s/XXXXXX.part", s->tmp_dir);
    return mkostemps(path, 5, O_CLOEXEC);
}

int blob_sync_data_dir(struct blob_store *s, struct blob_error *e)
{
    if (fsync(s->data_dirfd) < 0) return blob_fail_errno(e, "cannot sync", s->data_dir);
    return 0;
}

void blob_files_remove(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN])
{
    char path[PATH_MAX];
    blob_data_path(s, hash, path, sizeof path);
    unlink(path);
    blob_outboard_path(s, hash, path, sizeof path);
    unlink(path);
}

/* ---- sqlite ------------------------------------------------------------------------------- */

int blob_exec(sqlite3 *db, const char *sql, struct blob_error *e)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) return blob_db_fail(db, e, sql);
    return 0;
}

static int conn_open(struct blob_store *s, sqlite3 **out, struct blob_error *e)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        int rc = blob_fail(e, IROH_EIO, "cannot open %s: %s", s->db_path,
                           db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 30000);
    /* FULL: a commit that returned survives power loss (files are fsynced before it). */
    int rc = blob_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", e);
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

sqlite3 *blob_conn_get(struct blob_store *s, struct blob_error *e)
{
    pthread_mutex_lock(&s->mu);
    struct blob_conn *c = s->free_conns;
    if (c) s->free_conns = c->next;
    pthread_mutex_unlock(&s->mu);
    if (c) {
        sqlite3 *db = c->db;
        free(c);
        return db;
    }
    sqlite3 *db = NULL;
    return conn_open(s, &db, e) == 0 ? db : NULL;
}

void blob_conn_put(struct blob_store *s, sqlite3 *db)
{
    if (!db) return;
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    struct blob_conn *c = malloc(sizeof *c);
    if (!c) {
        sqlite3_close(db);
        return;
    }
    c->db = db;
    pthread_mutex_lock(&s->mu);
    c->next = s->free_conns;
    s->free_conns = c;
    pthread_mutex_unlock(&s->mu);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct blob_error *e)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return blob_db_fail(db, e, "cannot prepare a query");
    return 0;
}

int blob_row_get(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], struct blob_row *row,
                 struct blob_error *e)
{
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT size, complete, data_loc, outboard_loc, present_groups FROM blobs "
                     "WHERE hash = ?1",
                     &st, e);
    if (rc < 0) return rc;
    sqlite3_bind_blob(st, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        row->size = (uint64_t)sqlite3_column_int64(st, 0);
        row->complete = sqlite3_column_int(st, 1) != 0;
        row->data_loc = (enum blob_location)sqlite3_column_int(st, 2);
        row->outboard_loc = (enum blob_outboard_location)sqlite3_column_int(st, 3);
        row->present_groups = (uint64_t)sqlite3_column_int64(st, 4);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = IROH_ENOTFOUND;
        blob_fail(e, rc, "the store has no blob with this hash");
    } else {
        rc = blob_db_fail(db, e, "cannot read the blob's entry");
    }
    sqlite3_finalize(st);
    return rc;
}

int blob_inline_put(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], const void *data,
                    size_t data_len, const void *outboard, size_t outboard_len,
                    struct blob_error *e)
{
    sqlite3_stmt *st;
    int rc =
        prepare(db, "INSERT OR REPLACE INTO blob_inline (hash, data, outboard) VALUES (?1, ?2, ?3)",
                &st, e);
    if (rc < 0) return rc;
    sqlite3_bind_blob(st, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    /* A zero-length blob is bound as an empty BLOB, not NULL: the empty blob's data. */
    if (data) sqlite3_bind_blob(st, 2, data_len ? data : "", (int)data_len, SQLITE_STATIC);
    if (outboard) sqlite3_bind_blob(st, 3, outboard, (int)outboard_len, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot store inline data");
    sqlite3_finalize(st);
    return rc;
}

int blob_inline_get(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], const char *column,
                    uint8_t **out, size_t *len, struct blob_error *e)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT %s FROM blob_inline WHERE hash = ?1", column);
    sqlite3_stmt *st;
    int rc = prepare(db, sql, &st, e);
    if (rc < 0) return rc;
    sqlite3_bind_blob(st, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) {
            rc = blob_fail(e, IROH_ENOMEM, "out of memory");
        } else {
            if (n) memcpy(buf, sqlite3_column_blob(st, 0), n);
            *out = buf;
            *len = n;
        }
    } else if (step == SQLITE_ROW || step == SQLITE_DONE) {
        rc = blob_fail(e, IROH_ECORRUPT, "the store lost the blob's inline %s", column);
    } else {
        rc = blob_db_fail(db, e, "cannot read inline data");
    }
    sqlite3_finalize(st);
    return rc;
}

int blob_exec_hash(sqlite3 *db, const char *sql, const uint8_t hash[BLOB_HASH_LEN],
                   struct blob_error *e)
{
    sqlite3_stmt *st;
    int rc = prepare(db, sql, &st, e);
    if (rc < 0) return rc;
    sqlite3_bind_blob(st, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot update the store");
    sqlite3_finalize(st);
    return rc;
}

int blob_row_insert(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], uint64_t size, bool complete,
                    enum blob_location data_loc, enum blob_outboard_location ob_loc,
                    uint64_t present_groups, struct blob_error *e)
{
    sqlite3_stmt *q;
    int rc = prepare(db,
                     "INSERT INTO blobs (hash, size, complete, data_loc, outboard_loc, "
                     "present_groups) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     &q, e);
    if (rc < 0) return rc;
    sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)size);
    sqlite3_bind_int(q, 3, complete);
    sqlite3_bind_int(q, 4, (int)data_loc);
    sqlite3_bind_int(q, 5, (int)ob_loc);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)present_groups);
    rc = sqlite3_step(q) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot add the blob");
    sqlite3_finalize(q);
    return rc;
}

int blob_rows_delete(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], struct blob_error *e)
{
    static const char *const sql[] = {
        "DELETE FROM blob_inline WHERE hash = ?1",
        "DELETE FROM blob_paths WHERE hash = ?1",
        "DELETE FROM blob_partial WHERE hash = ?1",
        "DELETE FROM blobs WHERE hash = ?1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        int rc = blob_exec_hash(db, sql[i], hash, e);
        if (rc < 0) return rc;
    }
    return 0;
}

/* ---- hash locks --------------------------------------------------------------------------- */

static bool is_locked(const struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], size_t *at)
{
    for (size_t i = 0; i < s->nlocked; i++) {
        if (memcmp(s->locked[i], hash, BLOB_HASH_LEN) == 0) {
            if (at) *at = i;
            return true;
        }
    }
    return false;
}

void blob_lock_hash(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN])
{
    pthread_mutex_lock(&s->mu);
    while (is_locked(s, hash, NULL) || s->nlocked == s->caplocked) {
        if (s->nlocked == s->caplocked && !is_locked(s, hash, NULL)) {
            size_t cap = s->caplocked ? s->caplocked * 2 : 16;
            void *grown = realloc(s->locked, cap * sizeof *s->locked);
            if (grown) {
                s->locked = grown;
                s->caplocked = cap;
                continue;
            }
        }
        pthread_cond_wait(&s->unlocked, &s->mu);
    }
    memcpy(s->locked[s->nlocked++], hash, BLOB_HASH_LEN);
    pthread_mutex_unlock(&s->mu);
}

void blob_unlock_hash(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN])
{
    pthread_mutex_lock(&s->mu);
    size_t at;
    if (is_locked(s, hash, &at)) {
        memmove(s->locked[at], s->locked[s->nlocked - 1], BLOB_HASH_LEN);
        s->nlocked--;
    }
    pthread_cond_broadcast(&s->unlocked);
    pthread_mutex_unlock(&s->mu);
}

/* ---- open and recovery --------------------------------------------------------------------- */

static int make_dir(const char *path, struct blob_error *e)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST) return blob_fail_errno(e, "cannot create", path);
    struct stat st;
    if (stat(path, &st) < 0) return blob_fail_errno(e, "cannot use", path);
    if (!S_ISDIR(st.st_mode)) return blob_fail(e, IROH_EIO, "%s is not a directory", path);
    return 0;
}

static unsigned clear_tmp(struct blob_store *s)
{
    unsigned n = 0;
    DIR *d = opendir(s->tmp_dir);
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0) n++;
    }
    closedir(d);
    return n;
}

/* A row as recovery sees it: what it claims in data/. */
struct claim {
    uint8_t hash[BLOB_HASH_LEN];
    uint64_t size;
    bool complete, data_file, outboard_file;
};

static int claim_cmp(const void *a, const void *b)
{
    return memcmp(a, b, BLOB_HASH_LEN);
}

static int load_claims(sqlite3 *db, struct claim **out, size_t *count, struct blob_error *e)
{
    sqlite3_stmt *st;
    int rc = prepare(
        db, "SELECT hash, size, complete, data_loc, outboard_loc FROM blobs ORDER BY hash", &st, e);
    if (rc < 0) return rc;
    struct claim *v = NULL;
    size_t n = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != BLOB_HASH_LEN) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct claim *grown = realloc(v, cap * sizeof *v);
            if (!grown) {
                rc = blob_fail(e, IROH_ENOMEM, "out of memory");
                break;
            }
            v = grown;
        }
        struct claim *c = &v[n++];
        memcpy(c->hash, sqlite3_column_blob(st, 0), BLOB_HASH_LEN);
        c->size = (uint64_t)sqlite3_column_int64(st, 1);
        c->complete = sqlite3_column_int(st, 2) != 0;
        c->data_file = sqlite3_column_int(st, 3) == BLOB_LOC_OWNED;
        c->outboard_file = sqlite3_column_int(st, 4) == BLOB_OUTBOARD_OWNED;
    }
    if (rc == 0 && step != SQLITE_DONE) rc = blob_db_fail(db, e, "cannot list the blobs");
    sqlite3_finalize(st);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

/* Removes files in data/ named like ours that no row claims. */
static void remove_orphans(struct blob_store *s, const struct claim *claims, size_t n)
{
    DIR *d = opendir(s->data_dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *dot = strchr(de->d_name, '.');
        uint8_t hash[BLOB_HASH_LEN];
        if (!dot || dot - de->d_name != BLOB_HASH_HEX_LEN) continue;
        bool is_data = strcmp(dot, ".data") == 0, is_outboard = strcmp(dot, ".obao4") == 0;
        if (!is_data && !is_outboard) continue;
        if (iroh_hex_decode(de->d_name, BLOB_HASH_HEX_LEN, hash, sizeof hash,
                            IROH_HEX_LOWER_ONLY) != BLOB_HASH_LEN)
            continue;
        const struct claim *c = n ? bsearch(hash, claims, n, sizeof *claims, claim_cmp) : NULL;
        bool claimed = c && (is_data ? c->data_file : c->outboard_file);
        if (!claimed && unlinkat(dirfd(d), de->d_name, 0) == 0) s->recovery.orphan_files++;
    }
    closedir(d);
}

/* Creates the sparse files of a partial entry (data and outboard at their full sizes). */
static int create_partial_files(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                                uint64_t size, struct blob_error *e)
{
    char path[PATH_MAX];
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            blob_data_path(s, hash, path, sizeof path);
        else
            blob_outboard_path(s, hash, path, sizeof path);
        uint64_t len = i == 0 ? size : iroh_bao_outboard_size(size);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return blob_fail_errno(e, "cannot create", path);
        if (ftruncate(fd, (off_t)len) < 0 || fsync(fd) < 0) {
            int rc = blob_fail_errno(e, "cannot size", path);
            close(fd);
            unlink(path);
            return rc;
        }
        close(fd);
    }
    return blob_sync_data_dir(s, e);
}

int blob_partial_files_create(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                              uint64_t size, struct blob_error *e)
{
    return create_partial_files(s, hash, size, e);
}

/* Rows must not claim files that are gone: drop lost complete entries, empty partial ones. */
static int check_claims(struct blob_store *s, sqlite3 *db, const struct claim *claims, size_t n,
                        struct blob_error *e)
{
    for (size_t i = 0; i < n; i++) {
        const struct claim *c = &claims[i];
        char path[PATH_MAX];
        struct stat st;
        bool missing = false;
        if (c->data_file) {
            blob_data_path(s, c->hash, path, sizeof path);
            missing |= stat(path, &st) < 0 || (c->complete && (uint64_t)st.st_size != c->size);
        }
        if (c->outboard_file) {
            blob_outboard_path(s, c->hash, path, sizeof path);
            missing |= stat(path, &st) < 0;
        }
        if (!missing) continue;
        int rc = blob_exec(db, "BEGIN IMMEDIATE", e);
        if (rc < 0) return rc;
        if (c->complete) {
            rc = blob_rows_delete(db, c->hash, e);
            if (rc == 0) s->recovery.lost_entries++;
        } else {
            size_t bits = (size_t)((iroh_bao_groups(c->size) + 7) / 8);
            uint8_t *zero = calloc(1, bits ? bits : 1);
            rc = zero ? create_partial_files(s, c->hash, c->size, e) : IROH_ENOMEM;
            sqlite3_stmt *st1 = NULL;
            if (rc == 0)
                rc = prepare(db, "UPDATE blob_partial SET bitfield = ?2 WHERE hash = ?1", &st1, e);
            if (rc == 0) {
                sqlite3_bind_blob(st1, 1, c->hash, BLOB_HASH_LEN, SQLITE_STATIC);
                sqlite3_bind_blob(st1, 2, zero, (int)bits, SQLITE_STATIC);
                if (sqlite3_step(st1) != SQLITE_DONE) rc = blob_db_fail(db, e, "cannot reset");
            }
            sqlite3_finalize(st1);
            if (rc == 0)
                rc = blob_exec_hash(db, "UPDATE blobs SET present_groups = 0 WHERE hash = ?1",
                                    c->hash, e);
            free(zero);
            if (rc == 0) s->recovery.reset_partial++;
        }
        if (rc == 0) rc = blob_exec(db, "COMMIT", e);
        if (rc < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return 0;
}

static int recover(struct blob_store *s, struct blob_error *e)
{
    s->recovery.temp_files = clear_tmp(s);
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    struct claim *claims = NULL;
    size_t n = 0;
    int rc = load_claims(db, &claims, &n, e);
    if (rc == 0) rc = check_claims(s, db, claims, n, e);
    if (rc == 0) {
        /* check_claims may have dropped rows: their files are orphans now. */
        free(claims);
        claims = NULL;
        rc = load_claims(db, &claims, &n, e);
    }
    if (rc == 0) remove_orphans(s, claims, n);
    if (rc == 0 && s->recovery.orphan_files) rc = blob_sync_data_dir(s, e);
    free(claims);
    blob_conn_put(s, db);
    return rc;
}

int blob_store_open(const char *db_path, const char *dir, struct blob_store **out,
                    struct blob_error *e)
{
    struct blob_store *s = calloc(1, sizeof *s);
    if (!s) return blob_fail(e, IROH_ENOMEM, "out of memory");
    s->data_dirfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->unlocked, NULL);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* A waiting GC must not starve behind a stream of imports taking temp tags. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->gc_lock, &attr);
    pthread_rwlockattr_destroy(&attr);

    int rc = 0;
    if ((size_t)snprintf(s->db_path, sizeof s->db_path, "%s", db_path) >= sizeof s->db_path ||
        (size_t)snprintf(s->dir, sizeof s->dir, "%s", dir) >= sizeof s->dir) {
        rc = blob_fail(e, IROH_EINVAL, "the store's path is too long");
        goto fail;
    }
    snprintf(s->data_dir, sizeof s->data_dir, "%s/data", s->dir);
    snprintf(s->tmp_dir, sizeof s->tmp_dir, "%s/tmp", s->dir);
    if ((rc = make_dir(s->dir, e)) < 0 || (rc = make_dir(s->data_dir, e)) < 0 ||
        (rc = make_dir(s->tmp_dir, e)) < 0)
        goto fail;
    s->data_dirfd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->data_dirfd < 0) {
        rc = blob_fail_errno(e, "cannot open", s->data_dir);
        goto fail;
    }
    if ((rc = recover(s, e)) < 0) goto fail;
    *out = s;
    return 0;
fail:
    blob_store_close(s);
    return rc;
}

const struct blob_recovery *blob_store_recovery(const struct blob_store *s)
{
    return &s->recovery;
}

void blob_store_close(struct blob_store *s)
{
    if (!s) return;
    while (s->free_conns) {
        struct blob_conn *c = s->free_conns;
        s->free_conns = c->next;
        sqlite3_close(c->db);
        free(c);
    }
    while (s->temp_tags) {
        struct blob_temp_tag *t = s->temp_tags;
        s->temp_tags = t->next;
        free(t);
    }
    if (s->data_dirfd >= 0) close(s->data_dirfd);
    free(s->locked);
    pthread_rwlock_destroy(&s->gc_lock);
    pthread_cond_destroy(&s->unlocked);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- entries ------------------------------------------------------------------------------- */

static void status_from_row(const uint8_t hash[BLOB_HASH_LEN], const struct blob_row *row,
                            struct blob_status *out)
{
    memcpy(out->hash, hash, BLOB_HASH_LEN);
    out->size = row->size;
    out->complete = row->complete;
    out->total_groups = iroh_bao_groups(row->size);
    out->present_groups = row->complete ? out->total_groups : row->present_groups;
    out->location = row->data_loc;
    out->outboard = row->outboard_loc;
}

int blob_store_status(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                      struct blob_status *out, struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    struct blob_row row;
    int rc = blob_row_get(db, hash, &row, e);
    blob_conn_put(s, db);
    if (rc == IROH_ENOTFOUND && memcmp(hash, blob_empty_hash, BLOB_HASH_LEN) == 0) {
        row = (struct blob_row){0, true, BLOB_LOC_INLINE, BLOB_OUTBOARD_NOT_NEEDED, 1};
        rc = 0;
    }
    if (rc == 0) status_from_row(hash, &row, out);
    return rc;
}

int blob_store_list(struct blob_store *s, struct blob_status **out, size_t *count,
                    struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT hash, size, complete, data_loc, outboard_loc, present_groups FROM "
                     "blobs ORDER BY hash",
                     &st, e);
    struct blob_status *v = NULL;
    size_t n = 0, cap = 0;
    if (rc == 0) {
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (sqlite3_column_bytes(st, 0) != BLOB_HASH_LEN) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                struct blob_status *grown = realloc(v, cap * sizeof *v);
                if (!grown) {
                    rc = blob_fail(e, IROH_ENOMEM, "out of memory");
                    break;
                }
                v = grown;
            }
            struct blob_row row = {
                .size = (uint64_t)sqlite3_column_int64(st, 1),
                .complete = sqlite3_column_int(st, 2) != 0,
                .data_loc = (enum blob_location)sqlite3_column_int(st, 3),
                .outboard_loc = (enum blob_outboard_location)sqlite3_column_int(st, 4),
                .present_groups = (uint64_t)sqlite3_column_int64(st, 5),
            };
            status_from_row(sqlite3_column_blob(st, 0), &row, &v[n++]);
        }
        if (rc == 0 && step != SQLITE_DONE) rc = blob_db_fail(db, e, "cannot list the blobs");
        sqlite3_finalize(st);
    }
    blob_conn_put(s, db);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

/* Bytes the store itself holds for an entry (what deleting it frees). */
static uint64_t held_bytes(const struct blob_row *row)
{
    uint64_t n = row->data_loc == BLOB_LOC_EXTERNAL ? 0 : row->size;
    if (row->outboard_loc != BLOB_OUTBOARD_NOT_NEEDED) n += iroh_bao_outboard_size(row->size);
    return n;
}

/* Deletes the rows of the locked hashes in one transaction, then their files. */
static int delete_locked(struct blob_store *s, sqlite3 *db, const uint8_t (*hashes)[BLOB_HASH_LEN],
                         size_t n, uint64_t *deleted, uint64_t *freed, struct blob_error *e)
{
    int rc = blob_exec(db, "BEGIN IMMEDIATE", e);
    if (rc < 0) return rc;
    bool *had = calloc(n ? n : 1, sizeof *had);
    if (!had) rc = blob_fail(e, IROH_ENOMEM, "out of memory");
    uint64_t count = 0, bytes = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct blob_row row;
        int got = blob_row_get(db, hashes[i], &row, e);
        if (got == IROH_ENOTFOUND) continue;
        if (got < 0) {
            rc = got;
            break;
        }
        rc = blob_rows_delete(db, hashes[i], e);
        had[i] = true;
        count++;
        bytes += held_bytes(&row);
    }
    if (rc == 0) rc = blob_exec(db, "COMMIT", e);
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        free(had);
        return rc;
    }
    /* Rows first, files last: a crash here leaves orphans that recovery removes. */
    for (size_t i = 0; i < n; i++)
        if (had[i]) blob_files_remove(s, hashes[i]);
    if (count) blob_sync_data_dir(s, NULL);
    free(had);
    if (deleted) *deleted += count;
    if (freed) *freed += bytes;
    return 0;
}

int blob_store_delete(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], bool *deleted,
                      struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    blob_lock_hash(s, hash);
    uint64_t count = 0;
    int rc = delete_locked(s, db, (const uint8_t(*)[BLOB_HASH_LEN])hash, 1, &count, NULL, e);
    blob_unlock_hash(s, hash);
    blob_conn_put(s, db);
    if (rc == 0 && deleted) *deleted = count > 0;
    return rc;
}

/* ---- tags ---------------------------------------------------------------------------------- */

static int check_tag_name(const char *name, struct blob_error *e)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > BLOB_TAG_NAME_MAX)
        return blob_fail(e, IROH_EINVAL, "a tag name has 1 to %d bytes", BLOB_TAG_NAME_MAX);
    return 0;
}

/* Inserts or replaces (replace) a tag; returns 1 when !replace and the name is taken. */
static int tag_write(struct blob_store *s, const char *name, const uint8_t hash[BLOB_HASH_LEN],
                     enum blob_format format, bool replace, struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    sqlite3_stmt *st;
    int rc =
        prepare(db,
                replace ? "INSERT OR REPLACE INTO tags (name, hash, format) VALUES (?1, ?2, ?3)"
                        : "INSERT OR IGNORE INTO tags (name, hash, format) VALUES (?1, ?2, ?3)",
                &st, e);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, hash, BLOB_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (int)format);
        /* A new protection: not while a GC marks and sweeps. */
        pthread_rwlock_rdlock(&s->gc_lock);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = blob_db_fail(db, e, "cannot write the tag");
        else if (!replace && sqlite3_changes(db) == 0)
            rc = 1;
        pthread_rwlock_unlock(&s->gc_lock);
        sqlite3_finalize(st);
    }
    blob_conn_put(s, db);
    return rc;
}

int blob_store_tag_set(struct blob_store *s, const char *name, const uint8_t hash[BLOB_HASH_LEN],
                       enum blob_format format, struct blob_error *e)
{
    int rc = check_tag_name(name, e);
    return rc < 0 ? rc : tag_write(s, name, hash, format, true, e);
}

int blob_store_tag_create(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                          enum blob_format format, char *name, size_t cap, struct blob_error *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[48];
    snprintf(base, sizeof base, "auto-%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));
    for (unsigned i = 0;; i++) {
        int n = i == 0 ? snprintf(name, cap, "%s", base) : snprintf(name, cap, "%s-%u", base, i);
        if (n < 0 || (size_t)n >= cap)
            return blob_fail(e, IROH_EBUFFER, "tag name buffer too small");
        int rc = tag_write(s, name, hash, format, false, e);
        if (rc <= 0) return rc;
    }
}

int blob_store_tag_get(struct blob_store *s, const char *name, struct blob_tag *out,
                       struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    sqlite3_stmt *st;
    int rc = prepare(db, "SELECT hash, format FROM tags WHERE name = ?1", &st, e);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == BLOB_HASH_LEN) {
            memcpy(out->hash, sqlite3_column_blob(st, 0), BLOB_HASH_LEN);
            out->format = (enum blob_format)sqlite3_column_int(st, 1);
            out->name = strdup(name);
            if (!out->name) rc = blob_fail(e, IROH_ENOMEM, "out of memory");
        } else if (step == SQLITE_ROW || step == SQLITE_DONE) {
            rc = blob_fail(e, IROH_ENOTFOUND, "no tag named \"%.200s\"", name);
        } else {
            rc = blob_db_fail(db, e, "cannot read the tag");
        }
        sqlite3_finalize(st);
    }
    blob_conn_put(s, db);
    return rc;
}

int blob_store_tag_delete(struct blob_store *s, const char *name, bool *deleted,
                          struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    sqlite3_stmt *st;
    int rc = prepare(db, "DELETE FROM tags WHERE name = ?1", &st, e);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = blob_db_fail(db, e, "cannot delete the tag");
        else if (deleted)
            *deleted = sqlite3_changes(db) > 0;
        sqlite3_finalize(st);
    }
    blob_conn_put(s, db);
    return rc;
}

void blob_tags_free(struct blob_tag *tags, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(tags[i].name);
    free(tags);
}

/* All tags, or (with hash_seq_only) those of format HashSeq. */
static int tag_list(sqlite3 *db, bool hash_seq_only, struct blob_tag **out, size_t *count,
                    struct blob_error *e)
{
    sqlite3_stmt *st;
    int rc = prepare(db,
                     hash_seq_only ? "SELECT name, hash, format FROM tags WHERE format = 1"
                                   : "SELECT name, hash, format FROM tags ORDER BY name",
                     &st, e);
    if (rc < 0) return rc;
    struct blob_tag *v = NULL;
    size_t n = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != BLOB_HASH_LEN) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct blob_tag *grown = realloc(v, cap * sizeof *v);
            if (!grown) {
                rc = blob_fail(e, IROH_ENOMEM, "out of memory");
                break;
            }
            v = grown;
        }
        v[n].name = strdup((const char *)sqlite3_column_text(st, 0));
        if (!v[n].name) {
            rc = blob_fail(e, IROH_ENOMEM, "out of memory");
            break;
        }
        memcpy(v[n].hash, sqlite3_column_blob(st, 1), BLOB_HASH_LEN);
        v[n].format = (enum blob_format)sqlite3_column_int(st, 2);
        n++;
    }
    if (rc == 0 && step != SQLITE_DONE) rc = blob_db_fail(db, e, "cannot list the tags");
    sqlite3_finalize(st);
    if (rc < 0) {
        blob_tags_free(v, n);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

int blob_store_tag_list(struct blob_store *s, struct blob_tag **out, size_t *count,
                        struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    int rc = tag_list(db, false, out, count, e);
    blob_conn_put(s, db);
    return rc;
}

/* ---- temp tags ------------------------------------------------------------------------------ */

int blob_temp_tag_new(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                      enum blob_format format, struct blob_temp_tag **out)
{
    struct blob_temp_tag *t = calloc(1, sizeof *t);
    if (!t) return IROH_ENOMEM;
    memcpy(t->hash, hash, BLOB_HASH_LEN);
    t->format = format;
    pthread_rwlock_rdlock(&s->gc_lock);
    pthread_mutex_lock(&s->mu);
    t->next = s->temp_tags;
    if (t->next) t->next->prev = t;
    s->temp_tags = t;
    s->ntemp_tags++;
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->gc_lock);
    *out = t;
    return 0;
}

void blob_temp_tag_drop(struct blob_store *s, struct blob_temp_tag *t)
{
    if (!t) return;
    pthread_mutex_lock(&s->mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        s->temp_tags = t->next;
    if (t->next) t->next->prev = t->prev;
    s->ntemp_tags--;
    pthread_mutex_unlock(&s->mu);
    free(t);
}

size_t blob_store_temp_tag_count(struct blob_store *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->ntemp_tags;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- garbage collection --------------------------------------------------------------------- */

struct hash_set {
    uint8_t (*v)[BLOB_HASH_LEN];
    size_t n, cap;
};

static int set_add(struct hash_set *set, const uint8_t hash[BLOB_HASH_LEN])
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        void *grown = realloc(set->v, cap * sizeof *set->v);
        if (!grown) return IROH_ENOMEM;
        set->v = grown;
        set->cap = cap;
    }
    memcpy(set->v[set->n++], hash, BLOB_HASH_LEN);
    return 0;
}

/* Adds the children of a HashSeq blob: every whole 32-byte hash of the groups present. */
static int add_children(struct blob_store *s, struct hash_set *live,
                        const uint8_t root[BLOB_HASH_LEN])
{
    struct blob_reader *r;
    if (blob_store_reader_open(s, root, &r, NULL) < 0) return 0; /* not stored: no children */
    uint64_t size = blob_reader_size(r);
    uint8_t *buf = malloc(IROH_BAO_GROUP_LEN);
    int rc = buf ? 0 : IROH_ENOMEM;
    for (uint64_t off = 0; rc == 0 && off < size; off += IROH_BAO_GROUP_LEN) {
        int64_t got = blob_reader_read(r, off, buf, IROH_BAO_GROUP_LEN, NULL);
        if (got < 0) continue; /* a group not present (yet), or unreadable: skip it */
        /* Groups are 16 KiB, a multiple of 32: hashes never straddle two groups. */
        for (int64_t i = 0; i + BLOB_HASH_LEN <= got && rc == 0; i += BLOB_HASH_LEN)
            rc = set_add(live, buf + i);
    }
    free(buf);
    blob_reader_close(r);
    return rc;
}

static int mark(struct blob_store *s, sqlite3 *db, struct hash_set *live, struct blob_error *e)
{
    struct blob_tag *tags = NULL;
    size_t ntags = 0;
    int rc = tag_list(db, false, &tags, &ntags, e);
    for (size_t i = 0; i < ntags && rc == 0; i++) {
        rc = set_add(live, tags[i].hash);
        if (rc == 0 && tags[i].format == BLOB_FORMAT_HASH_SEQ)
            rc = add_children(s, live, tags[i].hash);
    }
    blob_tags_free(tags, ntags);
    if (rc < 0) return rc == IROH_ENOMEM ? blob_fail(e, rc, "out of memory") : rc;

    /* Temp tags cannot change while we hold the GC lock for writing; copy them first. */
    struct hash_set temp = {0}, temp_seq = {0};
    pthread_mutex_lock(&s->mu);
    for (struct blob_temp_tag *t = s->temp_tags; t && rc == 0; t = t->next) {
        rc = set_add(&temp, t->hash);
        if (rc == 0 && t->format == BLOB_FORMAT_HASH_SEQ) rc = set_add(&temp_seq, t->hash);
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < temp.n && rc == 0; i++)
        rc = set_add(live, temp.v[i]);
    for (size_t i = 0; i < temp_seq.n && rc == 0; i++)
        rc = add_children(s, live, temp_seq.v[i]);
    free(temp.v);
    free(temp_seq.v);
    if (rc < 0) return blob_fail(e, rc, "out of memory");
    if (live->n > 1) qsort(live->v, live->n, BLOB_HASH_LEN, claim_cmp); /* v: NULL when empty */
    return 0;
}

#define GC_BATCH 100

int blob_store_gc(struct blob_store *s, struct blob_gc_stats *out, struct blob_error *e)
{
    struct blob_gc_stats stats = {0, 0};
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    pthread_rwlock_wrlock(&s->gc_lock);
    struct hash_set live = {0}, dead = {0};
    int rc = mark(s, db, &live, e);

    /* Sweep: every row not live. */
    sqlite3_stmt *st = NULL;
    if (rc == 0) rc = prepare(db, "SELECT hash FROM blobs", &st, e);
    if (rc == 0) {
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == 0) {
            const void *h = sqlite3_column_blob(st, 0);
            if (sqlite3_column_bytes(st, 0) != BLOB_HASH_LEN) continue;
            bool is_live = live.n && bsearch(h, live.v, live.n, BLOB_HASH_LEN, claim_cmp);
            if (!is_live && set_add(&dead, h) < 0) rc = blob_fail(e, IROH_ENOMEM, "out of memory");
        }
        if (rc == 0 && step != SQLITE_DONE) rc = blob_db_fail(db, e, "cannot list the blobs");
        sqlite3_finalize(st);
    }
    for (size_t i = 0; i < dead.n && rc == 0; i += GC_BATCH) {
        size_t n = dead.n - i < GC_BATCH ? dead.n - i : GC_BATCH;
        for (size_t j = 0; j < n; j++)
            blob_lock_hash(s, dead.v[i + j]);
        rc = delete_locked(s, db, (const uint8_t(*)[BLOB_HASH_LEN])dead.v + i, n, &stats.deleted,
                           &stats.freed_bytes, e);
        for (size_t j = 0; j < n; j++)
            blob_unlock_hash(s, dead.v[i + j]);
    }
    pthread_rwlock_unlock(&s->gc_lock);
    blob_conn_put(s, db);
    free(live.v);
    free(dead.v);
    if (out) *out = stats;
    return rc;
}
