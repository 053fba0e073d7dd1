/* core/chunk_ranges.c — chunk sets as boundary lists, RangeSpec and RangeSpecSeq
 * (spec/blobs.md §3). */
#include "core/chunk_ranges.h"

#include "iroh/error.h"

void iroh_chunk_ranges_init(struct iroh_chunk_ranges *r, uint64_t *storage, size_t cap)
{
    r->bounds = storage;
    r->len = 0;
    r->cap = cap;
}

/* Replaces r's contents with bounds[0..n). */
static int set_bounds(struct iroh_chunk_ranges *r, const uint64_t *bounds, size_t n)
{
    if (n > r->cap) return IROH_EBUFFER;
    for (size_t i = 0; i < n; i++)
        r->bounds[i] = bounds[i];
    r->len = n;
    return 0;
}

int iroh_chunk_ranges_set_all(struct iroh_chunk_ranges *r)
{
    return iroh_chunk_ranges_set_from(r, 0);
}

int iroh_chunk_ranges_set_range(struct iroh_chunk_ranges *r, uint64_t start, uint64_t end)
{
    uint64_t b[2] = {start, end};
    return set_bounds(r, b, end > start ? 2 : 0);
}

int iroh_chunk_ranges_set_from(struct iroh_chunk_ranges *r, uint64_t start)
{
    return set_bounds(r, &start, 1);
}

int iroh_chunk_ranges_set_bytes(struct iroh_chunk_ranges *r, uint64_t start, uint64_t end)
{
    if (end <= start) return set_bounds(r, NULL, 0);
    return iroh_chunk_ranges_set_range(r, start / 1024, end / 1024 + (end % 1024 != 0));
}

int iroh_chunk_ranges_copy(struct iroh_chunk_ranges *r, const struct iroh_chunk_ranges *src)
{
    return set_bounds(r, src->bounds, src->len);
}

/* ---- set operations: one merge walk over both boundary lists ---------------------------- */

enum set_op { OP_UNION, OP_INTERSECTION, OP_DIFFERENCE };

static bool apply_op(enum set_op op, bool in_a, bool in_b)
{
    switch (op) {
    case OP_UNION: return in_a || in_b;
    case OP_INTERSECTION: return in_a && in_b;
    case OP_DIFFERENCE: return in_a && !in_b;
    }
    return false;
}

/* Walks the boundaries of a and b in order; wherever membership in (a op b) changes, that
 * point is a boundary of the result, stored in out unless out is NULL. Stores the number of
 * result boundaries in *count and returns 0, or IROH_EBUFFER when out is too small. */
static int merge(enum set_op op, const struct iroh_chunk_ranges *a,
                 const struct iroh_chunk_ranges *b, struct iroh_chunk_ranges *out, size_t *count)
{
    size_t i = 0, j = 0, n = 0;
    bool in_out = false;
    while (i < a->len || j < b->len) {
        uint64_t x = i < a->len ? a->bounds[i] : b->bounds[j];
        if (j < b->len && b->bounds[j] < x) x = b->bounds[j];
        if (i < a->len && a->bounds[i] == x) i++;
        if (j < b->len && b->bounds[j] == x) j++;
        bool in = apply_op(op, i % 2 == 1, j % 2 == 1);
        if (in == in_out) continue;
        in_out = in;
        if (out) {
            if (n == out->cap) return IROH_EBUFFER;
            out->bounds[n] = x;
        }
        n++;
    }
    if (out) out->len = n;
    *count = n;
    return 0;
}

static int set_op(enum set_op op, struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                  const struct iroh_chunk_ranges *b)
{
    size_t count;
    return merge(op, a, b, out, &count);
}

int iroh_chunk_ranges_union(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                            const struct iroh_chunk_ranges *b)
{
    return set_op(OP_UNION, out, a, b);
}

int iroh_chunk_ranges_intersection(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                                   const struct iroh_chunk_ranges *b)
{
    return set_op(OP_INTERSECTION, out, a, b);
}

int iroh_chunk_ranges_difference(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                                 const struct iroh_chunk_ranges *b)
{
    return set_op(OP_DIFFERENCE, out, a, b);
}

bool iroh_chunk_ranges_is_subset(const struct iroh_chunk_ranges *a,
                                 const struct iroh_chunk_ranges *b)
{
    size_t count;
    merge(OP_DIFFERENCE, a, b, NULL, &count);
    return count == 0;
}

/* ---- queries -------------------------------------------------------------------------- */

bool iroh_chunk_ranges_is_empty(const struct iroh_chunk_ranges *r)
{
    return r->len == 0;
}

bool iroh_chunk_ranges_is_all(const struct iroh_chunk_ranges *r)
{
    return r->len == 1 && r->bounds[0] == 0;
}

