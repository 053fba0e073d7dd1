/* test_chunk_ranges.c — chunk sets, RangeSpec and RangeSpecSeq (spec/blobs.md §3): every wire
 * vector of §3.2/§3.3 and §13.2, set operations against a brute-force model, non-canonical and
 * overflowing input, the named sequences and the non-empty walk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/chunk_ranges.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

#define CAP 64

/* A set over its own storage. */
struct set {
    uint64_t storage[CAP];
    struct iroh_chunk_ranges r;
};

static struct iroh_chunk_ranges *set_of(struct set *s, const uint64_t *bounds, size_t n)
{
    iroh_chunk_ranges_init(&s->r, s->storage, CAP);
    if (n) memcpy(s->storage, bounds, n * sizeof *bounds);
    s->r.len = n;
    return &s->r;
}

/* ---- RangeSpec vectors (§3.2) ----------------------------------------------------------- */

static const struct {
    const char *hex;
    size_t n;
    uint64_t bounds[4];
} SPECS[] = {
    {"00", 0, {0}},
    {"0100", 1, {0}},
    {"0140", 1, {64}},
    {"01904e", 1, {10000}},
    {"020040", 2, {0, 64}},
    {"040102 0604", 4, {1, 3, 9, 13}},
    {"01ffffffffffffffffff01", 1, {UINT64_MAX}},
};

static void test_range_spec_vectors(void)
{
    for (size_t i = 0; i < sizeof SPECS / sizeof SPECS[0]; i++) {
        uint8_t want[32], buf[64];
        size_t want_len = unhex(SPECS[i].hex, want, sizeof want);
        struct set s, d;
        struct iroh_postcard_writer w;
        iroh_postcard_writer_init(&w, buf, sizeof buf);
        CHECK_EQ_INT(iroh_range_spec_encode(&w, set_of(&s, SPECS[i].bounds, SPECS[i].n)), 0);
        CHECK_EQ_INT(iroh_postcard_writer_finish(&w), want_len);
        CHECK_EQ_MEM(buf, want, want_len);

        struct iroh_postcard_reader rd;
        iroh_postcard_reader_init(&rd, want, want_len);
        iroh_chunk_ranges_init(&d.r, d.storage, CAP);
        CHECK_EQ_INT(iroh_range_spec_decode(&rd, &d.r), 0);
        CHECK_EQ_INT(iroh_postcard_remaining(&rd), 0);
        CHECK(iroh_chunk_ranges_equal(&d.r, &s.r));
        /* Every truncation fails and leaves the position alone. */
        for (size_t cut = 0; cut < want_len; cut++) {
            iroh_postcard_reader_init(&rd, want, cut);
            CHECK_EQ_INT(iroh_range_spec_decode(&rd, &d.r), IROH_EINVAL);
            CHECK_EQ_INT(rd.pos, 0);
            CHECK_EQ_INT(d.r.len, 0);
        }
    }
}

/* Non-canonical forms are normalised; boundaries past 2^64 − 1 and tight storage fail. */
static void test_range_spec_decode_edges(void)
{
    static const struct {
        const char *hex;
        int rc;
        size_t n;
        uint64_t bounds[4];
    } CASES[] = {
        {"020000", 0, 0, {0}},        /* [0,0): empty */
        {"03050000", 0, 1, {5}},      /* [5,5) then [5,∞) */
        {"0401020003", 0, 2, {1, 6}}, /* [1,3) ∪ [3,6) touch: [1,6) */
        {"0401000100", 0, 0, {0}},    /* two empty spans */
        {"03000200", 0, 1, {0}},      /* [0,2) then [2,∞) */
        {"02ffffffffffffffffff0100", 0, 0, {0}},
        {"03ffffffffffffffffff010000", 0, 1, {UINT64_MAX}},
        {"02ffffffffffffffffff0101", IROH_EINVAL, 0, {0}}, /* 2^64 */
        {"030102ffffffffffffffffff01", IROH_EINVAL, 0, {0}},
        {"01ffffffffffffffffff02", IROH_EINVAL, 0, {0}}, /* varint over u64 */
        {"ff", IROH_EINVAL, 0, {0}},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        uint8_t in[32];
        size_t len = unhex(CASES[i].hex, in, sizeof in);
        struct set d, want;
        struct iroh_postcard_reader rd;
        iroh_postcard_reader_init(&rd, in, len);
        iroh_chunk_ranges_init(&d.r, d.storage, CAP);
        CHECK_EQ_INT(iroh_range_spec_decode(&rd, &d.r), CASES[i].rc);
        if (CASES[i].rc == 0) {
            CHECK(iroh_chunk_ranges_equal(&d.r, set_of(&want, CASES[i].bounds, CASES[i].n)));
            CHECK_EQ_INT(iroh_postcard_remaining(&rd), 0);
        } else {
            CHECK_EQ_INT(rd.pos, 0);
        }
    }
    /* Storage: {1,3,9,13} needs 4 entries. */
    uint8_t in[] = {0x04, 0x01, 0x02, 0x06, 0x04};
    uint64_t small[3];
    struct iroh_chunk_ranges r;
    struct iroh_postcard_reader rd;
    iroh_chunk_ranges_init(&r, small, 3);
    iroh_postcard_reader_init(&rd, in, sizeof in);
    CHECK_EQ_INT(iroh_range_spec_decode(&rd, &r), IROH_EBUFFER);
    CHECK_EQ_INT(rd.pos, 0);
    /* A writer that is too small reports it. */
    uint8_t buf[3];
    struct iroh_postcard_writer w;
    struct set s;
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    iroh_range_spec_encode(&w, set_of(&s, (const uint64_t[]){1, 3, 9, 13}, 4));
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), IROH_EBUFFER);
}

