/* fuzz_range_spec.c — RangeSpec and RangeSpecSeq decoding. A spec that decodes must encode to
 * a form that decodes to the same set; two specs read back to back must obey the set algebra
 * (A − B and B are disjoint, (A − B) ∪ (A ∩ B) = A, A ⊆ A ∪ B); a sequence that decodes must
 * re-encode from its entries to a sequence with the same non-empty walk. Anything else
 * aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/chunk_ranges.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A set with storage for n boundaries (caller frees r->bounds). */
static void set_alloc(struct iroh_chunk_ranges *r, size_t n)
{
    iroh_chunk_ranges_init(r, malloc((n ? n : 1) * sizeof(uint64_t)), n);
}

static void spec_round_trip(const struct iroh_chunk_ranges *a)
{
    size_t cap = IROH_RANGE_SPEC_MAX_LEN(a->len);
    uint8_t *buf = malloc(cap);
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, buf, cap);
    if (iroh_range_spec_encode(&w, a) != 0) abort();
    int n = iroh_postcard_writer_finish(&w);
    struct iroh_postcard_reader rd;
    struct iroh_chunk_ranges back;
    set_alloc(&back, a->len);
    iroh_postcard_reader_init(&rd, buf, (size_t)n);
    if (iroh_range_spec_decode(&rd, &back) != 0) abort();
    if (iroh_postcard_remaining(&rd) != 0 || !iroh_chunk_ranges_equal(&back, a)) abort();
    for (size_t i = 1; i < a->len; i++)
        if (a->bounds[i] <= a->bounds[i - 1]) abort();
    free(back.bounds);
    free(buf);
}

static void set_algebra(const struct iroh_chunk_ranges *a, const struct iroh_chunk_ranges *b)
{
    struct iroh_chunk_ranges u, x, d, t;
    size_t n = a->len + b->len;
    set_alloc(&u, n);
    set_alloc(&x, n);
    set_alloc(&d, n);
    set_alloc(&t, n);
    if (iroh_chunk_ranges_union(&u, a, b) || iroh_chunk_ranges_intersection(&x, a, b) ||
        iroh_chunk_ranges_difference(&d, a, b))
        abort();
    if (!iroh_chunk_ranges_is_subset(a, &u) || !iroh_chunk_ranges_is_subset(&x, a)) abort();
    if (iroh_chunk_ranges_intersection(&t, &d, b) || !iroh_chunk_ranges_is_empty(&t)) abort();
    if (iroh_chunk_ranges_union(&t, &d, &x) || !iroh_chunk_ranges_equal(&t, a)) abort();
    for (size_t i = 0; i < a->len; i++) {
        uint64_t c = a->bounds[i];
        if (!iroh_chunk_ranges_contains(&u, c) && i % 2 == 0) abort();
        if (iroh_chunk_ranges_contains(&d, c) && iroh_chunk_ranges_contains(b, c)) abort();
    }
    free(u.bounds);
    free(x.bounds);
    free(d.bounds);
    free(t.bounds);
}

/* Walks up to 64 non-empty indices of seq into out (index, ranges length, first bound). */
static size_t walk(const struct iroh_range_seq *seq, uint64_t out[64][3])
{
    struct iroh_chunk_ranges cur;
    struct iroh_range_seq_iter it;
    set_alloc(&cur, seq->max_bounds);
    if (iroh_range_seq_iter_init(&it, seq, &cur) != 0) abort();
    size_t k = 0;
    uint64_t index;
    while (k < 64 && iroh_range_seq_iter_next(&it, &index) == 1) {
        if (iroh_chunk_ranges_is_empty(&cur)) abort();
        if (k && index <= out[k - 1][0]) abort();
        out[k][0] = index;
        out[k][1] = cur.len;
        out[k][2] = cur.bounds[0];
        k++;
    }
    free(cur.bounds);
    return k;
}

static void seq_round_trip(const struct iroh_range_seq *seq)
{
    /* Read the entries back with their absolute offsets and re-encode them. */
    struct iroh_range_seq_entry *e = calloc(seq->count ? seq->count : 1, sizeof *e);
    struct iroh_postcard_reader rd;
    iroh_postcard_reader_init(&rd, seq->entries, seq->len);
    uint64_t offset = 0;
    for (uint64_t i = 0; i < seq->count; i++) {
        uint64_t delta;
        if (iroh_postcard_get_u64(&rd, &delta) != 0) abort();
        offset += delta;
        e[i].offset = offset;
        set_alloc(&e[i].ranges, seq->max_bounds);
        if (iroh_range_spec_decode(&rd, &e[i].ranges) != 0) abort();
    }
    size_t cap = 16 + seq->count * 12 + seq->len * 4;
    uint8_t *buf = malloc(cap);
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, buf, cap);
    if (iroh_range_seq_encode(&w, e, seq->count) != 0) abort();
    int n = iroh_postcard_writer_finish(&w);
    struct iroh_range_seq again;
    iroh_postcard_reader_init(&rd, buf, (size_t)n);
    if (iroh_range_seq_decode(&rd, &again) != 0 || iroh_postcard_remaining(&rd) != 0) abort();
    uint64_t w1[64][3], w2[64][3];
    size_t k1 = walk(seq, w1), k2 = walk(&again, w2);
    if (k1 != k2 || memcmp(w1, w2, k1 * sizeof w1[0]) != 0) abort();
    for (uint64_t i = 0; i < seq->count; i++)
        free(e[i].ranges.bounds);
    free(e);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iroh_postcard_reader rd;
    struct iroh_chunk_ranges a, b;
    set_alloc(&a, size);
    set_alloc(&b, size);
    iroh_postcard_reader_init(&rd, data, size);
    if (iroh_range_spec_decode(&rd, &a) == 0) {
        spec_round_trip(&a);
        if (iroh_range_spec_decode(&rd, &b) == 0) {
            spec_round_trip(&b);
            set_algebra(&a, &b);
            set_algebra(&b, &a);
        }
    } else if (rd.pos != 0 || a.len != 0) {
        abort();
    }
    free(a.bounds);
    free(b.bounds);

    struct iroh_range_seq seq;
    iroh_postcard_reader_init(&rd, data, size);
    if (iroh_range_seq_decode(&rd, &seq) == 0)
        seq_round_trip(&seq);
    else if (rd.pos != 0)
        abort();
    return 0;
}