bool iroh_chunk_ranges_equal(const struct iroh_chunk_ranges *a, const struct iroh_chunk_ranges *b)
{
    if (a->len != b->len) return false;
    for (size_t i = 0; i < a->len; i++)
        if (a->bounds[i] != b->bounds[i]) return false;
    return true;
}

/* The number of boundaries ≤ chunk; chunk is in r exactly when it is odd. */
static size_t bounds_upto(const struct iroh_chunk_ranges *r, uint64_t chunk)
{
    size_t lo = 0, hi = r->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->bounds[mid] <= chunk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool iroh_chunk_ranges_contains(const struct iroh_chunk_ranges *r, uint64_t chunk)
{
    return bounds_upto(r, chunk) % 2 == 1;
}

bool iroh_chunk_ranges_intersects(const struct iroh_chunk_ranges *r, uint64_t start, uint64_t end)
{
    if (end <= start) return false;
    size_t i = bounds_upto(r, start);
    return i % 2 == 1 || (i < r->len && r->bounds[i] < end);
}

bool iroh_chunk_ranges_covers(const struct iroh_chunk_ranges *r, uint64_t start, uint64_t end)
{
    if (end <= start) return true;
    size_t i = bounds_upto(r, start);
    return i % 2 == 1 && (i == r->len || r->bounds[i] >= end);
}

/* ---- RangeSpec ------------------------------------------------------------------------ */

int iroh_range_spec_encode(struct iroh_postcard_writer *w, const struct iroh_chunk_ranges *r)
{
    int rc = iroh_postcard_put_varint(w, r->len);
    for (size_t i = 0; i < r->len && rc == 0; i++)
        rc = iroh_postcard_put_varint(w, r->bounds[i] - (i ? r->bounds[i - 1] : 0));
    return rc;
}

/* Builds a boundary list span by span, merging touching spans; with r NULL it only counts.
 * A merge can drop a boundary just stored, so the storage needed is the peak length. */
struct bounds_builder {
    struct iroh_chunk_ranges *r;
    size_t len, peak;
    uint64_t last; /* the last boundary, when len > 0 */
};

static int builder_push(struct bounds_builder *b, uint64_t x)
{
    if (b->r) {
        if (b->len == b->r->cap) return IROH_EBUFFER;
        b->r->bounds[b->len] = x;
    }
    b->len++;
    if (b->len > b->peak) b->peak = b->len;
    b->last = x;
    return 0;
}

/* Adds [start, end) (end ≥ start ≥ the last boundary), or [start, ∞) when open. */
static int builder_span(struct bounds_builder *b, uint64_t start, uint64_t end, bool open)
{
    if (!open && end == start) return 0;
    if (b->len > 0 && b->last == start) {
        b->len--; /* the previous span ends where this one starts: extend it */
        if (open) return 0;
        return builder_push(b, end);
    }
    int rc = builder_push(b, start);
    return rc == 0 && !open ? builder_push(b, end) : rc;
}

/* Reads a RangeSpec into r (or only checks it when r is NULL) and stores in *need the
 * storage its decoding needs. Position unchanged on failure. */
static int spec_read(struct iroh_postcard_reader *rd, struct iroh_chunk_ranges *r, size_t *need)
{
    size_t pos = rd->pos;
    struct bounds_builder b = {r, 0, 0, 0};
    uint64_t count, cur = 0;
    bool on = false;
    int rc = iroh_postcard_get_u64(rd, &count);
    for (uint64_t i = 0; i < count && rc == 0; i++) {
        uint64_t width;
        rc = iroh_postcard_get_u64(rd, &width);
        if (rc == 0 && width > UINT64_MAX - cur) rc = IROH_EINVAL;
        if (rc == 0 && on) rc = builder_span(&b, cur, cur + width, false);
        cur += width;
        on = !on;
    }
    if (rc == 0 && on) rc = builder_span(&b, cur, 0, true);
    if (r) r->len = rc < 0 ? 0 : b.len;
    if (rc < 0) {
        rd->pos = pos;
        return rc;
    }
    *need = b.peak;
    return 0;
}

int iroh_range_spec_decode(struct iroh_postcard_reader *rd, struct iroh_chunk_ranges *r)
{
    size_t need;
    return spec_read(rd, r, &need);
}

/* ---- RangeSpecSeq --------------------------------------------------------------------- */

int iroh_range_seq_encode(struct iroh_postcard_writer *w,
                          const struct iroh_range_seq_entry *entries, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (entries[i].offset < entries[i - 1].offset) return IROH_EINVAL;
    int rc = iroh_postcard_put_varint(w, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = iroh_postcard_put_varint(w, entries[i].offset - (i ? entries[i - 1].offset : 0));
        if (rc == 0) rc = iroh_range_spec_encode(w, &entries[i].ranges);
    }
    return rc;
}

/* Walks from_ranges' entries, writing them to w unless w is NULL, and stores how many there
 * are in *count. Returns 0 or the writer's error. */
static int from_ranges_walk(struct iroh_postcard_writer *w,
                            const struct iroh_chunk_ranges *per_blob, size_t n, bool infinite,
                            uint64_t *count)
{
    static const struct iroh_chunk_ranges empty = {NULL, 0, 0};
    const struct iroh_chunk_ranges *prev = &empty;
    uint64_t prev_offset = 0;
    int rc = 0;
    *count = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        const struct iroh_chunk_ranges *cur = i < n ? &per_blob[i] : &empty;
        if (i == n && (infinite || iroh_chunk_ranges_is_empty(prev))) break;
        if (iroh_chunk_ranges_equal(cur, prev)) continue;
        (*count)++;
        if (w) {
            rc = iroh_postcard_put_varint(w, i - prev_offset);
            if (rc == 0) rc = iroh_range_spec_encode(w, cur);
        }
        prev = cur;
        prev_offset = i;
    }
    return rc;
}