/* ---- sets ------------------------------------------------------------------------------ */

static void test_setters_and_queries(void)
{
    struct set s;
    struct iroh_chunk_ranges *r = set_of(&s, NULL, 0);
    CHECK(iroh_chunk_ranges_is_empty(r));
    CHECK(!iroh_chunk_ranges_is_all(r));
    CHECK_EQ_INT(iroh_chunk_ranges_set_all(r), 0);
    CHECK(iroh_chunk_ranges_is_all(r));
    CHECK(iroh_chunk_ranges_contains(r, UINT64_MAX));
    CHECK(iroh_chunk_ranges_covers(r, 0, UINT64_MAX));
    CHECK_EQ_INT(iroh_chunk_ranges_set_range(r, 10, 20), 0);
    CHECK_EQ_INT(r->len, 2);
    CHECK(!iroh_chunk_ranges_contains(r, 9));
    CHECK(iroh_chunk_ranges_contains(r, 10));
    CHECK(iroh_chunk_ranges_contains(r, 19));
    CHECK(!iroh_chunk_ranges_contains(r, 20));
    CHECK(iroh_chunk_ranges_intersects(r, 0, 11));
    CHECK(!iroh_chunk_ranges_intersects(r, 0, 10));
    CHECK(iroh_chunk_ranges_intersects(r, 19, 100));
    CHECK(!iroh_chunk_ranges_intersects(r, 20, 100));
    CHECK(!iroh_chunk_ranges_intersects(r, 15, 15));
    CHECK(iroh_chunk_ranges_covers(r, 10, 20));
    CHECK(iroh_chunk_ranges_covers(r, 12, 13));
    CHECK(!iroh_chunk_ranges_covers(r, 9, 20));
    CHECK(!iroh_chunk_ranges_covers(r, 10, 21));
    CHECK(iroh_chunk_ranges_covers(r, 30, 30));
    CHECK_EQ_INT(iroh_chunk_ranges_set_range(r, 20, 10), 0);
    CHECK(iroh_chunk_ranges_is_empty(r));
    CHECK_EQ_INT(iroh_chunk_ranges_set_from(r, UINT64_MAX), 0);
    CHECK(iroh_chunk_ranges_contains(r, UINT64_MAX));
    CHECK(!iroh_chunk_ranges_contains(r, UINT64_MAX - 1));
    CHECK(iroh_chunk_ranges_covers(r, UINT64_MAX, UINT64_MAX));
    /* Byte ranges round outwards to chunks. */
    CHECK_EQ_INT(iroh_chunk_ranges_set_bytes(r, 0, 1), 0);
    CHECK(r->len == 2 && r->bounds[0] == 0 && r->bounds[1] == 1);
    CHECK_EQ_INT(iroh_chunk_ranges_set_bytes(r, 1023, 1025), 0);
    CHECK(r->len == 2 && r->bounds[0] == 0 && r->bounds[1] == 2);
    CHECK_EQ_INT(iroh_chunk_ranges_set_bytes(r, 1024, 2048), 0);
    CHECK(r->len == 2 && r->bounds[0] == 1 && r->bounds[1] == 2);
    CHECK_EQ_INT(iroh_chunk_ranges_set_bytes(r, 5, 5), 0);
    CHECK(iroh_chunk_ranges_is_empty(r));
    CHECK_EQ_INT(iroh_chunk_ranges_set_bytes(r, 0, UINT64_MAX), 0);
    CHECK(r->len == 2 && r->bounds[1] == (UINT64_C(1) << 54));
    /* Storage limits. */
    uint64_t one[1];
    struct iroh_chunk_ranges tiny;
    iroh_chunk_ranges_init(&tiny, one, 1);
    CHECK_EQ_INT(iroh_chunk_ranges_set_range(&tiny, 1, 2), IROH_EBUFFER);
    CHECK(iroh_chunk_ranges_is_empty(&tiny));
    CHECK_EQ_INT(iroh_chunk_ranges_set_all(&tiny), 0);
    struct set c;
    set_of(&c, NULL, 0);
    CHECK_EQ_INT(iroh_chunk_ranges_copy(&c.r, &tiny), 0);
    CHECK(iroh_chunk_ranges_equal(&c.r, &tiny));
    CHECK_EQ_INT(iroh_chunk_ranges_copy(&tiny, set_of(&s, (const uint64_t[]){1, 2}, 2)),
                 IROH_EBUFFER);
}

