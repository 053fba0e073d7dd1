/* blob_store.h — the blob store: content addressed by BLAKE3 with iroh-blobs semantics
 * (spec/blobs.md §9–§10). Entries, tags and small blobs live in irohd.db (sqlite, WAL); larger
 * data and outboards are files under <data-dir>/blobs/. Used by the blobs service (from libuv
 * worker threads) and, later, by the downloader and the provider.
 *
 * Layout
 *   irohd.db   blobs(hash, size, complete, data_loc, outboard_loc, present_groups)
 *              blob_inline(hash, data, outboard)     data ≤ 16 KiB, outboards ≤ 16 KiB
 *              blob_paths(hash, path, size, mtime_ns, ino, dev)   referenced (external) files
 *              blob_partial(hash, bitfield)          one bit per chunk group, LSB first
 *              tags(name, hash, format)
 *   blobs/data/<hex>.data    owned data (complete, or sparse while partial)
 *   blobs/data/<hex>.obao4   pre-order outboard when over 16 KiB (or while partial)
 *   blobs/tmp/               temp files of imports and exports in progress
 *
 * Placement (decided when an entry becomes complete, as iroh-blobs): data ≤ 16 KiB inline
 * whatever the import mode; larger data owned (copy, bytes) or external (reference); the
 * outboard not stored for ≤ 16 KiB, inline when it is ≤ 16 KiB (≤ 257 groups), else owned.
 *
 * Crash safety: files first, row last. A new file is written as a temp file, fsynced, renamed
 * into data/, and data/ is fsynced before the row that claims it commits; deletion commits
 * the row removal before unlinking. Partial writes fsync data and outboard pairs before the
 * bitfield that claims them commits. Connections use synchronous=FULL, so a committed row
 * survives power loss. blob_store_open removes temp files and files no row claims, drops rows
 * whose owned files are gone, and resets partial entries whose files are gone.
 *
 * Thread safety: every function may be called from any thread, concurrently, except
 * blob_store_close (no other call may be running or follow). A blob_reader is used by one
 * thread at a time. Inside: each call takes its own sqlite connection from a pool (WAL:
 * readers never wait for the writer; writers use BEGIN IMMEDIATE and a busy timeout); a
 * per-hash lock serialises every change of one hash (import commit, partial write, delete,
 * GC sweep), so the same content imported twice in parallel is stored once and both calls
 * get its hash; a store-wide GC lock keeps new protections (tag set, temp tags) from
 * appearing while a GC marks and sweeps. Hashing and copying run outside every lock.
 * Lock order: GC lock, then hash locks, then the store mutex (held only for memory state).
 *
 * Protection and deletion (as iroh-blobs): a blob is live while a named tag or a temp tag
 * points at it, or at a HashSeq blob that lists it (one level). blob_store_gc deletes every
 * other entry, complete or partial. blob_store_delete removes an entry whatever protects it;
 * tags pointing at it stay (dangling) and become valid again if the content comes back.
 *
 * Errors: IROH_E* codes; functions that take a struct blob_error * fill its detail with a
 * sentence for the user (it may be NULL). Ownership: arguments are borrowed for the call. */
#ifndef IROH_STORAGE_BLOB_STORE_H
#define IROH_STORAGE_BLOB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BLOB_HASH_LEN 32
#define BLOB_HASH_HEX_LEN 64
#define BLOB_INLINE_MAX 16384 /* iroh-blobs' max_data_inlined and max_outboard_inlined */
#define BLOB_TAG_NAME_MAX 1024

struct blob_store;
struct blob_reader;
struct blob_temp_tag;

enum blob_format { BLOB_FORMAT_RAW = 0, BLOB_FORMAT_HASH_SEQ = 1 };
enum blob_location { BLOB_LOC_INLINE = 0, BLOB_LOC_OWNED = 1, BLOB_LOC_EXTERNAL = 2 };
enum blob_outboard_location {
    BLOB_OUTBOARD_INLINE = 0,
    BLOB_OUTBOARD_OWNED = 1,
    BLOB_OUTBOARD_NOT_NEEDED = 2
};
enum blob_import_mode { BLOB_IMPORT_COPY, BLOB_IMPORT_REFERENCE };

struct blob_error {
    char detail[512];
};

/* Progress of a long call, reported from the calling thread: stage is a static string
 * ("hashing", "copying", "exporting"), done/total are bytes. Return nonzero to cancel the call
 * (it then fails with IROH_ECLOSED and leaves nothing behind). */
