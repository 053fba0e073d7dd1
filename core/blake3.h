/* core/blake3.h — BLAKE3: hashing, keyed hashing, key derivation and extendable output, the
 * tree building blocks bao-tree needs (chunk, parent and subtree chaining values) and
 * multi-threaded hashing of large in-memory buffers.
 *
 * Any module may call these functions; they are pure computation on caller-owned memory,
 * allocate nothing and are thread-safe (a hasher is used by one thread at a time). The SIMD
 * kernel (portable, SSE4.1, AVX2, AVX-512) is chosen at first use from what the CPU and OS
 * support; the environment variable IROH_BLAKE3_ISA=portable|sse41|avx2|avx512 caps it (for
 * tests and benchmarks), as does iroh_blake3_set_isa(). Every level gives the same results.
 *
 * Terms (BLAKE3 paper §2): input is split into 1024-byte chunks numbered from 0; a chunk's
 * chaining value (CV) depends on its bytes and its number ("counter"); two sibling CVs make a
 * parent CV; the tree is left-balanced (the left subtree holds the largest power of two
 * number of chunks strictly less than the total). The root node is compressed with the ROOT
 * flag and its output is the hash. A "non-root" CV is what bao-tree stores and checks. */
#ifndef IROH_CORE_BLAKE3_H
#define IROH_CORE_BLAKE3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IROH_BLAKE3_OUT_LEN 32     /* bytes of a hash and of a chaining value */
#define IROH_BLAKE3_KEY_LEN 32     /* bytes of a keyed-hash key */
#define IROH_BLAKE3_BLOCK_LEN 64   /* bytes of one compression input */
#define IROH_BLAKE3_CHUNK_LEN 1024 /* bytes of one chunk (16 blocks) */
#define IROH_BLAKE3_MAX_DEPTH 54   /* tree levels above the chunks for inputs below 2^64 bytes */

/* An incremental hasher. Plain data: it may be copied (to fork a hash state) and needs no
 * cleanup. Fields are private to blake3.c. */
struct iroh_blake3_hasher {
    uint32_t key[8];        /* the initial CV: the IV, the key, or the derived context key */
    uint32_t cv[8];         /* CV of the current chunk so far */
    uint64_t chunk_counter; /* number of the current chunk */
    uint8_t buf[IROH_BLAKE3_BLOCK_LEN]; /* the current chunk's not yet compressed block */
    uint8_t buf_len;                    /* bytes in buf */
    uint8_t blocks_done;                /* blocks of the current chunk already compressed */
    uint8_t flags;                      /* mode flags: 0, KEYED_HASH or DERIVE_KEY_MATERIAL */
    uint8_t stack_len;                  /* CVs on the stack */
    uint8_t stack[(IROH_BLAKE3_MAX_DEPTH + 1) * IROH_BLAKE3_OUT_LEN]; /* completed subtrees */
};

/* SIMD levels, each including the ones below it. */
enum iroh_blake3_isa {
    IROH_BLAKE3_ISA_PORTABLE = 0,
    IROH_BLAKE3_ISA_SSE41 = 1,
    IROH_BLAKE3_ISA_AVX2 = 2,
    IROH_BLAKE3_ISA_AVX512 = 3, /* AVX-512F + AVX-512VL */
};

/* Starts a plain hash. */
void iroh_blake3_init(struct iroh_blake3_hasher *h);
/* Starts a keyed hash (a MAC / PRF) under the 32-byte key. */
void iroh_blake3_init_keyed(struct iroh_blake3_hasher *h, const uint8_t key[IROH_BLAKE3_KEY_LEN]);
/* Starts a key derivation for the NUL-terminated context string; the key material is then
 * fed with iroh_blake3_update() and the derived key read with iroh_blake3_finalize(). */
void iroh_blake3_init_derive_key(struct iroh_blake3_hasher *h, const char *context);
/* Adds len bytes (in may be NULL when len is 0). Any split of the input gives the same hash. */
void iroh_blake3_update(struct iroh_blake3_hasher *h, const void *in, size_t len);
/* Writes the first out_len bytes of the output stream (out_len 32 = the hash). The hasher is
 * not changed: more input may follow and finalize may be called again. */
