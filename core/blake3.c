/* core/blake3.c — BLAKE3 tree logic, incremental hasher, threads, ISA dispatch and the
 * portable compression function; see blake3.h. Written from the BLAKE3 paper (§2 for the
 * compression function and the tree, §5 for the SIMD strategy). The SIMD kernels are in
 * blake3_sse41.c, blake3_avx2.c and blake3_avx512.c behind the contract of blake3_impl.h. */
#include "core/blake3.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/blake3_impl.h"
#include "iroh/error.h"

#define CHUNK_LEN IROH_BLAKE3_CHUNK_LEN
#define BLOCK_LEN IROH_BLAKE3_BLOCK_LEN
#define CV_LEN IROH_BLAKE3_OUT_LEN
#define BLOCKS_PER_CHUNK (CHUNK_LEN / BLOCK_LEN)

/* Subtrees of up to BATCH_CHUNKS chunks are hashed level by level: all chunk CVs with the
 * widest kernel, then each level of parents with it too. Larger ones are split first. */
#define BATCH_CHUNKS 256
/* Parallel hashing: below this many bytes one thread does it all (starting and joining a
 * thread costs about as much as hashing a few hundred KiB); above, the input is cut
 * into at most MAX_PIECES aligned power-of-two subtrees of at least MIN_PIECE_CHUNKS chunks,
 * about PIECES_PER_THREAD per thread, which the threads take from a shared counter. */
#define PARALLEL_MIN_LEN (1024 * 1024)
#define MAX_PIECES 64
#define MIN_PIECE_CHUNKS 32
#define PIECES_PER_THREAD 4

const uint32_t iroh_b3_iv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

