/* blob_internal.h — what the blob store's files (blob_store.c, blob_import.c, blob_read.c,
 * blob_partial.c) share: the store struct, the sqlite connection pool, the hash locks and
 * small file helpers. Not for use outside storage/blob_*.c. */
#ifndef IROH_STORAGE_BLOB_INTERNAL_H
#define IROH_STORAGE_BLOB_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage/blob_store.h"

struct blob_conn {
    sqlite3 *db;
    struct blob_conn *next;
};

struct blob_temp_tag {
    uint8_t hash[BLOB_HASH_LEN];
    enum blob_format format;
    struct blob_temp_tag *prev, *next;
};

struct blob_store {
    char db_path[PATH_MAX];
    char dir[PATH_MAX - 16]; /* <data-dir>/blobs */
    char data_dir[PATH_MAX]; /* blobs/data */
    char tmp_dir[PATH_MAX];  /* blobs/tmp */
    int data_dirfd;          /* for fsync after renames and unlinks */
    pthread_mutex_t mu;      /* guards everything below */
    pthread_cond_t unlocked; /* a hash lock was released */
    uint8_t (*locked)[BLOB_HASH_LEN];
    size_t nlocked, caplocked;
    struct blob_temp_tag *temp_tags;
    size_t ntemp_tags;
    struct blob_conn *free_conns;
    pthread_rwlock_t gc_lock; /* GC writes; new protections read */
    struct blob_recovery recovery;
};

/* Entry row of the blobs table. */
struct blob_row {
    uint64_t size;
    bool complete;
    enum blob_location data_loc;
    enum blob_outboard_location outboard_loc;
    uint64_t present_groups;
};

/* BLAKE3 of the empty input: the empty blob is always complete (spec §10.1). */
extern const uint8_t blob_empty_hash[BLOB_HASH_LEN];

/* Formats detail (printf) into e if e is not NULL; returns rc. */
int blob_fail(struct blob_error *e, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* IROH_EIO with "<what> <path>: <strerror(errno)>", or the better code for errno (ENOENT:
 * IROH_ENOTFOUND, EACCES/EPERM: IROH_EPERM). */
int blob_fail_errno(struct blob_error *e, const char *what, const char *path);

/* Connections: one per call, from a pool. Returns NULL (and fills e) on failure. */
sqlite3 *blob_conn_get(struct blob_store *s, struct blob_error *e);
void blob_conn_put(struct blob_store *s, sqlite3 *db);
/* Runs sql without results; returns 0 or IROH_EIO (detail from sqlite). */
int blob_exec(sqlite3 *db, const char *sql, struct blob_error *e);
/* Runs sql with the hash bound to ?1; returns 0 or IROH_EIO. */
int blob_exec_hash(sqlite3 *db, const char *sql, const uint8_t hash[BLOB_HASH_LEN],
                   struct blob_error *e);
/* IROH_EIO with the connection's error message after `what`. */
int blob_db_fail(sqlite3 *db, struct blob_error *e, const char *what);
/* Inserts the blobs row of a new entry, complete or partial. Returns 0 or IROH_EIO. */
int blob_row_insert(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], uint64_t size, bool complete,
                    enum blob_location data_loc, enum blob_outboard_location ob_loc,
                    uint64_t present_groups, struct blob_error *e);
/* Reads the row of hash; returns 0, IROH_ENOTFOUND or IROH_EIO. */
int blob_row_get(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], struct blob_row *row,
                 struct blob_error *e);
/* Replaces the blob_inline row of hash with data/outboard (either may be NULL). */
int blob_inline_put(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], const void *data,
                    size_t data_len, const void *outboard, size_t outboard_len,
                    struct blob_error *e);
/* Reads one column ("data" or "outboard") of blob_inline into a new buffer (*len bytes). */
int blob_inline_get(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], const char *column,
                    uint8_t **out, size_t *len, struct blob_error *e);
/* Deletes the rows of hash from every blob table (inside the caller's transaction). */
int blob_rows_delete(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], struct blob_error *e);

/* Hash locks: serialise the changes of one hash. */
void blob_lock_hash(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN]);
void blob_unlock_hash(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN]);

/* Paths of the owned files of hash: "<data_dir>/<hex>.data" and ".obao4". */
void blob_data_path(const struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], char *buf,
                    size_t len);
void blob_outboard_path(const struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], char *buf,
                        size_t len);
/* Creates a temp file in tmp/ (O_RDWR, 0600); path gets its name. Returns the fd or -1. */
int blob_temp_create(struct blob_store *s, char *path, size_t len);
/* fsyncs data/ so renames and unlinks there are durable. */
int blob_sync_data_dir(struct blob_store *s, struct blob_error *e);

/* Writes or reads exactly len bytes at offset (retrying short transfers and EINTR); 0 or -1
 * with errno set (a short read at end of file sets errno to 0). */
int blob_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset);
int blob_pread_all(int fd, void *buf, size_t len, uint64_t offset);
int blob_write_all(int fd, const void *buf, size_t len);

/* Creates the sparse data and outboard files of a partial entry of size bytes, fsynced. */
int blob_partial_files_create(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                              uint64_t size, struct blob_error *e);
/* Deletes the owned files of an entry that is gone (after its rows were deleted). */
void blob_files_remove(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN]);

/* The time now as nanoseconds since the epoch of a struct stat's mtime. */
int64_t blob_stat_mtime_ns(const void *st /* struct stat * */);

/* Hashes `count` whole groups starting at group `first` of a blob of size bytes, whose data
 * is at `data`, into cvs (count × 32 bytes), using two threads for large batches. */
void blob_hash_groups(uint64_t size, uint64_t first, uint64_t count, const uint8_t *data,
                      uint8_t *cvs);

#endif