/* Random sets over chunks < 40 checked chunk by chunk against a bitmap model (membership past
 * the last boundary is that of chunk 40). */
#define UNIVERSE 48

static void random_set(struct set *s, unsigned *seed)
{
    uint64_t b[CAP];
    size_t n = 0;
    uint64_t x = 0;
    unsigned count = (unsigned)(rand_r(seed) % 7);
    for (unsigned i = 0; i < count; i++) {
        x += (uint64_t)(rand_r(seed) % 8) + (i ? 1 : 0);
        if (x >= 40) break;
        b[n++] = x;
    }
    set_of(s, b, n);
}

static void model(const struct iroh_chunk_ranges *r, bool *bits)
{
    for (uint64_t c = 0; c < UNIVERSE; c++)
        bits[c] = iroh_chunk_ranges_contains(r, c);
}

static void check_canonical(const struct iroh_chunk_ranges *r)
{
    for (size_t i = 1; i < r->len; i++)
        CHECK(r->bounds[i] > r->bounds[i - 1]);
}

static void test_set_ops_model(void)
{
    unsigned seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        struct set a, b, u, x, d;
        random_set(&a, &seed);
        random_set(&b, &seed);
        set_of(&u, NULL, 0);
        set_of(&x, NULL, 0);
        set_of(&d, NULL, 0);
        CHECK_EQ_INT(iroh_chunk_ranges_union(&u.r, &a.r, &b.r), 0);
        CHECK_EQ_INT(iroh_chunk_ranges_intersection(&x.r, &a.r, &b.r), 0);
        CHECK_EQ_INT(iroh_chunk_ranges_difference(&d.r, &a.r, &b.r), 0);
        check_canonical(&u.r);
        check_canonical(&x.r);
        check_canonical(&d.r);
        bool ma[UNIVERSE], mb[UNIVERSE], mu[UNIVERSE], mx[UNIVERSE], md[UNIVERSE];
        model(&a.r, ma);
        model(&b.r, mb);
        model(&u.r, mu);
        model(&x.r, mx);
        model(&d.r, md);
        bool subset = true;
        for (int c = 0; c < UNIVERSE; c++) {
            CHECK(mu[c] == (ma[c] || mb[c]));
            CHECK(mx[c] == (ma[c] && mb[c]));
            CHECK(md[c] == (ma[c] && !mb[c]));
            if (ma[c] && !mb[c]) subset = false;
        }
        CHECK(iroh_chunk_ranges_is_subset(&a.r, &b.r) == subset);
        CHECK(iroh_chunk_ranges_is_subset(&x.r, &a.r));
        CHECK(iroh_chunk_ranges_is_subset(&a.r, &u.r));
        /* intersects / covers of every small window agree with the model. */
        for (uint64_t s = 0; s < UNIVERSE; s += 3) {
            for (uint64_t e = s; e <= UNIVERSE; e += 2) {
                bool any = false, all = true;
                for (uint64_t c = s; c < e; c++) {
                    any |= ma[c];
                    all &= ma[c];
                }
                CHECK(iroh_chunk_ranges_intersects(&a.r, s, e) == any);
                CHECK(iroh_chunk_ranges_covers(&a.r, s, e) == all);
            }
        }
        /* Tight output storage reports EBUFFER instead of overrunning. */
        if (u.r.len > 0) {
            uint64_t small[CAP];
            struct iroh_chunk_ranges t;
            iroh_chunk_ranges_init(&t, small, u.r.len - 1);
            CHECK_EQ_INT(iroh_chunk_ranges_union(&t, &a.r, &b.r), IROH_EBUFFER);
        }
    }
}

