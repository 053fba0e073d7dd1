/* blob_partial.c — partial entries, the store side of downloads: create an entry for a
 * (hash, size), write chunk groups as they arrive (each verified against the root hash along
 * its path of parent pairs), persist which groups are present (a bitfield committed only after
 * the data and pairs are fsynced), and turn the entry complete when the last group arrives;
 * see blob_store.h. Partial entries over 16 KiB keep sparse files data/<hex>.data and
 * data/<hex>.obao4 at their final names; smaller ones hold nothing until their one group. */
#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/bao.h"
#include "storage/blob_internal.h"

static size_t bitfield_len(uint64_t size)
{
    return (size_t)((iroh_bao_groups(size) + 7) / 8);
}

static bool bit_get(const uint8_t *bits, uint64_t g)
{
    return (bits[g / 8] >> (g % 8)) & 1;
}

static int insert_partial(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], uint64_t size,
                          struct blob_error *e)
{
    bool files = size > BLOB_INLINE_MAX;
    int rc = blob_row_insert(db, hash, size, false, files ? BLOB_LOC_OWNED : BLOB_LOC_INLINE,
                             files ? BLOB_OUTBOARD_OWNED : BLOB_OUTBOARD_NOT_NEEDED, 0, e);
    if (rc < 0) return rc;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO blob_partial (hash, bitfield) VALUES (?1, zeroblob(?2))",
                           -1, &q, NULL) != SQLITE_OK)
        return blob_db_fail(db, e, "cannot add the partial blob");
    sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)bitfield_len(size));
    rc = sqlite3_step(q) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot add the partial blob");
    sqlite3_finalize(q);
    return rc;
}

static int create_locked(struct blob_store *s, sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN],
                         uint64_t size, struct blob_error *e)
{
    struct blob_row row;
    int rc = blob_row_get(db, hash, &row, e);
    if (rc == 0 && row.complete) return 1;
    if (rc == 0 && row.size == size) return 0;
    if (rc == 0 && row.present_groups > 0)
        return blob_fail(e, IROH_EINVAL,
                         "a partial entry of this blob with %llu bytes and groups present exists; "
                         "delete it first to start over with %llu bytes",
                         (unsigned long long)row.size, (unsigned long long)size);
    if (rc < 0 && rc != IROH_ENOTFOUND) return rc;
    bool replace = rc == 0; /* an empty partial entry of another size: start over */

    /* Files first, row last. */
    if (size > BLOB_INLINE_MAX && (rc = blob_partial_files_create(s, hash, size, e)) < 0) return rc;
    rc = blob_exec(db, "BEGIN IMMEDIATE", e);
    if (rc == 0 && replace) rc = blob_rows_delete(db, hash, e);
    if (rc == 0) rc = insert_partial(db, hash, size, e);
    if (rc == 0) rc = blob_exec(db, "COMMIT", e);
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        if (!replace) blob_files_remove(s, hash);
    } else if (replace && size <= BLOB_INLINE_MAX) {
        blob_files_remove(s, hash);
    }
    return rc;
}

int blob_store_partial_create(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                              uint64_t size, struct blob_error *e)
{
    if (memcmp(hash, blob_empty_hash, BLOB_HASH_LEN) == 0) return 1;
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    blob_lock_hash(s, hash);
    int rc = create_locked(s, db, hash, size, e);
    blob_unlock_hash(s, hash);
    blob_conn_put(s, db);
    return rc;
}

/* ---- writing groups ---------------------------------------------------------------------- */

struct pair_ref {
    const struct blob_pair *p;
    bool verified; /* on the checked path of an accepted group: to be written */
};

struct verify_ctx {
    struct pair_ref *refs; /* sorted by offset */
    size_t n;
    int ob_fd;                       /* pairs stored before (never unverified ones), or -1 */
    size_t used[IROH_BAO_STACK_MAX]; /* refs read while checking the current group */
    unsigned nused;
};

static int ref_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct pair_ref *)a)->p->offset,
             y = ((const struct pair_ref *)b)->p->offset;
    return x < y ? -1 : x > y;
}