static uint32_t load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32_le(uint8_t *p, uint32_t w)
{
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

static void words_to_bytes(const uint32_t *w, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        store32_le(out + 4 * i, w[i]);
}

static void bytes_to_words(const uint8_t *in, size_t n, uint32_t *w)
{
    for (size_t i = 0; i < n; i++)
        w[i] = load32_le(in + 4 * i);
}

/* ---- portable compression ------------------------------------------------------------- */

#define SCALAR_ADD(a, b) ((uint32_t)((a) + (b)))
#define SCALAR_XOR(a, b) ((a) ^ (b))
#define SCALAR_ROR(x, n) ((uint32_t)(((x) >> (n)) | ((x) << (32 - (n)))))

static void compress_portable(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                              uint64_t counter, uint8_t flags, uint32_t out[16])
{
    uint32_t m[16], v[16];
    bytes_to_words(block, 16, m);
    for (int i = 0; i < 8; i++)
        v[i] = cv[i];
    for (int i = 0; i < 4; i++)
        v[8 + i] = iroh_b3_iv[i];
    v[12] = (uint32_t)counter;
    v[13] = (uint32_t)(counter >> 32);
    v[14] = block_len;
    v[15] = flags;
#define PORTABLE_ROUND(...) IROH_B3_ROUND(v, m, SCALAR_ADD, SCALAR_XOR, SCALAR_ROR, __VA_ARGS__)
    IROH_B3_SCHEDULE(PORTABLE_ROUND);
#undef PORTABLE_ROUND
    for (int i = 0; i < 8; i++) {
        out[i] = v[i] ^ v[i + 8];
        out[i + 8] = v[i + 8] ^ cv[i];
    }
}

/* ---- ISA dispatch --------------------------------------------------------------------- */

struct ops {
    iroh_b3_compress_fn *compress;
    iroh_b3_many_fn *many4, *many8, *many16, *many32; /* NULL where the level has none */
};

#if defined(__x86_64__)
/* Single blocks: the SSE4.1 row form is one chain of dependent vector operations, while the
 * portable form runs the four column (then diagonal) G functions as independent scalar chains.
 * On the AVX-512 CPU this was tuned on (AMD Zen 5, 2-cycle vector latency) the portable form
 * takes 60 ns per block and the SSE4.1 one 120 ns, so the AVX2 and AVX-512 levels use the
 * portable form; the SSE4.1 level keeps its own for older CPUs with short vector latencies. */
static const struct ops OPS[] = {
    [IROH_BLAKE3_ISA_PORTABLE] = {compress_portable, NULL, NULL, NULL, NULL},
    [IROH_BLAKE3_ISA_SSE41] = {iroh_b3_compress_sse41, iroh_b3_many4_sse41, NULL, NULL, NULL},
    [IROH_BLAKE3_ISA_AVX2] = {compress_portable, iroh_b3_many4_sse41, iroh_b3_many8_avx2, NULL,
                              NULL},
    [IROH_BLAKE3_ISA_AVX512] = {compress_portable, iroh_b3_many4_sse41, iroh_b3_many8_avx2,
                                iroh_b3_many16_avx512, iroh_b3_many32_avx512},
};
#else
static const struct ops OPS[] = {
    [IROH_BLAKE3_ISA_PORTABLE] = {compress_portable, NULL, NULL, NULL, NULL}};
#endif

static const char *const ISA_NAMES[] = {"portable", "sse41", "avx2", "avx512"};

/* The level in use, or -1 before the first use decides it. */
static _Atomic int isa_active = -1;

enum iroh_blake3_isa iroh_blake3_isa_supported(void)
{
#if defined(__x86_64__)
    /* gcc's cpu model checks XCR0 too, so these are false where the OS does not save the
     * vector registers. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        return IROH_BLAKE3_ISA_AVX512;
    if (__builtin_cpu_supports("avx2")) return IROH_BLAKE3_ISA_AVX2;
    if (__builtin_cpu_supports("sse4.1")) return IROH_BLAKE3_ISA_SSE41;
#endif
    return IROH_BLAKE3_ISA_PORTABLE;
}

enum iroh_blake3_isa iroh_blake3_set_isa(enum iroh_blake3_isa want)
{
    enum iroh_blake3_isa level = iroh_blake3_isa_supported();
    if ((unsigned)want < (unsigned)level) level = want;
    atomic_store_explicit(&isa_active, (int)level, memory_order_relaxed);
    return level;
}

enum iroh_blake3_isa iroh_blake3_isa_active(void)
{
    int level = atomic_load_explicit(&isa_active, memory_order_relaxed);
    if (level >= 0) return (enum iroh_blake3_isa)level;
    enum iroh_blake3_isa want = IROH_BLAKE3_ISA_AVX512;
    const char *env = getenv("IROH_BLAKE3_ISA");
    for (int i = 0; env && i <= IROH_BLAKE3_ISA_AVX512; i++)
        if (strcmp(env, ISA_NAMES[i]) == 0) want = (enum iroh_blake3_isa)i;
    return iroh_blake3_set_isa(want);
}

const char *iroh_blake3_isa_name(enum iroh_blake3_isa isa)
{
    return (unsigned)isa <= IROH_BLAKE3_ISA_AVX512 ? ISA_NAMES[isa] : "?";
}

static const struct ops *active_ops(void)
{
    return &OPS[iroh_blake3_isa_active()];
}

/* ---- compression helpers -------------------------------------------------------------- */

/* What a node's last compression needs: its CV input, block, length, counter and flags.
 * Non-root nodes turn it into a CV; the root into as many output bytes as wanted. */
struct output {
    uint32_t cv[8];
    uint8_t block[BLOCK_LEN];
    uint8_t block_len;
    uint8_t flags;
    uint64_t counter;
};

static void output_cv(const struct ops *o, const struct output *out, uint8_t cv[CV_LEN])
{
    uint32_t w[16];
    o->compress(out->cv, out->block, out->block_len, out->counter, out->flags, w);
    words_to_bytes(w, 8, cv);
}

static void output_root_bytes(const struct ops *o, const struct output *out, uint64_t seek,
                              uint8_t *dst, size_t len)
{
    uint64_t block = seek / BLOCK_LEN;
    size_t skip = (size_t)(seek % BLOCK_LEN);
    while (len > 0) {
        uint32_t w[16];
        uint8_t bytes[BLOCK_LEN];
        o->compress(out->cv, out->block, out->block_len, block++, out->flags | IROH_B3_ROOT, w);
        words_to_bytes(w, 16, bytes);
        size_t take = BLOCK_LEN - skip < len ? BLOCK_LEN - skip : len;
        memcpy(dst, bytes + skip, take);
        dst += take;
        len -= take;
        skip = 0;
    }
}

/* The 32-byte hash when node is the root, else its CV. */
static void node_hash_or_cv(const struct ops *o, const struct output *node, bool is_root,
                            uint8_t out[CV_LEN])
{
    if (is_root)
        output_root_bytes(o, node, 0, out, CV_LEN);
    else
        output_cv(o, node, out);
}

static struct output parent_output(const uint32_t key[8], uint8_t flags,
                                   const uint8_t children[2 * CV_LEN])
{
    struct output out = {.block_len = BLOCK_LEN, .flags = flags | IROH_B3_PARENT, .counter = 0};
    memcpy(out.cv, key, sizeof out.cv);
    memcpy(out.block, children, BLOCK_LEN);
    return out;
}

/* Compresses one block into cv in place. */
static void compress_in_place(const struct ops *o, uint32_t cv[8], const uint8_t block[64],
                              uint64_t counter, uint8_t flags)
{
    uint32_t w[16];
    o->compress(cv, block, BLOCK_LEN, counter, flags, w);
    memcpy(cv, w, 8 * sizeof(uint32_t));
}

/* The last compression of chunk `counter` holding len ≤ 1024 bytes (0 only for empty input). */
static struct output chunk_output(const struct ops *o, const uint32_t key[8], uint8_t flags,
                                  uint64_t counter, const uint8_t *in, size_t len)
{
    struct output out = {.counter = counter};
    memcpy(out.cv, key, sizeof out.cv);
    uint8_t start = IROH_B3_CHUNK_START;
    for (; len > BLOCK_LEN; in += BLOCK_LEN, len -= BLOCK_LEN, start = 0)
        compress_in_place(o, out.cv, in, counter, flags | start);
    memset(out.block, 0, sizeof out.block);
    if (len > 0) memcpy(out.block, in, len);
    out.block_len = (uint8_t)len;
    out.flags = flags | start | IROH_B3_CHUNK_END;
    return out;
}

/* Hashes n inputs (see iroh_b3_many_fn) with the widest kernels that fit, then one by one. */
static void hash_many(const struct ops *o, const uint8_t *in, size_t n, size_t stride,
                      size_t blocks, const uint32_t key[8], uint64_t counter, unsigned step,
                      uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
    iroh_b3_many_fn *const kernels[] = {o->many32, o->many16, o->many8, o->many4};
    static const size_t widths[] = {32, 16, 8, 4};
    for (size_t k = 0; k < 4; k++) {
        for (; kernels[k] && n >= widths[k]; n -= widths[k]) {
            kernels[k](in, stride, blocks, key, counter, step, flags, flags_start, flags_end, out);
            in += widths[k] * stride;
            out += widths[k] * CV_LEN;
            counter += widths[k] * step;
        }
    }
    for (; n > 0; n--, in += stride, out += CV_LEN, counter += step) {
        uint32_t cv[8];
        memcpy(cv, key, sizeof cv);
        for (size_t b = 0; b < blocks; b++) {
            uint8_t f = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
            compress_in_place(o, cv, in + b * BLOCK_LEN, counter, f);
        }
        words_to_bytes(cv, 8, out);
    }
}

/* Reduces the n ≥ 2 consecutive CVs in cvs, the roots of the equal-size (except the last)
 * aligned subtrees of a left-balanced tree, to the two children of its root, one level at a
 * time with the wide kernels. tmp holds n/2 + 1 CVs. Returns the buffer (cvs or tmp) whose
 * first 64 bytes are the two children. */
static uint8_t *reduce_to_two(const struct ops *o, uint8_t *cvs, size_t n, uint8_t *tmp,
                              const uint32_t key[8], uint8_t flags)
{
    while (n > 2) {
        size_t pairs = n / 2;
        hash_many(o, cvs, pairs, 2 * CV_LEN, 1, key, 0, 0, flags | IROH_B3_PARENT, 0, 0, tmp);
        if (n % 2) memcpy(tmp + pairs * CV_LEN, cvs + (n - 1) * CV_LEN, CV_LEN);
        n = pairs + n % 2;
        uint8_t *swap = cvs;
        cvs = tmp;
        tmp = swap;
    }
    return cvs;
}

/* Largest power of two strictly less than n (n ≥ 2). */
static uint64_t pow2_below(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* The end of len bytes at in (in itself when len is 0, which may be NULL). */
static const uint8_t *end_of(const void *in, size_t len)
{
    return len ? (const uint8_t *)in + len : in;
}

/* What the nodes of one tree hashing share. */
struct tree {
    const struct ops *o;
    const uint32_t *key; /* the 8-word initial CV */
    uint8_t flags;       /* mode flags */
    const uint8_t *end;  /* end of the caller's input: reading up to here is allowed */
};

static void subtree_cv(const struct tree *t, const uint8_t *in, size_t len, uint64_t counter,
                       uint8_t out[CV_LEN]);

/* Reads one byte per 64 KiB of the len bytes at in (up to t->end), which batch_children does
 * for the batch after the one it hashes: on a lazily mapped file the page faults then happen
 * here, each mapping a 64 KiB window (the kernel's fault-around), and the batch's data loads
 * and the kernels' prefetches later find the pages mapped. Hashing a freshly mapped 1 GiB
 * file took 1.3 times less CPU time than without (a read per 4 KiB gained only 4%); on data
 * in memory it costs 4 loads per 256 KiB. */
static void touch_ahead(const struct tree *t, const uint8_t *in, size_t len)
{
    size_t room = (size_t)(t->end - in);
    for (size_t off = 0; off < len && off < room; off += 65536)
        (void)*(const volatile uint8_t *)(in + off);
}

/* subtree_children for at most BATCH_CHUNKS chunks: every chunk CV, then the parents level by
 * level, all with the wide kernels. Kept apart so that only the innermost frame of the
 * recursion holds its buffers. */
static void batch_children(const struct tree *t, const uint8_t *in, size_t len, uint64_t counter,
                           uint8_t out[2 * CV_LEN])
{
    uint8_t cvs[BATCH_CHUNKS * CV_LEN], tmp[(BATCH_CHUNKS / 2 + 1) * CV_LEN];
    size_t chunks = (len + CHUNK_LEN - 1) / CHUNK_LEN, full = len / CHUNK_LEN;
    touch_ahead(t, in + len, len);
    hash_many(t->o, in, full, CHUNK_LEN, BLOCKS_PER_CHUNK, t->key, counter, 1, t->flags,
              IROH_B3_CHUNK_START, IROH_B3_CHUNK_END, cvs);
    if (full < chunks) {
        struct output last = chunk_output(t->o, t->key, t->flags, counter + full,
                                          in + full * CHUNK_LEN, len - full * CHUNK_LEN);
        output_cv(t->o, &last, cvs + full * CV_LEN);
    }
    memcpy(out, reduce_to_two(t->o, cvs, chunks, tmp, t->key, t->flags), 2 * CV_LEN);
}

/* For a subtree of len > 1024 bytes starting at chunk `counter`: writes the CVs of its root's
 * two children to out. */
static void subtree_children(const struct tree *t, const uint8_t *in, size_t len, uint64_t counter,
                             uint8_t out[2 * CV_LEN])
{
    size_t chunks = (len + CHUNK_LEN - 1) / CHUNK_LEN;
    if (chunks <= BATCH_CHUNKS) {
        batch_children(t, in, len, counter, out);
        return;
    }
    size_t left = (size_t)pow2_below(chunks) * CHUNK_LEN;
    subtree_cv(t, in, left, counter, out);
    subtree_cv(t, in + left, len - left, counter + left / CHUNK_LEN, out + CV_LEN);
}

/* The last compression of the subtree over len bytes starting at chunk `counter`. */
static struct output subtree_output(const struct tree *t, const uint8_t *in, size_t len,
                                    uint64_t counter)
{
    if (len <= CHUNK_LEN) return chunk_output(t->o, t->key, t->flags, counter, in, len);
    uint8_t children[2 * CV_LEN];
    subtree_children(t, in, len, counter, children);
    return parent_output(t->key, t->flags, children);
}

/* The non-root CV of the subtree over len bytes starting at chunk `counter`. */
static void subtree_cv(const struct tree *t, const uint8_t *in, size_t len, uint64_t counter,
                       uint8_t out[CV_LEN])
{
    struct output node = subtree_output(t, in, len, counter);
    output_cv(t->o, &node, out);
}

/* The last compression of the whole input, hashed with key and flags. */
static struct output root_output(const struct ops *o, const void *in, size_t len,
                                 const uint32_t key[8], uint8_t flags)
{
    struct tree t = {o, key, flags, end_of(in, len)};
    return subtree_output(&t, in, len, 0);
}

/* ---- incremental hasher --------------------------------------------------------------- *
 * The current chunk is kept until input beyond it arrives, since only then is it known not
 * to be the root. Completed subtrees' CVs sit on a stack, largest (leftmost) first. A big
 * aligned run of input is hashed as one subtree whose two children are pushed unmerged, so
 * that a subtree ending the input can still become the root. Before a CV for chunk t is
 * pushed (or chunk t starts), the stack is merged down to popcount(t) entries: those merges
 * are safe because input follows them. */

static void hasher_init(struct iroh_blake3_hasher *h, const uint32_t key[8], uint8_t flags)
{
    memcpy(h->key, key, sizeof h->key);
    memcpy(h->cv, key, sizeof h->cv);
    h->chunk_counter = 0;
    h->buf_len = 0;
    h->blocks_done = 0;
    h->flags = flags;
    h->stack_len = 0;
}

void iroh_blake3_init(struct iroh_blake3_hasher *h)
{
    hasher_init(h, iroh_b3_iv, 0);
}

void iroh_blake3_init_keyed(struct iroh_blake3_hasher *h, const uint8_t key[IROH_BLAKE3_KEY_LEN])
{
    uint32_t words[8];
    bytes_to_words(key, 8, words);
    hasher_init(h, words, IROH_B3_KEYED_HASH);
}

/* The 8-word context key of a derive_key context string. */
static void context_key(const struct ops *o, const char *context, uint32_t key[8])
{
    uint8_t bytes[CV_LEN];
    struct output out =
        root_output(o, context, strlen(context), iroh_b3_iv, IROH_B3_DERIVE_KEY_CONTEXT);
    output_root_bytes(o, &out, 0, bytes, sizeof bytes);
    bytes_to_words(bytes, 8, key);
}

void iroh_blake3_init_derive_key(struct iroh_blake3_hasher *h, const char *context)
{
    uint32_t key[8];
    context_key(active_ops(), context, key);
    hasher_init(h, key, IROH_B3_DERIVE_KEY_MATERIAL);
}

static size_t chunk_len(const struct iroh_blake3_hasher *h)
{
    return (size_t)h->blocks_done * BLOCK_LEN + h->buf_len;
}

static void merge_stack(const struct ops *o, struct iroh_blake3_hasher *h, uint64_t chunks_before)
{
    while (h->stack_len > __builtin_popcountll(chunks_before)) {
        uint8_t *left = h->stack + (h->stack_len - 2) * CV_LEN;
        struct output parent = parent_output(h->key, h->flags, left);
        output_cv(o, &parent, left);
        h->stack_len--;
    }
}

/* Pushes the CV of a subtree whose first chunk is `first_chunk`. */
static void push_cv(const struct ops *o, struct iroh_blake3_hasher *h, const uint8_t cv[CV_LEN],
                    uint64_t first_chunk)
{
    merge_stack(o, h, first_chunk);
    memcpy(h->stack + h->stack_len * CV_LEN, cv, CV_LEN);
    h->stack_len++;
}

/* Adds len bytes that fit in the current chunk, keeping its last block buffered. */
static void chunk_update(const struct ops *o, struct iroh_blake3_hasher *h, const uint8_t *in,
                         size_t len)
{
    while (len > 0) {
        uint8_t start = h->blocks_done == 0 ? IROH_B3_CHUNK_START : 0;
        if (h->buf_len == BLOCK_LEN) {
            compress_in_place(o, h->cv, h->buf, h->chunk_counter, h->flags | start);
            h->blocks_done++;
            h->buf_len = 0;
        } else if (h->buf_len == 0 && len > BLOCK_LEN) {
            compress_in_place(o, h->cv, in, h->chunk_counter, h->flags | start);
            h->blocks_done++;
            in += BLOCK_LEN;
            len -= BLOCK_LEN;
        } else {
            size_t room = (size_t)BLOCK_LEN - h->buf_len;
            size_t take = room < len ? room : len;
            memcpy(h->buf + h->buf_len, in, take);
            h->buf_len += (uint8_t)take;
            in += take;
            len -= take;
        }
    }
}

static struct output chunk_state_output(const struct iroh_blake3_hasher *h)
{
    struct output out = {.block_len = h->buf_len, .counter = h->chunk_counter};
    memcpy(out.cv, h->cv, sizeof out.cv);
    memset(out.block, 0, sizeof out.block);
    memcpy(out.block, h->buf, h->buf_len);
    out.flags = h->flags | IROH_B3_CHUNK_END | (h->blocks_done == 0 ? IROH_B3_CHUNK_START : 0);
    return out;
}

void iroh_blake3_update(struct iroh_blake3_hasher *h, const void *in_, size_t len)
{
    const struct ops *o = active_ops();
    const uint8_t *in = in_;
    while (len > 0) {
        size_t have = chunk_len(h);
        if (have == CHUNK_LEN) { /* the full chunk is followed by input: not the root */
            uint8_t cv[CV_LEN];
            struct output out = chunk_state_output(h);
            output_cv(o, &out, cv);
            push_cv(o, h, cv, h->chunk_counter);
            memcpy(h->cv, h->key, sizeof h->cv);
            h->chunk_counter++;
            h->buf_len = 0;
            h->blocks_done = 0;
            have = 0;
        }
        if (have == 0 && len > CHUNK_LEN) {
            /* The largest whole subtree that fits and is aligned at the chunk counter. */
            uint64_t chunks = (uint64_t)1 << (63 - __builtin_clzll(len / CHUNK_LEN));
            while (h->chunk_counter & (chunks - 1))
                chunks >>= 1;
            if (chunks >= 2) {
                uint8_t children[2 * CV_LEN];
                size_t bytes = (size_t)chunks * CHUNK_LEN;
                struct tree t = {o, h->key, h->flags, in + len};
                subtree_children(&t, in, bytes, h->chunk_counter, children);
                push_cv(o, h, children, h->chunk_counter);
                push_cv(o, h, children + CV_LEN, h->chunk_counter + chunks / 2);
                h->chunk_counter += chunks;
                in += bytes;
                len -= bytes;
                continue;
            }
        }
        if (have == 0) merge_stack(o, h, h->chunk_counter);
        size_t take = CHUNK_LEN - have < len ? CHUNK_LEN - have : len;
        chunk_update(o, h, in, take);
        in += take;
        len -= take;
    }
}

void iroh_blake3_finalize_seek(const struct iroh_blake3_hasher *h, uint64_t seek, uint8_t *out,
                               size_t out_len)
{
    const struct ops *o = active_ops();
    size_t n = h->stack_len;
    struct output node;
    if (chunk_len(h) > 0 || n == 0) {
        node = chunk_state_output(h);
    } else { /* the input ended with a pushed subtree: its two children are on top */
        node = parent_output(h->key, h->flags, h->stack + (n - 2) * CV_LEN);
        n -= 2;
    }
    while (n > 0) {
        uint8_t children[2 * CV_LEN];
        memcpy(children, h->stack + --n * CV_LEN, CV_LEN);
        output_cv(o, &node, children + CV_LEN);
        node = parent_output(h->key, h->flags, children);
    }
    output_root_bytes(o, &node, seek, out, out_len);
}

void iroh_blake3_finalize(const struct iroh_blake3_hasher *h, uint8_t *out, size_t out_len)
{
    iroh_blake3_finalize_seek(h, 0, out, out_len);
}

/* ---- one-shot functions --------------------------------------------------------------- */

void iroh_blake3_hash(const void *in, size_t len, uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    iroh_blake3_subtree_cv(0, in, len, true, out);
}

void iroh_blake3_keyed_hash(const uint8_t key[IROH_BLAKE3_KEY_LEN], const void *in, size_t len,
                            uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    const struct ops *o = active_ops();
    uint32_t words[8];
    bytes_to_words(key, 8, words);
    struct output node = root_output(o, in, len, words, IROH_B3_KEYED_HASH);
    output_root_bytes(o, &node, 0, out, IROH_BLAKE3_OUT_LEN);
}

void iroh_blake3_derive_key(const char *context, const void *material, size_t len, uint8_t *out,
                            size_t out_len)
{
    const struct ops *o = active_ops();
    uint32_t key[8];
    context_key(o, context, key);
    struct output node = root_output(o, material, len, key, IROH_B3_DERIVE_KEY_MATERIAL);
    output_root_bytes(o, &node, 0, out, out_len);
}

/* ---- bao-tree building blocks --------------------------------------------------------- */

int iroh_blake3_chunk_cv(uint64_t chunk_counter, const void *in, size_t len, bool is_root,
                         uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    if (len > CHUNK_LEN) return IROH_EINVAL;
    const struct ops *o = active_ops();
    struct output node = chunk_output(o, iroh_b3_iv, 0, chunk_counter, in, len);
    node_hash_or_cv(o, &node, is_root, out);
    return IROH_OK;
}

void iroh_blake3_parent_cv(const uint8_t left[IROH_BLAKE3_OUT_LEN],
                           const uint8_t right[IROH_BLAKE3_OUT_LEN], bool is_root,
                           uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    const struct ops *o = active_ops();
    uint8_t children[2 * CV_LEN];
    memcpy(children, left, CV_LEN);
    memcpy(children + CV_LEN, right, CV_LEN);
    struct output node = parent_output(iroh_b3_iv, 0, children);
    node_hash_or_cv(o, &node, is_root, out);
}

void iroh_blake3_subtree_cv(uint64_t start_chunk, const void *in, size_t len, bool is_root,
                            uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    struct tree t = {active_ops(), iroh_b3_iv, 0, end_of(in, len)};
    struct output node = subtree_output(&t, in, len, start_chunk);
    node_hash_or_cv(t.o, &node, is_root, out);
}

/* ---- multi-threaded hashing ----------------------------------------------------------- */

/* The input cut into `pieces` subtrees of piece_len bytes (the last one shorter). */
struct parallel_job {
    const struct ops *o;
    const uint8_t *in;
    size_t len;
    uint64_t start_chunk;
    size_t piece_len;
    size_t pieces;
    atomic_size_t next; /* the next piece nobody has taken */
    uint8_t cvs[MAX_PIECES * CV_LEN];
};

static void *parallel_worker(void *arg)
{
    struct parallel_job *job = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->pieces) return NULL;
        size_t off = i * job->piece_len;
        size_t len = job->len - off < job->piece_len ? job->len - off : job->piece_len;
        struct tree t = {job->o, iroh_b3_iv, 0, job->in + off + len}; /* touch only its piece */
        subtree_cv(&t, job->in + off, len, job->start_chunk + off / CHUNK_LEN,
                   job->cvs + i * CV_LEN);
    }
}

void iroh_blake3_subtree_cv_parallel(uint64_t start_chunk, const void *in, size_t len, bool is_root,
                                     unsigned threads, uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    if (threads <= 1 || len < PARALLEL_MIN_LEN) {
        iroh_blake3_subtree_cv(start_chunk, in, len, is_root, out);
        return;
    }
    struct parallel_job job;
    size_t chunks = (len + CHUNK_LEN - 1) / CHUNK_LEN;
    size_t want =
        threads < MAX_PIECES / PIECES_PER_THREAD ? threads * PIECES_PER_THREAD : MAX_PIECES;
    size_t piece_chunks = MIN_PIECE_CHUNKS;
    while (piece_chunks * want < chunks)
        piece_chunks *= 2;
    job.o = active_ops();
    job.in = in;
    job.len = len;
    job.start_chunk = start_chunk;
    job.piece_len = piece_chunks * CHUNK_LEN;
    job.pieces = (chunks + piece_chunks - 1) / piece_chunks;
    atomic_init(&job.next, 0);

    pthread_t tids[MAX_PIECES];
    size_t started = 0;
    size_t helpers = (threads < job.pieces ? threads : job.pieces) - 1;
    while (started < helpers && pthread_create(&tids[started], NULL, parallel_worker, &job) == 0)
        started++;
    parallel_worker(&job);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);

    uint8_t tmp[(MAX_PIECES / 2 + 1) * CV_LEN];
    const uint8_t *children = reduce_to_two(job.o, job.cvs, job.pieces, tmp, iroh_b3_iv, 0);
    struct output node = parent_output(iroh_b3_iv, 0, children);
    node_hash_or_cv(job.o, &node, is_root, out);
}

void iroh_blake3_hash_parallel(const void *in, size_t len, unsigned threads,
                               uint8_t out[IROH_BLAKE3_OUT_LEN])
{
    iroh_blake3_subtree_cv_parallel(0, in, len, true, threads, out);
}
