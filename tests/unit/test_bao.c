/* test_bao.c — the bao tree with 16 KiB groups (spec/blobs.md §5, vectors §13.2/§13.3):
 * geometry, group CVs, the pre-order outboard (streaming builder, in-memory, threaded) and
 * the check of one group against it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bao.h"
#include "core/blake3.h"
#include "iroh/error.h"
#include "tests/test.h"

/* ---- helpers -------------------------------------------------------------------------- */

static void unhex(const char *hex, uint8_t *out)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static int eq_hex(const uint8_t *bytes, const char *hex)
{
    size_t n = strlen(hex) / 2;
    uint8_t want[512];
    if (n > sizeof want) return 0;
    unhex(hex, want);
    return memcmp(bytes, want, n) == 0;
}

/* bao-tree's make_test_data: byte i = (i / 1024) mod 256. Caller frees. */
static uint8_t *td(size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i / 1024);
    return d;
}

/* The BLAKE3 test-vector pattern: byte i = i mod 251. Caller frees. */
static uint8_t *m251(size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i % 251);
    return d;
}

/* ---- geometry ------------------------------------------------------------------------- */

static void test_geometry(void)
{
    CHECK_EQ_INT(iroh_bao_groups(0), 1);
    CHECK_EQ_INT(iroh_bao_groups(1), 1);
    CHECK_EQ_INT(iroh_bao_groups(16384), 1);
    CHECK_EQ_INT(iroh_bao_groups(16385), 2);
    CHECK_EQ_INT(iroh_bao_groups(100000), 7);
    CHECK(iroh_bao_groups(UINT64_MAX) == (UINT64_C(1) << 50));
    CHECK_EQ_INT(iroh_bao_outboard_size(0), 0);
    CHECK_EQ_INT(iroh_bao_outboard_size(16384), 0);
    CHECK_EQ_INT(iroh_bao_outboard_size(16385), 64);
    CHECK_EQ_INT(iroh_bao_outboard_size(100000), 384);
    CHECK_EQ_INT(iroh_bao_outboard_size(1048576), 4032);
    CHECK_EQ_INT(iroh_bao_group_len(0, 0), 0);
    CHECK_EQ_INT(iroh_bao_group_len(100000, 0), 16384);
    CHECK_EQ_INT(iroh_bao_group_len(100000, 6), 100000 - 6 * 16384);
    CHECK_EQ_INT(iroh_bao_group_len(100000, 7), 0);
    CHECK_EQ_INT(iroh_bao_group_len(32768, 1), 16384);
}

