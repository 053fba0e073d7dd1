/* test_blob_missing.c — storage/blob_missing on a real store in a temp dir: widening ranges to
 * whole chunk groups, and the ranges a download still needs for an unknown blob, a partial one
 * with scattered groups (wanted all, or a byte range, or only past the end), a complete one and
 * the empty blob, with the byte counts progress is made of. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/bao.h"
#include "core/blake3.h"
#include "iroh/error.h"
#include "storage/blob_missing.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "tests/test.h"
#include "tests/unit/tmpdir.h"

#define NODE_ID "2222222222222222222222222222222222222222222222222222222222222222"
#define G IROH_BAO_GROUP_CHUNKS

static char tmpdir[512];

static struct blob_store *open_store(void)
{
    char db_path[700], blobs[700], err[256];
    snprintf(db_path, sizeof db_path, "%s/irohd.db", tmpdir);
    snprintf(blobs, sizeof blobs, "%s/blobs", tmpdir);
    sqlite3 *db;
    if (storage_db_open(db_path, NODE_ID, &db, err, sizeof err) < 0) return NULL;
    storage_db_close(db);
    struct blob_store *s = NULL;
    struct blob_error e = {""};
    if (blob_store_open(db_path, blobs, &s, &e) < 0) fprintf(stderr, "open: %s\n", e.detail);
    return s;
}

/* Whether r's boundaries are exactly want[0..n). */
static bool bounds_are(const struct iroh_chunk_ranges *r, const uint64_t *want, size_t n)
{
    if (r->len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (r->bounds[i] != want[i]) return false;
    return true;
}

static void test_to_groups(void)
{
    uint64_t in_storage[8], out_storage[8];
    struct iroh_chunk_ranges in, out;
    iroh_chunk_ranges_init(&in, in_storage, 8);
    iroh_chunk_ranges_init(&out, out_storage, 8);

    /* [3,5) ∪ [20,40) ∪ [47,49) → [0,16) ∪ [16,48) ∪ [32,64): merged into [0,64). */
    uint64_t a[] = {3, 5, 20, 40, 47, 49};
    memcpy(in_storage, a, sizeof a);
    in.len = 6;
    CHECK_EQ_INT(blob_ranges_to_groups(&out, &in), 0);
    CHECK(bounds_are(&out, (uint64_t[]){0, 64}, 2));

    /* Separate groups stay separate; an open end stays open. */
    uint64_t b[] = {1, 2, 40, 41, 100};
    memcpy(in_storage, b, sizeof b);
    in.len = 5;
    CHECK_EQ_INT(blob_ranges_to_groups(&out, &in), 0);
    CHECK(bounds_are(&out, (uint64_t[]){0, 16, 32, 48, 96}, 5));

    /* The last chunk ({2^64 - 1}) widens to its group, open. */
    iroh_chunk_ranges_set_from(&in, UINT64_MAX);
    CHECK_EQ_INT(blob_ranges_to_groups(&out, &in), 0);
    CHECK(bounds_are(&out, (uint64_t[]){UINT64_MAX / G * G}, 1));

    /* An end that cannot be rounded up without overflow becomes open. */
    iroh_chunk_ranges_set_range(&in, 5, UINT64_MAX - 3);
    CHECK_EQ_INT(blob_ranges_to_groups(&out, &in), 0);
    CHECK(bounds_are(&out, (uint64_t[]){0}, 1));

    /* Too little room is reported. */
    struct iroh_chunk_ranges small;
    uint64_t one[1];
    iroh_chunk_ranges_init(&small, one, 1);
    iroh_chunk_ranges_set_range(&in, 1, 2);
    CHECK_EQ_INT(blob_ranges_to_groups(&small, &in), IROH_EBUFFER);
}

/* Writes groups[0..n) of data (size bytes, outboard ob) into a partial entry. */
static void write_groups(struct blob_store *s, const uint8_t hash[32], const uint8_t *data,
                         uint64_t size, const uint8_t *ob, const uint64_t *groups, size_t n)
{
    struct blob_error e = {""};
    for (size_t i = 0; i < n; i++) {
        struct blob_pair pairs[64];
        uint64_t offs[64];
        size_t np = blob_pair_path(size, groups[i], offs, 64);
        for (size_t k = 0; k < np; k++) {
            pairs[k].offset = offs[k];
            memcpy(pairs[k].pair, ob + offs[k], 64);
        }
        struct blob_group g = {groups[i], data + groups[i] * IROH_BAO_GROUP_LEN,
                               iroh_bao_group_len(size, groups[i]), NULL};
        int rc = blob_store_partial_write(s, hash, pairs, np, &g, 1, &e);
        CHECK(rc >= 0);
        if (rc < 0)
            fprintf(stderr, "write group %llu: %s\n", (unsigned long long)groups[i], e.detail);
    }
}

static void test_missing(void)
{
    struct blob_store *s = open_store();
    CHECK(s != NULL);
    if (!s) return;
    /* 10 groups, the last one 100 bytes. */
    uint64_t size = 9 * IROH_BAO_GROUP_LEN + 100, ob_size = iroh_bao_outboard_size(size);
    uint8_t *data = malloc(size), *ob = malloc(ob_size), hash[32];
    for (uint64_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 11));
    iroh_bao_outboard_compute(data, size, 1, ob, hash);

    uint64_t all_storage[1], range_storage[2];
    struct iroh_chunk_ranges all, range;
    iroh_chunk_ranges_init(&all, all_storage, 1);
    iroh_chunk_ranges_init(&range, range_storage, 2);
    iroh_chunk_ranges_set_all(&all);
    struct blob_missing m;
    struct blob_error e = {""};

    /* Unknown: everything wanted, widened; sizes unknown. */
    iroh_chunk_ranges_set_bytes(&range, 20000, 40000); /* chunks 19..40 → groups 1..2 */
    CHECK_EQ_INT(blob_store_missing(s, hash, &range, &m, &e), 0);
    CHECK(!m.known);
    CHECK(bounds_are(&m.ranges, (uint64_t[]){16, 48}, 2));
    CHECK_EQ_INT(m.wanted_bytes, 0);
    blob_missing_free(&m);

    /* Partial with groups 0, 2, 3 and 9 (the last). */
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size, &e), 0);
    write_groups(s, hash, data, size, ob, (uint64_t[]){0, 2, 3, 9}, 4);
    CHECK_EQ_INT(blob_store_missing(s, hash, &all, &m, &e), 0);
    CHECK(m.known && !m.complete);
    CHECK_EQ_INT(m.size, size);
    CHECK(bounds_are(&m.ranges, (uint64_t[]){16, 32, 64, 144}, 4));
    CHECK_EQ_INT(m.wanted_bytes, size);
    CHECK_EQ_INT(m.present_bytes, 3 * IROH_BAO_GROUP_LEN + 100);
    blob_missing_free(&m);

    /* A byte range: only its groups count. */
    CHECK_EQ_INT(blob_store_missing(s, hash, &range, &m, &e), 0);
    CHECK(bounds_are(&m.ranges, (uint64_t[]){16, 32}, 2));
    CHECK_EQ_INT(m.wanted_bytes, 2 * IROH_BAO_GROUP_LEN);
    CHECK_EQ_INT(m.present_bytes, IROH_BAO_GROUP_LEN);
    blob_missing_free(&m);

    /* Past the end means the last group, which is here. */
    iroh_chunk_ranges_set_from(&range, 5000);
    CHECK_EQ_INT(blob_store_missing(s, hash, &range, &m, &e), 0);
    CHECK(iroh_chunk_ranges_is_empty(&m.ranges));
    CHECK_EQ_INT(m.wanted_bytes, 100);
    CHECK_EQ_INT(m.present_bytes, 100);
    blob_missing_free(&m);

    /* Complete: nothing is missing. */
    write_groups(s, hash, data, size, ob, (uint64_t[]){1, 4, 5, 6, 7, 8}, 6);
    CHECK_EQ_INT(blob_store_missing(s, hash, &all, &m, &e), 0);
    CHECK(m.complete);
    CHECK(iroh_chunk_ranges_is_empty(&m.ranges));
    CHECK_EQ_INT(m.present_bytes, size);
    blob_missing_free(&m);

    /* The empty blob is always complete. */
    uint8_t empty[32];
    iroh_blake3_hash(NULL, 0, empty);
    CHECK_EQ_INT(blob_store_missing(s, empty, &all, &m, &e), 0);
    CHECK(m.complete);
    CHECK(iroh_chunk_ranges_is_empty(&m.ranges));
    blob_missing_free(&m);

    free(data);
    free(ob);
    blob_store_close(s);
}

int main(void)
{
    tmpdir_make(tmpdir, sizeof tmpdir, "blobmissing");
    RUN(test_to_groups);
    RUN(test_missing);
    rm_rf(tmpdir);
    return TEST_SUMMARY();
}