typedef int blob_progress_fn(void *ctx, const char *stage, uint64_t done, uint64_t total);
struct blob_progress {
    blob_progress_fn *fn; /* may be NULL */
    void *ctx;
};

/* What start-up recovery found and fixed. */
struct blob_recovery {
    unsigned temp_files;    /* temp files of interrupted imports and exports removed */
    unsigned orphan_files;  /* files in data/ that no row claimed, removed */
    unsigned lost_entries;  /* complete rows whose owned files were gone, removed */
    unsigned reset_partial; /* partial entries whose files were gone, emptied */
};

/* ---- opening ------------------------------------------------------------------------------ */

/* Opens the store whose tables are in the sqlite file db_path (already migrated by
 * storage_db_open) and whose files are under dir (created 0700 with data/ and tmp/ if
 * missing), then runs recovery. Returns 0 and the store in *out, or IROH_EIO / IROH_ENOMEM. */
int blob_store_open(const char *db_path, const char *dir, struct blob_store **out,
                    struct blob_error *e);
/* What recovery did at open. */
const struct blob_recovery *blob_store_recovery(const struct blob_store *s);
/* Frees the store. No call may be running; temp tags and readers must be gone. */
void blob_store_close(struct blob_store *s);

/* ---- hashes ----------------------------------------------------------------------------- */

/* Parses a hash as iroh does: 64 hex digits (either case) or 52 base32 characters (RFC 4648,
 * no padding, either case). Returns 0 or IROH_EINVAL. */
int blob_hash_parse(const char *text, uint8_t hash[BLOB_HASH_LEN]);
/* Writes the 64 lowercase hex digits and a NUL. */
void blob_hash_hex(const uint8_t hash[BLOB_HASH_LEN], char out[BLOB_HASH_HEX_LEN + 1]);
/* "raw" / "hash_seq"; parse returns the format or IROH_EINVAL. */
const char *blob_format_name(enum blob_format f);
int blob_format_parse(const char *name);
const char *blob_location_name(enum blob_location loc);

/* ---- importing -------------------------------------------------------------------------- */

/* The result of an import. temp_tag protects the blob from GC until the caller drops it with
 * blob_temp_tag_drop (after tagging it, or when the call ends). */
struct blob_added {
    uint8_t hash[BLOB_HASH_LEN];
    uint64_t size;
    enum blob_location location; /* where the content lives now */
    bool existed;                /* the store already had it complete */
    struct blob_temp_tag *temp_tag;
};

/* Imports len bytes. Data over 16 KiB is streamed through a temp file into an owned file. */
int blob_store_add_bytes(struct blob_store *s, const void *data, size_t len,
                         const struct blob_progress *progress, struct blob_added *out,
                         struct blob_error *e);
/* Imports the regular file at the absolute path. COPY reads the file once, hashing while it
 * copies into an owned file; REFERENCE hashes it in place and records its path, size, mtime
 * and inode (reads then fail with IROH_ECORRUPT if it changes). Files ≤ 16 KiB are inlined in
 * either mode. Content the store already has is not stored twice (owned data wins over a
 * reference; a copy of referenced content becomes owned). Returns 0, IROH_EINVAL (relative
 * path, not a regular file), IROH_ENOTFOUND (no such file), IROH_EPERM (unreadable), IROH_EIO
 * (a read or write failed, e.g. the disk is full: nothing is left behind), IROH_ECORRUPT (the
 * file changed while it was imported) or IROH_ECLOSED (cancelled). */
int blob_store_add_path(struct blob_store *s, const char *path, enum blob_import_mode mode,
                        const struct blob_progress *progress, struct blob_added *out,
                        struct blob_error *e);

/* ---- reading ---------------------------------------------------------------------------- */

struct blob_status {
    uint8_t hash[BLOB_HASH_LEN];
    uint64_t size;
    bool complete;
    uint64_t present_groups; /* chunk groups held and verified */
    uint64_t total_groups;
    enum blob_location location;
    enum blob_outboard_location outboard;
};

/* The state of one entry. The empty blob is always complete. Returns 0 or IROH_ENOTFOUND. */
int blob_store_status(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                      struct blob_status *out, struct blob_error *e);
/* Every entry, ordered by hash, in a new array (free() it). Returns 0 or IROH_EIO/ENOMEM. */
int blob_store_list(struct blob_store *s, struct blob_status **out, size_t *count,
                    struct blob_error *e);