/* iroh_bao_read_fn: a pair of the batch, else the one stored (zeros if never written, which
 * fail the check: a stored pair is only ever one that was verified). */
static int read_pair(void *arg, uint64_t offset, void *buf, size_t len)
{
    struct verify_ctx *v = arg;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t at = v->refs[mid].p->offset;
        if (at == offset && len == IROH_BAO_PAIR_LEN) {
            if (v->nused < IROH_BAO_STACK_MAX) v->used[v->nused++] = mid;
            memcpy(buf, v->refs[mid].p->pair, len);
            return 0;
        }
        if (at < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (v->ob_fd < 0) return IROH_ECORRUPT;
    if (blob_pread_all(v->ob_fd, buf, len, offset) < 0) return errno ? IROH_EIO : IROH_ECORRUPT;
    return 0;
}

static int read_bits(sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN], uint8_t *bits, size_t len,
                     struct blob_error *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT bitfield FROM blob_partial WHERE hash = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return blob_db_fail(db, e, "cannot read the bitfield");
    sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    int rc = 0;
    memset(bits, 0, len);
    if (sqlite3_step(q) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        if (n) memcpy(bits, sqlite3_column_blob(q, 0), n < len ? n : len);
    } else {
        rc = blob_db_fail(db, e, "cannot read the bitfield");
    }
    sqlite3_finalize(q);
    return rc;
}

struct batch {
    struct blob_row row;
    uint64_t groups;
    uint8_t *bits;
    int data_fd, ob_fd;
    struct pair_ref *refs;
    const struct blob_group **accepted;
    size_t naccepted;
};

/* Checks every group of the batch; fills b->accepted (and sets their bits in b->bits) and
 * marks the pairs to write. */
static int verify_batch(const uint8_t hash[BLOB_HASH_LEN], struct batch *b,
                        const struct blob_pair *pairs, size_t npairs,
                        const struct blob_group *groups, size_t ngroups, struct blob_error *e)
{
    uint64_t ob_size = iroh_bao_outboard_size(b->row.size);
    for (size_t i = 0; i < npairs; i++) {
        if (pairs[i].offset % IROH_BAO_PAIR_LEN || pairs[i].offset >= ob_size)
            return blob_fail(e, IROH_EINVAL,
                             "pair offset %llu is not a pair of this blob's outboard",
                             (unsigned long long)pairs[i].offset);
        b->refs[i] = (struct pair_ref){&pairs[i], false};
    }
    qsort(b->refs, npairs, sizeof *b->refs, ref_cmp);
    struct verify_ctx v = {.refs = b->refs, .n = npairs, .ob_fd = b->ob_fd};
    /* The batch's pairs and the stored ones do not change during the check: the upper levels
     * the groups' paths share are read and hashed once (their refs are marked by the first
     * group that used them). */
    struct iroh_bao_path path;
    iroh_bao_path_init(&path);
    for (size_t i = 0; i < ngroups; i++) {
        const struct blob_group *g = &groups[i];
        if (g->index >= b->groups || g->len != iroh_bao_group_len(b->row.size, g->index))
            return blob_fail(e, IROH_EINVAL,
                             "group %llu with %zu bytes does not fit a blob of %llu bytes",
                             (unsigned long long)g->index, g->len, (unsigned long long)b->row.size);
        if (bit_get(b->bits, g->index)) continue; /* present, or accepted in this batch */
        v.nused = 0;
        /* A group with its CV was hashed by the caller's decoder: only its path is checked. */
        uint8_t cv[32];
        if (!g->cv) iroh_bao_group_cv(b->row.size, g->index, g->data, g->len, 1, cv);
        int rc = iroh_bao_verify_group_cv_path(hash, b->row.size, read_pair, &v, g->index,
                                               g->cv ? g->cv : cv, &path);
        if (rc == IROH_ECORRUPT)
            return blob_fail(e, rc,
                             "chunk group %llu does not verify against the hash (wrong data, "
                             "missing or wrong parent pairs, or a wrong size); nothing was written",
                             (unsigned long long)g->index);
        if (rc < 0) return blob_fail(e, rc, "cannot read the stored outboard: %s", strerror(errno));
        for (unsigned j = 0; j < v.nused; j++)
            b->refs[v.used[j]].verified = true;
        b->accepted[b->naccepted++] = g;
        b->bits[g->index / 8] |= (uint8_t)(1u << (g->index % 8));
    }
    return 0;
}