/* §13.2 "BLAKE3 internals": the two group CVs of td(32768) and its root. */
static void test_group_cv_vectors(void)
{
    uint8_t *d = td(32768), cv[32];
    iroh_bao_group_cv(32768, 0, d, 16384, 1, cv);
    CHECK(eq_hex(cv, "b165ad3c06f85bf90d7a9faca62825da807bb09b0fe684d5c6fedd1c8da18870"));
    iroh_bao_group_cv(32768, 1, d + 16384, 16384, 4, cv);
    CHECK(eq_hex(cv, "e5eeceb4a877e17c827adb40dd5f8e590f868c143b51e1d2a6a90d56b76b5494"));
    /* A one-group blob: the group CV is the root hash. */
    iroh_bao_group_cv(1024, 0, d, 1024, 1, cv);
    CHECK(eq_hex(cv, "d6fd9de5bccf223f523b316c9cd1cf9a9d87ea42473d68e011dad13f09bf8917"));
    iroh_bao_group_cv(0, 0, "", 0, 1, cv);
    CHECK(eq_hex(cv, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"));
    free(d);
}

/* ---- outboard ------------------------------------------------------------------------- */

/* §13.2 full-blob lines: root hash, outboard length and BLAKE3 of the outboard. */
static const struct {
    uint64_t size;
    const char *root, *outboard_b3, *outboard_hex;
} OUTBOARDS[] = {
    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", NULL, NULL},
    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213", NULL, NULL},
    {1024, "d6fd9de5bccf223f523b316c9cd1cf9a9d87ea42473d68e011dad13f09bf8917", NULL, NULL},
    {1025, "39f6832c1137b08fe0c1db6b17001c7a47215b6d5d93908af266baa0a95a4c61", NULL, NULL},
    {16384, "652cf60527aadffe64d47bfd4983be8819cd16d06ebbc994e1b19ad510266bfd", NULL, NULL},
    {16385, "948bfc97a751aea68d1b27fd96e8b9d7964cc568799db32d1e1ccaacf96d819d",
     "3cf6e03d1a0d83b742ffde373e2651212bbd69c95240c8a9044f7823f80b4a4e",
     "b165ad3c06f85bf90d7a9faca62825da807bb09b0fe684d5c6fedd1c8da18870310dfd2223da2f49174a8256a4"
     "44397735474d483450a140d73d031eb91784ef"},
    {32768, "a0ada6b20acd7270322fd23343156143ee195ba58913ed5e91eae2bbf3578ee7",
     "6692c2dcda17564cea31a11df19d73c5643a131ad1d9fafe1523b617bc1614a6",
     "b165ad3c06f85bf90d7a9faca62825da807bb09b0fe684d5c6fedd1c8da18870e5eeceb4a877e17c827adb40dd"
     "5f8e590f868c143b51e1d2a6a90d56b76b5494"},
    {32769, "cc37332b3cc24e5dc4862113bde6270e29f18279cd91bbbd3956042f2b63111d",
     "f0e159ad58bd91f8bb14d27f374aefcd21bbf49c1c229eb144dab746d2950085",
     "75a1f613ed989c124d6ca60b518d917ca646fe0b14d8d64a09cc8ef8d930de356ed99acf1a7cbf120da9ba949a"
     "9a0a08428dc890c2993e71c6237af44d9f2094b165ad3c06f85bf90d7a9faca62825da807bb09b0fe684d5c6fe"
     "dd1c8da18870e5eeceb4a877e17c827adb40dd5f8e590f868c143b51e1d2a6a90d56b76b5494"},
    {49152, "21a5cd59c993633de45ad3bced5cd38642c83bb6eb40443ee49bb008eaa5e7c9",
     "a4693b122758d905af373023b2931ccd9c1623ef6c7caba28e407d78054a5c12",
     "75a1f613ed989c124d6ca60b518d917ca646fe0b14d8d64a09cc8ef8d930de35ddef595d0e09426d53ff018eeb"
     "16752c063cf493c1351526038b08d802ff3c7eb165ad3c06f85bf90d7a9faca62825da807bb09b0fe684d5c6fe"
     "dd1c8da18870e5eeceb4a877e17c827adb40dd5f8e590f868c143b51e1d2a6a90d56b76b5494"},
    {100000, "470fe22a67d11dd5db95819c58aee60a5c02d331730adddadd668a1ecb00f6eb",
     "d61dbe390c020326ec1d47245c01e03603a76ff31cf610ba75fd6145aef6c3a3", NULL},
    {1048576, "b13c7a03ff2b293ab26abb0cfffdf8b30f3d459b6b24b23c7396e92ae4561bd3",
     "c4442a9ae4c452d4ba5bd7f5d963a7b9bd1e7db0ca45011f9cb5af6d14ea202e", NULL},
};

/* Collects emitted pairs into a buffer and counts how often each slot was written. */
struct collect {
    uint8_t *outboard;
    uint64_t size;
    unsigned *writes;
    int bad;
};

static void collect_pair(void *ctx, uint64_t offset, const uint8_t pair[64])
{
    struct collect *c = ctx;
    if (offset % 64 || offset + 64 > c->size) {
        c->bad++;
        return;
    }
    memcpy(c->outboard + offset, pair, 64);
    c->writes[offset / 64]++;
}

/* Streams data through a builder group by group; returns the finish result. */
static int build_streaming(const uint8_t *data, uint64_t size, uint8_t *outboard, uint8_t root[32])
{
    uint64_t ob_size = iroh_bao_outboard_size(size), groups = iroh_bao_groups(size);
    struct collect c = {outboard, ob_size, calloc(groups, sizeof(unsigned)), 0};
    struct iroh_bao_outboard_builder b;
    iroh_bao_outboard_builder_init(&b, size, collect_pair, &c);
    for (uint64_t i = 0; i < groups; i++) {
        uint8_t cv[32];
        size_t len = iroh_bao_group_len(size, i);
        iroh_bao_group_cv(size, i, data + i * 16384, len, 1, cv);
        CHECK_EQ_INT(iroh_bao_outboard_builder_add(&b, cv), 0);
        if (i + 1 < groups) CHECK_EQ_INT(iroh_bao_outboard_builder_finish(&b, root), IROH_EINVAL);
    }
    uint8_t cv[32] = {0};
    CHECK_EQ_INT(iroh_bao_outboard_builder_add(&b, cv), IROH_EINVAL);
    CHECK_EQ_INT(c.bad, 0);
    for (uint64_t i = 0; i + 1 < groups; i++)
        CHECK_EQ_INT(c.writes[i], 1);
    free(c.writes);
    return iroh_bao_outboard_builder_finish(&b, root);
}

static void test_outboard_vectors(void)
{
    for (size_t i = 0; i < sizeof OUTBOARDS / sizeof OUTBOARDS[0]; i++) {
        uint64_t size = OUTBOARDS[i].size, ob_size = iroh_bao_outboard_size(size);
        uint8_t *d = td(size), *ob = malloc(ob_size + 1), *ob2 = malloc(ob_size + 1);
        uint8_t root[32], root2[32], b3[32];
        iroh_bao_outboard_compute(d, size, 1, ob, root);
        CHECK(eq_hex(root, OUTBOARDS[i].root));
        if (OUTBOARDS[i].outboard_b3) {
            iroh_blake3_hash(ob, ob_size, b3);
            CHECK(eq_hex(b3, OUTBOARDS[i].outboard_b3));
        }
        if (OUTBOARDS[i].outboard_hex) {
            CHECK_EQ_INT(strlen(OUTBOARDS[i].outboard_hex), 2 * ob_size);
            CHECK(eq_hex(ob, OUTBOARDS[i].outboard_hex));
        }
        CHECK_EQ_INT(build_streaming(d, size, ob2, root2), 0);
        CHECK_EQ_MEM(root2, root, 32);
        CHECK_EQ_MEM(ob2, ob, ob_size);
        free(d);
        free(ob);
        free(ob2);
    }
}

/* The captured m(n) blobs of §13.3: their root hashes, and the m16385 outboard is its single
 * pair, which the full response carries right after the size header. */
static void test_outboard_captured(void)
{
    static const struct {
        uint64_t size;
        const char *root;
    } M[] = {
        {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
        {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
        {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
        {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
        {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
        {16385, "1dabe216be2578830263b049de1639f39f05a4da616b9b78c7a5e4e41662fd1f"},
        {32768, "162183d1f9184474f5a5c9e6224e66720cdb6523f822e52d9b1efa30893f48f9"},
        {100000, "d93c23eedaf165a7e0be908ba86f1a7a520d568d2d13cde787c8580c5c72cc54"},
    };
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        uint8_t *d = m251(M[i].size), *ob = malloc(iroh_bao_outboard_size(M[i].size) + 1);
        uint8_t root[32];
        iroh_bao_outboard_compute(d, M[i].size, 2, ob, root);
        CHECK(eq_hex(root, M[i].root));
        if (M[i].size == 16385 || M[i].size == 32768)
            CHECK(eq_hex(ob, "5384f9b342c6cb86badedcbe662b0e980476a8db17db3cc1f13b19329749ab1f"));
        if (M[i].size == 100000)
            CHECK(eq_hex(ob, "88da791e722ac59740d9a44402e384ad99f1c79d4bab7449"));
        free(d);
        free(ob);
    }
}

/* Sizes large enough that outboard_compute splits over threads give the same outboard as one
 * thread and as the streaming builder. */
static void test_outboard_threads(void)
{
    static const uint64_t SIZES[] = {(UINT64_C(5) << 20) + 1, UINT64_C(8) << 20,
                                     (UINT64_C(3) << 20) - 7};
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++) {
        uint64_t size = SIZES[i], ob_size = iroh_bao_outboard_size(size);
        uint8_t *d = m251(size), *ob1 = malloc(ob_size), *ob4 = malloc(ob_size),
                *ob7 = malloc(ob_size), *obs = malloc(ob_size);
        uint8_t r1[32], r4[32], r7[32], rs[32], h[32];
        iroh_bao_outboard_compute(d, size, 1, ob1, r1);
        iroh_bao_outboard_compute(d, size, 4, ob4, r4);
        iroh_bao_outboard_compute(d, size, 7, ob7, r7);
        CHECK_EQ_INT(build_streaming(d, size, obs, rs), 0);
        iroh_blake3_hash(d, size, h);
        CHECK_EQ_MEM(r1, h, 32);
        CHECK_EQ_MEM(r4, h, 32);
        CHECK_EQ_MEM(r7, h, 32);
        CHECK_EQ_MEM(rs, h, 32);
        CHECK_EQ_MEM(ob4, ob1, ob_size);
        CHECK_EQ_MEM(ob7, ob1, ob_size);
        CHECK_EQ_MEM(obs, ob1, ob_size);
        free(d);
        free(ob1);
        free(ob4);
        free(ob7);
        free(obs);
    }
}

/* ---- verify_group --------------------------------------------------------------------- */

/* A read_outboard that counts calls and checks they stay in bounds and aligned. */
struct counting_reader {
    struct iroh_bao_buffer buf;
    unsigned reads;
    int fail; /* error to return instead of reading, 0 for none */
};

static int counting_read(void *ctx, uint64_t offset, void *out, size_t len)
{
    struct counting_reader *r = ctx;
    r->reads++;
    CHECK_EQ_INT(len, 64);
    CHECK_EQ_INT(offset % 64, 0);
    if (r->fail) return r->fail;
    return iroh_bao_read_buffer(&r->buf, offset, out, len);
}

/* Depth of group index in the tree of a blob of `groups` groups. */
static unsigned depth_of(uint64_t groups, uint64_t index)
{
    unsigned d = 0;
    uint64_t start = 0, n = groups;
    while (n > 1) {
        uint64_t mid = 1;
        while (mid * 2 < n)
            mid *= 2;
        if (index < start + mid) {
            n = mid;
        } else {
            start += mid;
            n -= mid;
        }
        d++;
    }
    return d;
}

static void test_verify_group(void)
{
    static const uint64_t SIZES[] = {0,     1,     1024,  16384,  16385,
                                     32768, 32769, 49152, 100000, 1048576 + 1};
    for (size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
        uint64_t size = SIZES[s], groups = iroh_bao_groups(size);
        uint64_t ob_size = iroh_bao_outboard_size(size);
        uint8_t *d = m251(size), *ob = malloc(ob_size + 1), root[32];
        iroh_bao_outboard_compute(d, size, 1, ob, root);
        struct counting_reader r = {{ob, ob_size}, 0, 0};
        for (uint64_t g = 0; g < groups; g++) {
            uint8_t *gd = d + g * 16384;
            size_t len = iroh_bao_group_len(size, g);
            r.reads = 0;
            CHECK_EQ_INT(iroh_bao_verify_group(root, size, counting_read, &r, g, gd, len), 0);
            CHECK_EQ_INT(r.reads, depth_of(groups, g));
            if (len) {
                gd[len - 1] ^= 1;
                CHECK_EQ_INT(iroh_bao_verify_group(root, size, counting_read, &r, g, gd, len),
                             IROH_ECORRUPT);
                gd[len - 1] ^= 1;
            }
            CHECK_EQ_INT(iroh_bao_verify_group(root, size, counting_read, &r, g, gd, len + 1),
                         IROH_EINVAL);
        }
        CHECK_EQ_INT(iroh_bao_verify_group(root, size, counting_read, &r, groups, d, 0),
                     IROH_EINVAL);
        /* A wrong root fails every group; a flipped outboard byte fails the groups below it. */
        root[5] ^= 0x40;
        CHECK_EQ_INT(iroh_bao_verify_group(root, size, counting_read, &r, groups - 1,
                                           d + (groups - 1) * 16384,
                                           iroh_bao_group_len(size, groups - 1)),
                     IROH_ECORRUPT);
        root[5] ^= 0x40;
        /* A flipped byte in pair k fails exactly the groups under its node: all of them for
         * the root pair, at least two for any other. */
        for (uint64_t k = 0; k < ob_size / 64; k++) {
            ob[64 * k + (k % 64)] ^= 0x10;
            uint64_t failed = 0;
            for (uint64_t g = 0; g < groups; g++)
                failed += iroh_bao_verify_group(root, size, counting_read, &r, g, d + g * 16384,
                                                iroh_bao_group_len(size, g)) == IROH_ECORRUPT;
            CHECK(k == 0 ? failed == groups : failed >= 2 && failed < groups);
            ob[64 * k + (k % 64)] ^= 0x10;
        }
        if (ob_size) {
            r.fail = IROH_EIO;
            CHECK_EQ_INT(iroh_bao_verify_group(root, size, counting_read, &r, 0, d,
                                               iroh_bao_group_len(size, 0)),
                         IROH_EIO);
            r.fail = 0;
            struct iroh_bao_buffer missing = {ob, 0};
            CHECK_EQ_INT(iroh_bao_verify_group(root, size, iroh_bao_read_buffer, &missing, 0, d,
                                               iroh_bao_group_len(size, 0)),
                         IROH_ECORRUPT);
        }
        free(d);
        free(ob);
    }
}

int main(void)
{
    RUN(test_geometry);
    RUN(test_group_cv_vectors);
    RUN(test_outboard_vectors);
    RUN(test_outboard_captured);
    RUN(test_outboard_threads);
    RUN(test_verify_group);
    return TEST_SUMMARY();
}