/* Opens a reader on an entry (complete or partial). It keeps the content readable even if the
 * entry is deleted meanwhile. Returns 0, IROH_ENOTFOUND, IROH_ECORRUPT (a referenced file
 * changed or vanished) or IROH_EIO. */
int blob_store_reader_open(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                           struct blob_reader **out, struct blob_error *e);
uint64_t blob_reader_size(const struct blob_reader *r);
/* Reads min(len, size - offset) bytes at offset into buf and returns that count (0 at or past
 * the end). Data of referenced files is checked group by group against the outboard, so
 * wrong bytes are never returned. Returns IROH_ECORRUPT (file changed), IROH_ENOTFOUND (a
 * partial entry lacks part of the range) or IROH_EIO. */
int64_t blob_reader_read(struct blob_reader *r, uint64_t offset, void *buf, size_t len,
                         struct blob_error *e);
/* Reads the n ≤ BLOB_READ_GROUPS_MAX chunk groups first .. first + n − 1 (16 KiB each, the
 * blob's last one shorter: iroh_bao_group_len) into bufs[0..n), with one read of the file: a
 * provider fills the leaves of a response so, straight where they go. Checked as
 * blob_reader_read checks. Returns 0, IROH_EINVAL (groups past the end, n too large), or the
 * errors of blob_reader_read. *checked (unless NULL) is the number of groups at the start of
 * bufs that were read and checked: n, or after a group of a referenced file failed its check
 * (IROH_ECORRUPT when the file changed) the groups before it (a provider still sends those),
 * else 0; the other buffers hold nothing meaningful. */
#define BLOB_READ_GROUPS_MAX 64
int blob_reader_read_groups(struct blob_reader *r, uint64_t first, uint8_t *const *bufs, size_t n,
                            size_t *checked, struct blob_error *e);
/* Whether the entry was complete when the reader opened (else reads need present groups). */
bool blob_reader_complete(const struct blob_reader *r);
/* Reads len bytes at offset of the entry's pre-order outboard (iroh_bao_outboard_size bytes,
 * none for ≤ 16 KiB), e.g. for the bao encoder of a provider. For a partial entry only the
 * pairs on the paths of present groups are meaningful. Returns 0, IROH_EINVAL (past its end),
 * IROH_ECORRUPT or IROH_EIO. */
int blob_reader_outboard(struct blob_reader *r, uint64_t offset, void *buf, size_t len,
                         struct blob_error *e);
void blob_reader_close(struct blob_reader *r);

/* Copies a complete blob to the absolute path (through a temp file beside it, fsynced and
 * renamed; an existing file is replaced) with mode 0666 & ~umask (the umask of whoever asked
 * for the file, not irohd's). Returns 0 and the size, or IROH_ENOTFOUND, IROH_EINVAL
 * (relative path, incomplete blob), IROH_ECORRUPT, IROH_EIO, IROH_ECLOSED. */
int blob_store_export(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], const char *path,
                      mode_t umask, const struct blob_progress *progress, uint64_t *size,
                      struct blob_error *e);

/* ---- deleting --------------------------------------------------------------------------- */

/* Deletes an entry (complete or partial) whatever protects it; tags stay. Sets *deleted to
 * whether there was one. Returns 0 or IROH_EIO. */
int blob_store_delete(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], bool *deleted,
                      struct blob_error *e);

struct blob_gc_stats {
    uint64_t deleted;     /* entries removed */
    uint64_t freed_bytes; /* their data and outboard bytes held by the store (not external
                             files, which stay) */
};
/* Mark and sweep: live = named-tag and temp-tag targets, plus the children of those of format
 * HashSeq (one level, as far as the HashSeq blob is present); every other entry is deleted.
 * Returns 0 or IROH_EIO. */
int blob_store_gc(struct blob_store *s, struct blob_gc_stats *out, struct blob_error *e);

/* ---- tags ------------------------------------------------------------------------------ */

struct blob_tag {
    char *name;
    uint8_t hash[BLOB_HASH_LEN];
    enum blob_format format;
};

/* Sets (creates or replaces) a named tag; the hash need not be stored (yet). Returns 0,
 * IROH_EINVAL (empty or over-long name) or IROH_EIO. */
int blob_store_tag_set(struct blob_store *s, const char *name, const uint8_t hash[BLOB_HASH_LEN],
                       enum blob_format format, struct blob_error *e);
