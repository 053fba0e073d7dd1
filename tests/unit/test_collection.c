/* test_collection.c — collections (spec/blobs.md §9.3): the §13.3 collection captured from a
 * real iroh 0.35 provider encoded byte for byte (meta, root, root hash and the SHA-256 of the
 * Get all() response) and decoded; round trips over many name sets; every decoder refusal;
 * the safe-name and name-set checks used before an export writes files. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/blake3.h"
#include "core/collection.h"
#include "core/encoding.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

#define HELLO_HASH "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"
#define EMPTY_HASH "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
#define META_HEX "436f6c6c656374696f6e56302e020968656c6c6f2e7478740162"
#define META_HASH "b74f3e1ebda02c673f22358d867fdf1764d55bf8453eda5aa088c345314f0425"
#define ROOT_HASH "bfa683c3889cdccbff6862757084319d700647f19621b51faec9d6263553958b"
/* SHA-256 of the provider's whole answer to Get all() on the collection (§13.3). */
#define ALL_SHA256 "2db636b4e66ae154ec7f1d15559cffc348a912eef61dea1c20f72b34fd12a814"

static int eq_hex(const uint8_t *bytes, size_t len, const char *hex)
{
    uint8_t want[256];
    return strlen(hex) == 2 * len && unhex(hex, want, sizeof want) == len &&
           memcmp(bytes, want, len) == 0;
}

static struct iroh_collection_name nm(const char *s)
{
    return (struct iroh_collection_name){s, strlen(s)};
}

static bool name_is(struct iroh_collection_name n, const char *s)
{
    return n.len == strlen(s) && memcmp(n.data, s, n.len) == 0;
}

/* Appends one blob's response for a whole blob of at most 1024 bytes (one chunk: no parent
 * pairs): the 8-byte LE size, then the bytes. */
static size_t put_blob(uint8_t *wire, size_t at, const uint8_t *data, size_t len)
{
    for (int i = 0; i < 8; i++)
        wire[at + i] = (uint8_t)((uint64_t)len >> (8 * i));
    memcpy(wire + at + 8, data, len);
    return at + 8 + len;
}

/* ---- the §13.3 capture ---------------------------------------------------------------- */