int iroh_range_seq_encode_from_ranges(struct iroh_postcard_writer *w,
                                      const struct iroh_chunk_ranges *per_blob, size_t n,
                                      bool infinite)
{
    uint64_t count;
    from_ranges_walk(NULL, per_blob, n, infinite, &count);
    int rc = iroh_postcard_put_varint(w, count);
    return rc == 0 ? from_ranges_walk(w, per_blob, n, infinite, &count) : rc;
}

int iroh_range_seq_encode_named(struct iroh_postcard_writer *w, enum iroh_range_seq_named name)
{
    uint64_t all = 0, last = UINT64_MAX;
    struct iroh_range_seq_entry e[2] = {{0, {&all, 1, 1}}, {1, {NULL, 0, 0}}};
    switch (name) {
    case IROH_RANGE_SEQ_ROOT: return iroh_range_seq_encode(w, e, 2);
    case IROH_RANGE_SEQ_ALL: return iroh_range_seq_encode(w, e, 1);
    case IROH_RANGE_SEQ_VERIFIED_SIZE:
        e[0].ranges.bounds = &last;
        return iroh_range_seq_encode(w, e, 2);
    case IROH_RANGE_SEQ_VERIFIED_CHILD_SIZES:
        e[1].ranges = (struct iroh_chunk_ranges){&last, 1, 1};
        return iroh_range_seq_encode(w, e, 2);
    }
    return IROH_EINVAL;
}

int iroh_range_seq_decode(struct iroh_postcard_reader *rd, struct iroh_range_seq *seq)
{
    size_t pos = rd->pos;
    uint64_t count, offset = 0;
    size_t max_bounds = 0;
    int rc = iroh_postcard_get_u64(rd, &count);
    size_t start = rd->pos;
    for (uint64_t i = 0; i < count && rc == 0; i++) {
        uint64_t delta;
        size_t need = 0;
        rc = iroh_postcard_get_u64(rd, &delta);
        if (rc == 0 && delta > UINT64_MAX - offset) rc = IROH_EINVAL;
        if (rc == 0) rc = spec_read(rd, NULL, &need);
        offset += delta;
        if (need > max_bounds) max_bounds = need;
    }
    if (rc < 0) {
        rd->pos = pos;
        return rc;
    }
    seq->entries = rd->data + start;
    seq->len = rd->pos - start;
    seq->count = count;
    seq->max_bounds = max_bounds;
    return 0;
}

/* Reads the offset delta of the next entry, if any (the input was validated by decode). */
static void iter_peek(struct iroh_range_seq_iter *it)
{
    uint64_t delta = 0;
    if (it->left > 0) iroh_postcard_get_u64(&it->rd, &delta);
    it->next_offset += delta;
}

int iroh_range_seq_iter_init(struct iroh_range_seq_iter *it, const struct iroh_range_seq *seq,
                             struct iroh_chunk_ranges *ranges)
{
    if (ranges->cap < seq->max_bounds) return IROH_EBUFFER;
    iroh_postcard_reader_init(&it->rd, seq->entries, seq->len);
    it->left = seq->count;
    it->next_offset = 0;
    it->index = 0;
    it->done = false;
    it->ranges = ranges;
    ranges->len = 0; /* before the first entry, blobs get nothing */
    iter_peek(it);
    return 0;
}

int iroh_range_seq_iter_next(struct iroh_range_seq_iter *it, uint64_t *index)
{
    while (!it->done) {
        if (it->left > 0 && it->index >= it->next_offset) {
            /* Validated input in storage of max_bounds: cannot fail. */
            iroh_range_spec_decode(&it->rd, it->ranges);
            it->left--;
            iter_peek(it);
        } else if (!iroh_chunk_ranges_is_empty(it->ranges)) {
            *index = it->index;
            if (it->index == UINT64_MAX)
                it->done = true;
            else
                it->index++;
            return 1;
        } else if (it->left == 0) {
            it->done = true;
        } else {
            it->index = it->next_offset;
        }
    }
    return 0;
}