void iroh_blake3_finalize(const struct iroh_blake3_hasher *h, uint8_t *out, size_t out_len);
/* Like iroh_blake3_finalize but writes out_len bytes starting at byte offset seek of the
 * output stream. */
void iroh_blake3_finalize_seek(const struct iroh_blake3_hasher *h, uint64_t seek, uint8_t *out,
                               size_t out_len);

/* One-shot hash of len bytes into 32 bytes (single-threaded). */
void iroh_blake3_hash(const void *in, size_t len, uint8_t out[IROH_BLAKE3_OUT_LEN]);
/* One-shot keyed hash of len bytes under the 32-byte key. */
void iroh_blake3_keyed_hash(const uint8_t key[IROH_BLAKE3_KEY_LEN], const void *in, size_t len,
                            uint8_t out[IROH_BLAKE3_OUT_LEN]);
/* One-shot key derivation: out_len bytes derived from the key material under the
 * NUL-terminated context string. */
void iroh_blake3_derive_key(const char *context, const void *material, size_t len, uint8_t *out,
                            size_t out_len);

/* The CV of one chunk of len ≤ 1024 bytes numbered chunk_counter. With is_root the chunk is
 * the whole input and out is its hash (chunk_counter must then be 0). Returns 0, or
 * IROH_EINVAL when len > 1024 (out untouched). */
int iroh_blake3_chunk_cv(uint64_t chunk_counter, const void *in, size_t len, bool is_root,
                         uint8_t out[IROH_BLAKE3_OUT_LEN]);
/* The CV of the parent of two child CVs; with is_root the parent is the root and out is the
 * hash of the input it covers. out may alias left or right. */
void iroh_blake3_parent_cv(const uint8_t left[IROH_BLAKE3_OUT_LEN],
                           const uint8_t right[IROH_BLAKE3_OUT_LEN], bool is_root,
                           uint8_t out[IROH_BLAKE3_OUT_LEN]);
/* The CV of the subtree over len bytes of contiguous chunks whose first chunk is numbered
 * start_chunk (bao-tree's hash_subtree). For a node of the tree of a larger input, len is a
 * power-of-two number of chunks, or the rest of the input on the right edge, and start_chunk
 * is a multiple of that power of two. Without is_root the result is the non-root CV; with
 * is_root the subtree is the whole input (start_chunk 0) and out is its hash. Uses the widest
 * SIMD kernel; single-threaded. */
void iroh_blake3_subtree_cv(uint64_t start_chunk, const void *in, size_t len, bool is_root,
                            uint8_t out[IROH_BLAKE3_OUT_LEN]);
/* iroh_blake3_subtree_cv split over up to `threads` threads (the caller's one included) at
 * power-of-two subtree boundaries. threads ≤ 1 or small inputs (under 1 MiB) are hashed in
 * the calling thread; if a thread cannot be started its share is done by the others. */
void iroh_blake3_subtree_cv_parallel(uint64_t start_chunk, const void *in, size_t len, bool is_root,
                                     unsigned threads, uint8_t out[IROH_BLAKE3_OUT_LEN]);
/* The hash of len bytes computed with up to `threads` threads (see above); equals
 * iroh_blake3_hash(). */
void iroh_blake3_hash_parallel(const void *in, size_t len, unsigned threads,
                               uint8_t out[IROH_BLAKE3_OUT_LEN]);

/* The best level this CPU and OS support. */
enum iroh_blake3_isa iroh_blake3_isa_supported(void);
/* The level in use: the supported one, capped by IROH_BLAKE3_ISA and iroh_blake3_set_isa(). */
enum iroh_blake3_isa iroh_blake3_isa_active(void);
/* Uses min(want, supported) from now on, in every thread; returns the level now in use. Meant
 * for tests and benchmarks; calls racing with hashing in other threads are safe. */
enum iroh_blake3_isa iroh_blake3_set_isa(enum iroh_blake3_isa want);
/* "portable", "sse41", "avx2" or "avx512"; never NULL ("?" for an unknown value). */
const char *iroh_blake3_isa_name(enum iroh_blake3_isa isa);

#endif