/* ---- RangeSpecSeq ---------------------------------------------------------------------- */

static void check_written(struct iroh_postcard_writer *w, const char *hex)
{
    uint8_t want[128];
    size_t n = unhex(hex, want, sizeof want);
    CHECK_EQ_INT(iroh_postcard_writer_finish(w), n);
    CHECK_EQ_MEM(w->buf, want, n);
}

static void test_range_seq_vectors(void)
{
    uint8_t buf[128];
    struct iroh_postcard_writer w;
    struct set s[5];

    /* empty */
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode(&w, NULL, 0), 0);
    check_written(&w, "00");
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode_from_ranges(&w, NULL, 0, false), 0);
    check_written(&w, "00");

    /* from_ranges([1..3, 7..13]) */
    struct iroh_chunk_ranges per[5];
    per[0] = *set_of(&s[0], (const uint64_t[]){1, 3}, 2);
    per[1] = *set_of(&s[1], (const uint64_t[]){7, 13}, 2);
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode_from_ranges(&w, per, 2, false), 0);
    check_written(&w, "03 00020102 01020706 0100");

    /* from_ranges_infinite([∅, ∅, ∅, 7.., all]) */
    per[0] = *set_of(&s[0], NULL, 0);
    per[1] = *set_of(&s[1], NULL, 0);
    per[2] = *set_of(&s[2], NULL, 0);
    per[3] = *set_of(&s[3], (const uint64_t[]){7}, 1);
    per[4] = *set_of(&s[4], (const uint64_t[]){0}, 1);
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode_from_ranges(&w, per, 5, true), 0);
    check_written(&w, "02 030107 010100");
    /* ... and finite: terminated at 5. Equal neighbours share one entry. */
    per[3] = per[4];
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode_from_ranges(&w, per, 5, false), 0);
    check_written(&w, "02 030100 0200");

    /* Named sequences (§3.3; the bytes after the hash of the §13.2 Get requests). */
    static const struct {
        enum iroh_range_seq_named name;
        const char *hex;
    } NAMED[] = {
        {IROH_RANGE_SEQ_ROOT, "02 000100 0100"},
        {IROH_RANGE_SEQ_ALL, "01 000100"},
        {IROH_RANGE_SEQ_VERIFIED_SIZE, "02 0001ffffffffffffffffff01 0100"},
        {IROH_RANGE_SEQ_VERIFIED_CHILD_SIZES, "02 000100 0101ffffffffffffffffff01"},
    };
    for (size_t i = 0; i < sizeof NAMED / sizeof NAMED[0]; i++) {
        iroh_postcard_writer_init(&w, buf, sizeof buf);
        CHECK_EQ_INT(iroh_range_seq_encode_named(&w, NAMED[i].name), 0);
        check_written(&w, NAMED[i].hex);
    }
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode_named(&w, (enum iroh_range_seq_named)99), IROH_EINVAL);

    /* Explicit entries: "child 2, chunks 0..1" = [(3, 0..1), (4, ∅)]; decreasing offsets fail. */
    struct iroh_range_seq_entry e[2] = {{3, *set_of(&s[0], (const uint64_t[]){0, 1}, 2)},
                                        {4, *set_of(&s[1], NULL, 0)}};
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode(&w, e, 2), 0);
    check_written(&w, "02 0302 0001 0100");
    e[1].offset = 2;
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_range_seq_encode(&w, e, 2), IROH_EINVAL);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), 0);
}

/* Decodes hex as a RangeSpecSeq and walks it: writes up to max (index, first bound, len)
 * triples; returns how many were yielded, or the decode error. */
struct yielded {
    uint64_t index;
    size_t len;
    uint64_t first;
};

static int walk(const char *hex, struct yielded *out, size_t max, size_t *max_bounds)
{
    static uint8_t in[256];
    size_t n = unhex(hex, in, sizeof in);
    struct iroh_postcard_reader rd;
    struct iroh_range_seq seq;
    iroh_postcard_reader_init(&rd, in, n);
    int rc = iroh_range_seq_decode(&rd, &seq);
    if (rc < 0) {
        CHECK_EQ_INT(rd.pos, 0);
        return rc;
    }
    CHECK_EQ_INT(iroh_postcard_remaining(&rd), 0);
    *max_bounds = seq.max_bounds;
    struct set cur;
    struct iroh_range_seq_iter it;
    CHECK_EQ_INT(iroh_range_seq_iter_init(&it, &seq, set_of(&cur, NULL, 0)), 0);
    size_t k = 0;
    uint64_t index;
    while (k < max && iroh_range_seq_iter_next(&it, &index) == 1) {
        out[k].index = index;
        out[k].len = cur.r.len;
        out[k].first = cur.r.len ? cur.r.bounds[0] : 0;
        k++;
    }
    return (int)k;
}