static void test_iroh_capture_encode(void)
{
    struct iroh_collection_name names[] = {nm("hello.txt"), nm("b")};
    uint8_t meta[64], children[64], root[96], hash[32];
    size_t bad = 99;
    CHECK_EQ_INT(iroh_collection_meta_size(names, 2), 26);
    int len = iroh_collection_meta_encode(names, 2, meta, sizeof meta, &bad);
    CHECK_EQ_INT(len, 26);
    CHECK(eq_hex(meta, 26, META_HEX));
    iroh_blake3_hash(meta, 26, hash);
    CHECK(eq_hex(hash, 32, META_HASH));

    unhex(HELLO_HASH, children, 32);
    unhex(EMPTY_HASH, children + 32, 32);
    CHECK_EQ_INT(iroh_collection_root_size(2), 96);
    iroh_collection_root_encode(hash, children, 2, root);
    CHECK(eq_hex(root, 32, META_HASH));
    CHECK(eq_hex(root + 32, 32, HELLO_HASH));
    CHECK(eq_hex(root + 64, 32, EMPTY_HASH));
    uint8_t root_hash[32];
    iroh_blake3_hash(root, sizeof root, root_hash);
    CHECK(eq_hex(root_hash, 32, ROOT_HASH));

    /* The provider's answer to Get all(): root, meta, "hello", empty — 159 bytes. */
    uint8_t wire[256];
    size_t at = put_blob(wire, 0, root, sizeof root);
    at = put_blob(wire, at, meta, (size_t)len);
    at = put_blob(wire, at, (const uint8_t *)"hello", 5);
    at = put_blob(wire, at, (const uint8_t *)"", 0);
    CHECK_EQ_INT(at, 159);
    uint8_t sha[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(sha, wire, at);
    CHECK(eq_hex(sha, sizeof sha, ALL_SHA256));

    /* Too small a buffer: nothing but the error. */
    CHECK_EQ_INT(iroh_collection_meta_encode(names, 2, meta, 25, &bad), IROH_EBUFFER);
}

static void test_iroh_capture_decode(void)
{
    uint8_t meta[64], root[96];
    size_t meta_len = unhex(META_HEX, meta, sizeof meta);
    unhex(META_HASH, root, 32);
    unhex(HELLO_HASH, root + 32, 32);
    unhex(EMPTY_HASH, root + 64, 32);
    const char *why = NULL;
    size_t count = 0;
    /* First ask for the count, then decode. */
    CHECK_EQ_INT(iroh_collection_decode(root, 96, meta, meta_len, NULL, 0, &count, &why),
                 IROH_EBUFFER);
    CHECK_EQ_INT(count, 2);
    struct iroh_collection_name names[2];
    CHECK_EQ_INT(iroh_collection_decode(root, 96, meta, meta_len, names, 1, &count, &why),
                 IROH_EBUFFER);
    CHECK_EQ_INT(iroh_collection_decode(root, 96, meta, meta_len, names, 2, &count, &why), 0);
    CHECK_EQ_INT(count, 2);
    CHECK(name_is(names[0], "hello.txt"));
    CHECK(name_is(names[1], "b"));
    /* The views point into meta. */
    CHECK(names[0].data == (const char *)meta + 15);
    /* Both names are safe to write. */
    size_t bad;
    CHECK_EQ_INT(iroh_collection_names_check(names, 2, &bad, &why), 0);
}

/* ---- round trips ------------------------------------------------------------------------ */

static void round_trip(const struct iroh_collection_name *names, size_t count)
{
    size_t size = iroh_collection_meta_size(names, count), bad = 0;
    uint8_t *meta = malloc(size);
    uint8_t *children = malloc(32 * count + 1);
    uint8_t *root = malloc(iroh_collection_root_size(count));
    struct iroh_collection_name *back = malloc(sizeof *back * (count + 1));
    CHECK(meta && children && root && back);
    CHECK_EQ_INT(iroh_collection_meta_encode(names, count, meta, size, &bad), (int)size);
    for (size_t i = 0; i < 32 * count; i++)
        children[i] = (uint8_t)(i * 7 + count);
    uint8_t meta_hash[32];
    iroh_blake3_hash(meta, size, meta_hash);
    iroh_collection_root_encode(meta_hash, children, count, root);
    CHECK_EQ_MEM(root + 32, children, 32 * count);
    size_t got = 99;
    const char *why = NULL;
    CHECK_EQ_INT(iroh_collection_decode(root, iroh_collection_root_size(count), meta, size, back,
                                        count, &got, &why),
                 0);
    CHECK_EQ_INT(got, count);
    for (size_t i = 0; i < count && i < got; i++)
        CHECK(back[i].len == names[i].len && memcmp(back[i].data, names[i].data, back[i].len) == 0);
    free(meta);
    free(children);
    free(root);
    free(back);
}

static void test_round_trips(void)
{
    round_trip(NULL, 0); /* an empty directory: the root is the meta hash alone */
    struct iroh_collection_name one[] = {nm("a")};
    round_trip(one, 1);
    struct iroh_collection_name mixed[] = {nm("z"), nm("dir/sub/file.bin"), nm("ünïcödé/日本.txt"),
                                           nm("with space"), nm("a")};
    round_trip(mixed, 5);
    /* Lengths whose varint takes 1, 2 and 3 bytes. */
    static char long_names[3][20000];
    size_t lens[3] = {127, 128, 16384};
    struct iroh_collection_name longs[3];
    for (int i = 0; i < 3; i++) {
        memset(long_names[i], 'a' + i, lens[i]);
        longs[i] = (struct iroh_collection_name){long_names[i], lens[i]};
    }
    round_trip(longs, 3);
    /* Many names: the count's varint takes 2 bytes. */
    static char many_text[300][8];
    struct iroh_collection_name many[300];
    for (int i = 0; i < 300; i++) {
        snprintf(many_text[i], sizeof many_text[i], "f%03d", i);
        many[i] = nm(many_text[i]);
    }
    round_trip(many, 300);
}

/* ---- refusals ---------------------------------------------------------------------------- */

/* Decodes meta against a root made for it (unless root is given) and expects a refusal. */
static void refused(const uint8_t *meta, size_t meta_len, const uint8_t *root, size_t root_len)
{
    uint8_t made[96];
    if (!root) {
        iroh_blake3_hash(meta, meta_len, made);
        memset(made + 32, 0, 64);
        root = made;
        root_len = sizeof made;
    }
    struct iroh_collection_name names[4];
    size_t count = 0;
    const char *why = NULL;
    CHECK_EQ_INT(iroh_collection_decode(root, root_len, meta, meta_len, names, 4, &count, &why),
                 IROH_EINVAL);
    CHECK(why && *why);
}

static void test_decode_refusals(void)
{
    uint8_t meta[64], root[128];
    size_t len = unhex(META_HEX, meta, sizeof meta);
    unhex(META_HASH, root, 32);
    memset(root + 32, 0, sizeof root - 32);

    uint8_t bad[64];
    memcpy(bad, meta, len);
    bad[0] = 'c'; /* header */
    refused(bad, len, NULL, 0);
    refused(meta, 12, NULL, 0); /* truncated header */
    refused(meta, 13, NULL, 0); /* no count */
    for (size_t cut = 14; cut < len; cut++)
        refused(meta, cut, NULL, 0); /* truncated names */
    memcpy(bad, meta, len);
    bad[13] = 0x7f; /* 127 names in 12 bytes */
    refused(bad, len, NULL, 0);
    memcpy(bad, meta, len);
    bad[15] = 0xff; /* not UTF-8 */
    refused(bad, len, NULL, 0);
    memcpy(bad, meta, len);
    memset(bad + 13, 0xff, 10); /* a varint over 10 bytes */
    refused(bad, len, NULL, 0);

    refused(meta, len, root, 64);  /* one hash short */
    refused(meta, len, root, 128); /* one hash too many */
    refused(meta, len, root, 95);  /* not a hash sequence */
    root[5] ^= 1;
    refused(meta, len, root, 96); /* the meta hash is not the first */
    root[5] ^= 1;

    /* Bytes after the names are ignored, as postcard does (the meta hash covers them). */
    memcpy(bad, meta, len);
    bad[len] = 0x55;
    uint8_t root2[96];
    iroh_blake3_hash(bad, len + 1, root2);
    memset(root2 + 32, 0, 64);
    struct iroh_collection_name names[2];
    size_t count = 0;
    const char *why = NULL;
    CHECK_EQ_INT(iroh_collection_decode(root2, 96, bad, len + 1, names, 2, &count, &why), 0);
    CHECK_EQ_INT(count, 2);

    /* The encoder refuses a name that is not UTF-8 and says which. */
    struct iroh_collection_name enc[] = {nm("ok"), nm("bad\xc3\x28")};
    size_t which = 0;
    uint8_t out[64];
    CHECK_EQ_INT(iroh_collection_meta_encode(enc, 2, out, sizeof out, &which), IROH_EINVAL);
    CHECK_EQ_INT(which, 1);
}

/* ---- names ------------------------------------------------------------------------------- */

static void test_name_check(void)
{
    static const char *const good[] = {
        "a",    "a/b",   "dir/sub/file.txt", ".hidden",    "a/.b",       "...",
        "a..b", "x/..y", "ü/日本",           "with space", "back\\slash"};
    static const char *const bad[] = {"",       "/abs", "/",           "a/",  "a//b",
                                      ".",      "..",   "./a",         "a/.", "../a",
                                      "a/../b", "a/..", "bad\xc3\x28", "\xff"};
    const char *why;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        why = NULL;
        int rc = iroh_collection_name_check(good[i], strlen(good[i]), &why);
        if (rc != 0) fprintf(stderr, "good name refused: \"%s\": %s\n", good[i], why);
        CHECK_EQ_INT(rc, 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        int rc = iroh_collection_name_check(bad[i], strlen(bad[i]), &why);
        if (rc == 0) fprintf(stderr, "bad name accepted: \"%s\"\n", bad[i]);
        CHECK_EQ_INT(rc, IROH_EINVAL);
        CHECK(why && *why);
    }
    why = NULL;
    CHECK_EQ_INT(iroh_collection_name_check("a\0b", 3, &why), IROH_EINVAL);
    CHECK(why && strstr(why, "NUL"));
    CHECK_EQ_INT(iroh_collection_name_check("../x", 4, &why), IROH_EINVAL);
    CHECK(strstr(why, "'..'") != NULL);
}

static void test_names_check(void)
{
    const char *why = NULL;
    size_t bad = 99;
    struct iroh_collection_name ok[] = {nm("a.b"), nm("a/b"), nm("a0"), nm("b"), nm("a/c/d")};
    CHECK_EQ_INT(iroh_collection_names_check(ok, 5, &bad, &why), 0);
    /* Sorted by component: everything under "a/" before "a.b". */
    CHECK(name_is(ok[0], "a/b"));
    CHECK(name_is(ok[1], "a/c/d"));
    CHECK(name_is(ok[2], "a.b"));
    CHECK(name_is(ok[3], "a0"));
    CHECK(name_is(ok[4], "b"));
    CHECK_EQ_INT(iroh_collection_names_check(NULL, 0, &bad, &why), 0);

    struct iroh_collection_name twice[] = {nm("x"), nm("dir/f"), nm("y"), nm("dir/f")};
    CHECK_EQ_INT(iroh_collection_names_check(twice, 4, &bad, &why), IROH_EINVAL);
    CHECK(name_is(twice[bad], "dir/f"));
    CHECK(strstr(why, "twice") != NULL);

    /* "a" is a file and the directory of "a/b", with "a.b" sorting between them bytewise. */
    struct iroh_collection_name both[] = {nm("a/b"), nm("a.b"), nm("a")};
    CHECK_EQ_INT(iroh_collection_names_check(both, 3, &bad, &why), IROH_EINVAL);
    CHECK(name_is(both[bad], "a"));
    CHECK(strstr(why, "directory") != NULL);
    struct iroh_collection_name deep[] = {nm("d/e/f"), nm("d/e")};
    CHECK_EQ_INT(iroh_collection_names_check(deep, 2, &bad, &why), IROH_EINVAL);
    CHECK(name_is(deep[bad], "d/e"));
    /* A prefix that is not a directory is fine. */
    struct iroh_collection_name prefix[] = {nm("ab"), nm("a")};
    CHECK_EQ_INT(iroh_collection_names_check(prefix, 2, &bad, &why), 0);

    struct iroh_collection_name unsafe[] = {nm("fine"), nm("../etc/passwd")};
    CHECK_EQ_INT(iroh_collection_names_check(unsafe, 2, &bad, &why), IROH_EINVAL);
    CHECK(name_is(unsafe[bad], "../etc/passwd"));
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    RUN(test_iroh_capture_encode);
    RUN(test_iroh_capture_decode);
    RUN(test_round_trips);
    RUN(test_decode_refusals);
    RUN(test_name_check);
    RUN(test_names_check);
    return TEST_SUMMARY();
}