/* Pieces written at consecutive file offsets, gathered into one pwritev (a download's batch
 * of groups is one run, its pairs a few). A run of pieces that are all DIO_ALIGN-aligned in
 * memory, length and offset goes through direct_fd (O_DIRECT) when there is one: the data
 * then goes to the disk without being copied into the page cache, which is most of the CPU a
 * download's writes cost (fresh page-cache pages are expensive on a VM). */
#define DIO_ALIGN 4096
struct run {
    int fd, direct_fd; /* direct_fd: the same file opened with O_DIRECT, or -1 */
    int n;
    bool aligned; /* every piece so far is DIO_ALIGN-aligned */
    uint64_t off, len;
    struct iovec iov[128];
};

static bool dio_aligned(const void *data, size_t len, uint64_t off)
{
    return (uintptr_t)data % DIO_ALIGN == 0 && len % DIO_ALIGN == 0 && off % DIO_ALIGN == 0;
}

static int run_flush(struct run *r)
{
    struct iovec *iov = r->iov;
    int n = r->n;
    uint64_t off = r->off;
    r->n = 0;
    if (n > 0 && r->aligned && r->direct_fd >= 0) {
        ssize_t w;
        do
            w = pwritev(r->direct_fd, iov, n, (off_t)off);
        while (w < 0 && errno == EINTR);
        if (w == (ssize_t)r->len) return 0;
        if (w >= 0) errno = EIO; /* a short direct write: the disk is full or failing */
        if (w >= 0 || errno != EINVAL) return -1;
        /* EINVAL: the file system wants another alignment; write through the page cache. */
        close(r->direct_fd);
        r->direct_fd = -1;
    }
    while (n > 0) {
        ssize_t w = pwritev(r->fd, iov, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (uint64_t)w;
        for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
            w -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int run_add(struct run *r, const void *data, size_t len, uint64_t off)
{
    bool aligned = dio_aligned(data, len, off);
    if (r->n &&
        (r->off + r->len != off || r->n == (int)(sizeof r->iov / sizeof r->iov[0]) ||
         r->aligned != aligned) &&
        run_flush(r) < 0)
        return -1;
    if (r->n == 0) {
        r->off = off;
        r->len = 0;
        r->aligned = aligned;
    }
    r->iov[r->n++] = (struct iovec){(void *)data, len};
    r->len += len;
    return 0;
}

/* Writes accepted groups and verified pairs, then fsyncs both files. */
static int write_batch(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], struct batch *b,
                       size_t npairs, struct blob_error *e)
{
    if (b->data_fd < 0) return 0; /* one group: kept inline when the entry completes */
    char path[PATH_MAX];
    blob_outboard_path(s, hash, path, sizeof path);
    struct run r = {.fd = b->ob_fd, .direct_fd = -1};
    for (size_t i = 0; i < npairs; i++) /* refs are sorted by offset */
        if (b->refs[i].verified &&
            run_add(&r, b->refs[i].p->pair, IROH_BAO_PAIR_LEN, b->refs[i].p->offset) < 0)
            return blob_fail_errno(e, "cannot write", path);
    if (run_flush(&r) < 0) return blob_fail_errno(e, "cannot write", path);
    if (fdatasync(b->ob_fd) < 0) return blob_fail_errno(e, "cannot sync", path);
    blob_data_path(s, hash, path, sizeof path);
    r.fd = b->data_fd;
    r.direct_fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC); /* -1 where not supported */
    int rc = 0;
    for (size_t i = 0; i < b->naccepted && rc == 0; i++) {
        const struct blob_group *g = b->accepted[i];
        if (run_add(&r, g->data, g->len, g->index * IROH_BAO_GROUP_LEN) < 0)
            rc = blob_fail_errno(e, "cannot write", path);
    }
    if (rc == 0 && run_flush(&r) < 0) rc = blob_fail_errno(e, "cannot write", path);
    if (r.direct_fd >= 0) close(r.direct_fd);
    if (rc == 0 && fdatasync(b->data_fd) < 0) rc = blob_fail_errno(e, "cannot sync", path);
    return rc;
}

/* Inside a transaction: records the new groups, or makes the entry complete. Sets *inlined
 * when the outboard moved into the database (its file then goes after the commit). */
static int record_batch(struct blob_store *s, sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN],
                        struct batch *b, bool *inlined, struct blob_error *e)
{
    (void)s;
    uint64_t present = b->row.present_groups + b->naccepted;
    sqlite3_stmt *q;
    int rc = 0;
    if (present < b->groups) { /* b->bits has the accepted groups' bits set */
        if (sqlite3_prepare_v2(db, "UPDATE blob_partial SET bitfield = ?2 WHERE hash = ?1", -1, &q,
                               NULL) != SQLITE_OK)
            return blob_db_fail(db, e, "cannot update the bitfield");
        sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, b->bits, (int)bitfield_len(b->row.size), SQLITE_STATIC);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot update the bitfield");
        sqlite3_finalize(q);
        if (rc < 0) return rc;
        if (sqlite3_prepare_v2(db, "UPDATE blobs SET present_groups = ?2 WHERE hash = ?1", -1, &q,
                               NULL) != SQLITE_OK)
            return blob_db_fail(db, e, "cannot update the entry");
        sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)present);
        rc = sqlite3_step(q) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot update the entry");
        sqlite3_finalize(q);
        return rc;
    }

    /* Complete: apply the placement of a complete entry. */
    enum blob_location data_loc = b->row.data_loc;
    enum blob_outboard_location ob_loc = b->row.outboard_loc;
    uint64_t ob_size = iroh_bao_outboard_size(b->row.size);
    if (b->data_fd < 0) { /* one group of ≤ 16 KiB: its data goes inline */
        const struct blob_group *g = b->accepted[0];
        rc = blob_inline_put(db, hash, g->data, g->len, NULL, 0, e);
        data_loc = BLOB_LOC_INLINE;
        ob_loc = BLOB_OUTBOARD_NOT_NEEDED;
    } else if (ob_size <= BLOB_INLINE_MAX) {
        uint8_t *ob = malloc(ob_size);
        if (!ob) return blob_fail(e, IROH_ENOMEM, "out of memory");
        if (blob_pread_all(b->ob_fd, ob, ob_size, 0) < 0)
            rc = blob_fail(e, IROH_EIO, "cannot read the outboard: %s", strerror(errno));
        else
            rc = blob_inline_put(db, hash, NULL, 0, ob, ob_size, e);
        free(ob);
        ob_loc = BLOB_OUTBOARD_INLINE;
        *inlined = true;
    }
    if (rc < 0) return rc;
    if ((rc = blob_exec_hash(db, "DELETE FROM blob_partial WHERE hash = ?1", hash, e)) < 0)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "UPDATE blobs SET complete = 1, data_loc = ?2, outboard_loc = ?3, "
                           "present_groups = ?4 WHERE hash = ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return blob_db_fail(db, e, "cannot complete the entry");
    sqlite3_bind_blob(q, 1, hash, BLOB_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)data_loc);
    sqlite3_bind_int(q, 3, (int)ob_loc);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)b->groups);
    rc = sqlite3_step(q) == SQLITE_DONE ? 0 : blob_db_fail(db, e, "cannot complete the entry");
    sqlite3_finalize(q);
    return rc;
}