static void test_range_seq_walk(void)
{
    struct yielded y[8];
    size_t mb;
    CHECK_EQ_INT(walk("00", y, 8, &mb), 0);
    /* all(): infinite. */
    CHECK_EQ_INT(walk("01 000100", y, 5, &mb), 5);
    CHECK(y[4].index == 4 && y[4].len == 1 && y[4].first == 0);
    /* root(): only blob 0. */
    CHECK_EQ_INT(walk("02 000100 0100", y, 8, &mb), 1);
    CHECK(y[0].index == 0 && y[0].len == 1);
    /* from_ranges([1..3, 7..13]). */
    CHECK_EQ_INT(walk("03 00020102 01020706 0100", y, 8, &mb), 2);
    CHECK(y[0].index == 0 && y[0].first == 1 && y[1].index == 1 && y[1].first == 7);
    CHECK_EQ_INT(mb, 2);
    /* [∅,∅,∅, 7.., all...]: starts at 3. */
    CHECK_EQ_INT(walk("02 030107 010100", y, 3, &mb), 3);
    CHECK(y[0].index == 3 && y[0].first == 7 && y[1].index == 4 && y[1].first == 0);
    CHECK(y[2].index == 5);
    /* verified_child_sizes: blob 0 whole, then the last chunk of every child. */
    CHECK_EQ_INT(walk("02 000100 0101ffffffffffffffffff01", y, 3, &mb), 3);
    CHECK(y[0].first == 0 && y[1].index == 1 && y[1].first == UINT64_MAX && y[2].index == 2);
    /* Child 2 only. */
    CHECK_EQ_INT(walk("02 0302 0001 0100", y, 8, &mb), 1);
    CHECK(y[0].index == 3 && y[0].len == 2);
    /* Non-canonical: repeated offsets (the later entry wins) and empty middle entries. */
    CHECK_EQ_INT(walk("04 000100 000140 0200 020100", y, 6, &mb), 6);
    CHECK(y[0].index == 0 && y[0].first == 64 && y[1].index == 1 && y[1].first == 64);
    CHECK(y[2].index == 4 && y[2].first == 0 && y[3].index == 5);
    /* An entry at the last index: yields it once and stops. */
    CHECK_EQ_INT(walk("01 ffffffffffffffffff01 0100", y, 8, &mb), 1);
    CHECK(y[0].index == UINT64_MAX);
    /* Offsets past 2^64 − 1, bad specs and truncation fail. */
    CHECK_EQ_INT(walk("02 ffffffffffffffffff01 00 01 00", y, 8, &mb), IROH_EINVAL);
    CHECK_EQ_INT(walk("01 00 02ffffffffffffffffff0101", y, 8, &mb), IROH_EINVAL);
    CHECK_EQ_INT(walk("02 000100", y, 8, &mb), IROH_EINVAL);
    CHECK_EQ_INT(walk("01 0001", y, 8, &mb), IROH_EINVAL);
    /* Ranges storage smaller than max_bounds is refused. */
    uint8_t in[] = {0x01, 0x00, 0x04, 0x01, 0x02, 0x06, 0x04};
    struct iroh_postcard_reader rd;
    struct iroh_range_seq seq;
    iroh_postcard_reader_init(&rd, in, sizeof in);
    CHECK_EQ_INT(iroh_range_seq_decode(&rd, &seq), 0);
    CHECK_EQ_INT(seq.max_bounds, 4);
    uint64_t small[3];
    struct iroh_chunk_ranges r;
    struct iroh_range_seq_iter it;
    iroh_chunk_ranges_init(&r, small, 3);
    CHECK_EQ_INT(iroh_range_seq_iter_init(&it, &seq, &r), IROH_EBUFFER);
    /* A closing open span merges into the span before it: {0,65,68} needs 4 entries while
     * decoding (found by fuzz_range_spec). */
    CHECK_EQ_INT(walk("01 03 05 00 41 03 40 00", y, 2, &mb), 2);
    CHECK_EQ_INT(mb, 4);
    CHECK(y[0].index == 3 && y[0].len == 3 && y[1].index == 4);
}

int main(void)
{
    RUN(test_range_spec_vectors);
    RUN(test_range_spec_decode_edges);
    RUN(test_setters_and_queries);
    RUN(test_set_ops_model);
    RUN(test_range_seq_vectors);
    RUN(test_range_seq_walk);
    return TEST_SUMMARY();
}