/* Creates a tag named auto-YYYY-MM-DDTHH:MM:SS.mmmZ (UTC now, "-1", "-2"… appended on a
 * collision) and writes its name to name (capacity cap ≥ 48). */
int blob_store_tag_create(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                          enum blob_format format, char *name, size_t cap, struct blob_error *e);
/* Returns 0 and the tag (free out->name), or IROH_ENOTFOUND. */
int blob_store_tag_get(struct blob_store *s, const char *name, struct blob_tag *out,
                       struct blob_error *e);
/* Sets *deleted to whether the tag existed. */
int blob_store_tag_delete(struct blob_store *s, const char *name, bool *deleted,
                          struct blob_error *e);
/* Every tag ordered by name (bytewise) in a new array; free it with blob_tags_free. */
int blob_store_tag_list(struct blob_store *s, struct blob_tag **out, size_t *count,
                        struct blob_error *e);
void blob_tags_free(struct blob_tag *tags, size_t count);

/* ---- temp tags --------------------------------------------------------------------------- */

/* A new in-memory protection of (hash, format), one reference; protections of the same hash
 * add up. Waits while a GC runs. Returns 0 or IROH_ENOMEM. */
int blob_temp_tag_new(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                      enum blob_format format, struct blob_temp_tag **out);
/* Drops one reference (NULL is ignored). */
void blob_temp_tag_drop(struct blob_store *s, struct blob_temp_tag *tt);
/* Number of temp tags held (for tests and status). */
size_t blob_store_temp_tag_count(struct blob_store *s);

/* ---- partial entries (downloads) ---------------------------------------------------------- */

/* Starts a partial entry of size bytes for hash (the size is the one the provider claims;
 * groups that do not fit its tree fail to verify). Returns 0 (created, or a partial entry of
 * that size already exists), 1 when the store already has the blob complete, IROH_EINVAL when
 * a partial entry with other groups present has another size, or IROH_EIO. Files first: the
 * sparse data and outboard files exist before the row. */
int blob_store_partial_create(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                              uint64_t size, struct blob_error *e);

/* One parent pair of the pre-order outboard (§5.5): its byte offset (index × 64) and bytes. */
struct blob_pair {
    uint64_t offset;
    uint8_t pair[64];
};
/* One whole chunk group: its index and its iroh_bao_group_len bytes, and optionally its
 * chaining value. cv is for a caller whose verifying decoder (iroh_bao_decoder) already checked
 * the data against it (item->cv of the released leaf): the store then checks that the CV lies
 * on a verified path to the root but does not hash the data again. NULL: the store hashes it.
 * Groups whose data is 4 KiB-aligned in memory are written with O_DIRECT (no copy into the
 * page cache) where the file system takes it. */
struct blob_group {
    uint64_t index;
    const uint8_t *data;
    size_t len;
    const uint8_t *cv; /* 32 bytes, or NULL */
};

/* Writes groups of a partial entry, each checked against the root hash along its path of
 * parent pairs, taken from `pairs` or from pairs already stored (so a batch needs only the
 * pairs not sent before); a group given with its cv is trusted to hash to it (see struct
 * blob_group), only its path is checked. The whole batch is checked before anything is written;
 * groups already present are skipped. Data and pairs are fsynced before the bitfield commits; when
 * the last group arrives the entry becomes complete (placement applied). Returns 0, 1 when the
 * entry is now complete, IROH_ENOTFOUND (no partial or complete entry), IROH_ECORRUPT (a group
 * or pair does not verify: nothing written), IROH_EINVAL (index or length wrong), IROH_EIO. */
int blob_store_partial_write(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                             const struct blob_pair *pairs, size_t npairs,
                             const struct blob_group *groups, size_t ngroups, struct blob_error *e);

/* Copies the bitfield of present groups (bit g of byte g/8, LSB first) into bits (capacity
 * cap ≥ ceil(groups/8)); *groups gets the group count. A complete entry has every bit set.
 * Returns 0, IROH_ENOTFOUND or IROH_EBUFFER. */
int blob_store_bitfield(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], uint8_t *bits,
                        size_t cap, uint64_t *groups, struct blob_error *e);

/* The byte offsets of the outboard pairs on the path from the root to group index of a blob
 * of size bytes, root first, into offsets (capacity cap ≥ 64). Returns their number (0 for a
 * one-group blob). */
size_t blob_pair_path(uint64_t size, uint64_t index, uint64_t *offsets, size_t cap);

#endif