static int open_rw(const char *path, int *fd, struct blob_error *e)
{
    *fd = open(path, O_RDWR | O_CLOEXEC);
    if (*fd >= 0) return 0;
    int rc = blob_fail_errno(e, "cannot open the partial file", path);
    return rc == IROH_ENOTFOUND ? IROH_ECORRUPT : rc;
}

static int write_locked(struct blob_store *s, sqlite3 *db, const uint8_t hash[BLOB_HASH_LEN],
                        struct batch *b, const struct blob_pair *pairs, size_t npairs,
                        const struct blob_group *groups, size_t ngroups, struct blob_error *e)
{
    int rc = blob_row_get(db, hash, &b->row, e);
    if (rc == IROH_ENOTFOUND)
        return blob_fail(e, rc, "there is no partial entry for this hash; create one first");
    if (rc < 0) return rc;
    if (b->row.complete) return 1;
    b->groups = iroh_bao_groups(b->row.size);
    b->bits = malloc(bitfield_len(b->row.size));
    b->refs = malloc((npairs ? npairs : 1) * sizeof *b->refs);
    b->accepted = malloc((ngroups ? ngroups : 1) * sizeof *b->accepted);
    if (!b->bits || !b->refs || !b->accepted) return blob_fail(e, IROH_ENOMEM, "out of memory");
    if ((rc = read_bits(db, hash, b->bits, bitfield_len(b->row.size), e)) < 0) return rc;
    if (b->row.data_loc == BLOB_LOC_OWNED) {
        char path[PATH_MAX];
        blob_data_path(s, hash, path, sizeof path);
        if ((rc = open_rw(path, &b->data_fd, e)) < 0) return rc;
        blob_outboard_path(s, hash, path, sizeof path);
        if ((rc = open_rw(path, &b->ob_fd, e)) < 0) return rc;
    }
    if ((rc = verify_batch(hash, b, pairs, npairs, groups, ngroups, e)) < 0) return rc;
    if (b->naccepted == 0) return 0;
    if ((rc = write_batch(s, hash, b, npairs, e)) < 0) return rc;

    bool inlined = false;
    rc = blob_exec(db, "BEGIN IMMEDIATE", e);
    if (rc == 0) rc = record_batch(s, db, hash, b, &inlined, e);
    if (rc == 0) rc = blob_exec(db, "COMMIT", e);
    if (rc < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (b->row.present_groups + b->naccepted < b->groups) return 0;
    if (inlined) {
        char path[PATH_MAX];
        blob_outboard_path(s, hash, path, sizeof path);
        unlink(path);
        blob_sync_data_dir(s, NULL);
    }
    return 1;
}

int blob_store_partial_write(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                             const struct blob_pair *pairs, size_t npairs,
                             const struct blob_group *groups, size_t ngroups, struct blob_error *e)
{
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    struct batch b = {.data_fd = -1, .ob_fd = -1};
    blob_lock_hash(s, hash);
    int rc = write_locked(s, db, hash, &b, pairs, npairs, groups, ngroups, e);
    blob_unlock_hash(s, hash);
    blob_conn_put(s, db);
    if (b.data_fd >= 0) close(b.data_fd);
    if (b.ob_fd >= 0) close(b.ob_fd);
    free(b.bits);
    free(b.refs);
    free(b.accepted);
    return rc;
}

int blob_store_bitfield(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN], uint8_t *bits,
                        size_t cap, uint64_t *groups, struct blob_error *e)
{
    struct blob_status st;
    int rc = blob_store_status(s, hash, &st, e);
    if (rc < 0) return rc;
    size_t len = bitfield_len(st.size);
    *groups = st.total_groups;
    if (cap < len) return blob_fail(e, IROH_EBUFFER, "the bitfield needs %zu bytes", len);
    if (st.complete) {
        memset(bits, 0, len);
        for (uint64_t g = 0; g < st.total_groups; g++)
            bits[g / 8] |= (uint8_t)(1u << (g % 8));
        return 0;
    }
    sqlite3 *db = blob_conn_get(s, e);
    if (!db) return IROH_EIO;
    rc = read_bits(db, hash, bits, len, e);
    blob_conn_put(s, db);
    return rc;
}
