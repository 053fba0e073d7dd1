/* test_blob_store.c — storage/blob_store on a real sqlite file and real files in a temp dir:
 * hashes equal b3sum's around every size boundary, placement (inline / owned / external and
 * the outboard's), reads at odd offsets, export, referenced files that change (never wrong
 * bytes), partial entries written group by group in random order across a restart, tags, temp
 * tags and GC (HashSeq children protected), explicit delete, the same content imported by two
 * threads at once, start-up recovery, a full disk (a 4 MiB tmpfs), and malformed hashes. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bao.h"
#include "core/blake3.h"
#include "iroh/error.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "tests/test.h"
#include "tests/unit/file_checks.h"
#include "tests/unit/tmpdir.h"

#define NODE_ID "1111111111111111111111111111111111111111111111111111111111111111"
#define MIB (1024 * 1024)

static char tmpdir[512];
static char store_root[600]; /* the data dir of the store under test */

/* ---- helpers ----------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd() >> 24);
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* size random bytes, also written to the new file tmpdir/<name> (name a printf format) whose
 * path goes to path[0..700); returns the bytes, which the caller frees. */
static uint8_t *random_file(char path[700], uint64_t size, const char *name, ...)
    __attribute__((format(printf, 3, 4)));
static uint8_t *random_file(char path[700], uint64_t size, const char *name, ...)
{
    uint8_t *data = random_bytes(size);
    int at = snprintf(path, 700, "%s/", tmpdir);
    va_list ap;
    va_start(ap, name);
    vsnprintf(path + at, 700 - (size_t)at, name, ap);
    va_end(ap);
    write_file(path, data, size);
    return data;
}

/* Opens (creating) a store whose irohd.db and blobs/ live in dir. */
static struct blob_store *open_store_in(const char *dir)
{
    char db_path[700], blobs[700], err[256];
    snprintf(db_path, sizeof db_path, "%s/irohd.db", dir);
    snprintf(blobs, sizeof blobs, "%s/blobs", dir);
    sqlite3 *db;
    if (storage_db_open(db_path, NODE_ID, &db, err, sizeof err) < 0) {
        fprintf(stderr, "storage_db_open: %s\n", err);
        return NULL;
    }
    storage_db_close(db);
    struct blob_store *s = NULL;
    struct blob_error e = {""};
    int rc = blob_store_open(db_path, blobs, &s, &e);
    if (rc < 0) fprintf(stderr, "blob_store_open: %s\n", e.detail);
    return s;
}

static struct blob_store *open_store(void)
{
    return open_store_in(store_root);
}

static void fresh_store_root(const char *name)
{
    snprintf(store_root, sizeof store_root, "%s/%s", tmpdir, name);
    rm_rf(store_root);
    mkdir(store_root, 0700);
}

/* A store in a fresh store_root/name; NULL (a failed check) when it does not open. */
static struct blob_store *open_fresh_store(const char *name)
{
    fresh_store_root(name);
    struct blob_store *s = open_store();
    CHECK(s != NULL);
    return s;
}

static int count_store_files(const char *sub)
{
    char path[800];
    snprintf(path, sizeof path, "%s/blobs/%s", store_root, sub);
    return count_files(path);
}

/* The whole blob read through a reader is size bytes, equal to data. */
static void check_reads_back(struct blob_store *s, const uint8_t hash[32], const uint8_t *data,
                             uint64_t size)
{
    struct blob_reader *r = NULL;
    struct blob_error e = {""};
    int rc = blob_store_reader_open(s, hash, &r, &e);
    CHECK_EQ_INT(rc, 0);
    if (rc < 0) return;
    uint64_t got = blob_reader_size(r);
    CHECK_EQ_INT(got, size);
    uint8_t *buf = malloc(got ? got : 1);
    int64_t n = blob_reader_read(r, 0, buf, got, &e);
    CHECK_EQ_INT(n, got);
    if (n == (int64_t)size) CHECK_EQ_MEM(buf, data, size);
    free(buf);
    blob_reader_close(r);
}

/* The path of the store's outboard file of hash into path[0..800). */
static void stored_outboard_path(const uint8_t hash[32], char path[800])
{
    char hex[65];
    blob_hash_hex(hash, hex);
    snprintf(path, 800, "%s/blobs/data/%s.obao4", store_root, hex);
}

/* The store's outboard file of hash, which must hold ob_size bytes: a new buffer of them, or
 * NULL (a failed check) when the file cannot be opened. */
static uint8_t *read_stored_outboard(const uint8_t hash[32], uint64_t ob_size)
{
    char path[800];
    stored_outboard_path(hash, path);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return NULL;
    uint8_t *stored = calloc(1, ob_size ? ob_size : 1);
    CHECK_EQ_INT(fread(stored, 1, ob_size, f), ob_size);
    fclose(f);
    return stored;
}

/* The reader's outboard equals the one computed here from the data. */
static void check_outboard(struct blob_store *s, const uint8_t hash[32], const uint8_t *data,
                           uint64_t size)
{
    uint64_t len = iroh_bao_outboard_size(size);
    uint8_t *want = malloc(len ? len : 1), *got = malloc(len ? len : 1), h[32];
    iroh_bao_outboard_compute(data, size, 1, len ? want : NULL, h);
    CHECK_EQ_MEM(h, hash, 32);
    struct blob_reader *r;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_reader_open(s, hash, &r, &e), 0);
    if (r) {
        CHECK(blob_reader_complete(r));
        CHECK_EQ_INT(blob_reader_outboard(r, 0, got, len, &e), 0);
        CHECK_EQ_MEM(got, want, len);
        CHECK_EQ_INT(blob_reader_outboard(r, len, got, 1, &e), IROH_EINVAL);
        blob_reader_close(r);
    }
    free(want);
    free(got);
}

/* *a, once the import that filled it returned rc: a failed check (and why) unless rc is 0. */
static struct blob_added import_checked(int rc, const struct blob_added *a,
                                        const struct blob_error *e)
{
    if (rc < 0) fprintf(stderr, "import: %s\n", e->detail);
    CHECK_EQ_INT(rc, 0);
    return *a;
}

static struct blob_added add_bytes(struct blob_store *s, const void *data, size_t len)
{
    struct blob_added a;
    memset(&a, 0, sizeof a);
    struct blob_error e = {""};
    int rc = blob_store_add_bytes(s, data, len, NULL, &a, &e);
    return import_checked(rc, &a, &e);
}

/* Imports the file at path, copied or referenced. */
static struct blob_added add_path(struct blob_store *s, const char *path,
                                  enum blob_import_mode mode)
{
    struct blob_added a;
    memset(&a, 0, sizeof a);
    struct blob_error e = {""};
    int rc = blob_store_add_path(s, path, mode, NULL, &a, &e);
    return import_checked(rc, &a, &e);
}

/* The number of entries blob_store_list lists (0 after a failed check). */
static size_t count_entries(struct blob_store *s)
{
    struct blob_status *list = NULL;
    size_t n = 0;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_list(s, &list, &n, &e), 0);
    free(list);
    return n;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_hash_text(void)
{
    uint8_t h[32], h2[32];
    const char *hex = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
    CHECK_EQ_INT(blob_hash_parse(hex, h), 0);
    char back[65];
    blob_hash_hex(h, back);
    CHECK_EQ_STR(back, hex);
    CHECK_EQ_INT(
        blob_hash_parse("AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A93CAE41F3262", h2), 0);
    CHECK_EQ_MEM(h, h2, 32);
    /* The same hash in base32 (52 characters), either case. */
    CHECK_EQ_INT(blob_hash_parse("v4jutopv7gq2nicajxvdnxgjjgn4wjojvxarfn6mtkj4vza7gjra", h2), 0);
    CHECK_EQ_MEM(h, h2, 32);
    CHECK_EQ_INT(blob_hash_parse("V4JUTOPV7GQ2NICAJXVDNXGJJGN4WJOJVXARFN6MTKJ4VZA7GJRA", h2), 0);
    CHECK_EQ_MEM(h, h2, 32);
    const char *bad[] = {
        "",
        "af13",
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f326",   /* 63 */
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f32622", /* 65 */
        "xf1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f326 ",
        "v4jutopv7gq2nicajxvdnxgjjgn4wjojvxarfn6mtkj4vza7gjr1", /* '1' is not base32 */
        "v4jutopv7gq2nicajxvdnxgjjgn4wjojvxarfn6mtkj4vza7gjr=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(blob_hash_parse(bad[i], h), IROH_EINVAL);
    CHECK_EQ_INT(blob_hash_parse(NULL, h), IROH_EINVAL);
    CHECK_EQ_INT(blob_format_parse("raw"), BLOB_FORMAT_RAW);
    CHECK_EQ_INT(blob_format_parse("hash_seq"), BLOB_FORMAT_HASH_SEQ);
    CHECK_EQ_INT(blob_format_parse("HashSeq"), IROH_EINVAL);
}

/* Every size boundary: the hash equals b3sum's; copy, reference and bytes agree; placement
 * follows the 16 KiB thresholds; the content reads back. */
static void test_sizes_and_placement(void)
{
    struct blob_store *s = open_fresh_store("sizes");
    if (!s) return;
    const uint64_t sizes[] = {0,     1,       1023, 1024,    1025,    16383,   16384,
                              16385, MIB - 1, MIB,  MIB + 1, 4210688, 4210689, 5 * MIB + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t size = sizes[i];
        char path[700];
        uint8_t *data = random_file(path, size, "input-%llu", (unsigned long long)size);

        struct blob_added a = add_path(s, path, BLOB_IMPORT_COPY);
        char hex[65], want[65];
        blob_hash_hex(a.hash, hex);
        uint8_t expect[32];
        iroh_blake3_hash(data, size, expect);
        CHECK_EQ_MEM(a.hash, expect, 32);
        if (b3sum_hex(path, want))
            CHECK_EQ_STR(hex, want);
        else if (i == 0)
            printf("note: /usr/bin/b3sum is missing; hashes are checked against BLAKE3 only\n");
        CHECK_EQ_INT(a.size, size);
        CHECK_EQ_INT(a.location, size <= 16384 ? BLOB_LOC_INLINE : BLOB_LOC_OWNED);
        CHECK(!a.existed || size == 0);

        /* The same content as bytes and by reference: same hash, stored once, owned wins. */
        struct blob_added b = add_bytes(s, data, size);
        CHECK_EQ_MEM(b.hash, a.hash, 32);
        CHECK(b.existed);
        struct blob_added c = add_path(s, path, BLOB_IMPORT_REFERENCE);
        CHECK_EQ_MEM(c.hash, a.hash, 32);
        CHECK(c.existed);
        CHECK_EQ_INT(c.location, a.location);

        struct blob_status st;
        struct blob_error e = {""};
        CHECK_EQ_INT(blob_store_status(s, a.hash, &st, &e), 0);
        CHECK(st.complete);
        CHECK_EQ_INT(st.size, size);
        CHECK_EQ_INT(st.total_groups, iroh_bao_groups(size));
        CHECK_EQ_INT(st.present_groups, st.total_groups);
        CHECK_EQ_INT(st.outboard, size <= 16384     ? BLOB_OUTBOARD_NOT_NEEDED
                                  : size <= 4210688 ? BLOB_OUTBOARD_INLINE
                                                    : BLOB_OUTBOARD_OWNED);
        check_reads_back(s, a.hash, data, size);
        check_outboard(s, a.hash, data, size);
        blob_temp_tag_drop(s, a.temp_tag);
        blob_temp_tag_drop(s, b.temp_tag);
        blob_temp_tag_drop(s, c.temp_tag);
        free(data);
        unlink(path);
    }
    CHECK_EQ_INT(blob_store_temp_tag_count(s), 0);
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    /* Seven data files over 16 KiB; outboards over 16 KiB (258 groups and more) are files too. */
    CHECK_EQ_INT(count_store_files("data"), 7 + 2);
    CHECK_EQ_INT(count_entries(s), sizeof sizes / sizeof sizes[0]);
    blob_store_close(s);
}

/* Reads at odd offsets and lengths agree with the source, for every placement. */
static void test_ranges(void)
{
    struct blob_store *s = open_fresh_store("ranges");
    if (!s) return;
    const uint64_t sizes[] = {10000, 300001, 5 * MIB + 3};
    for (size_t i = 0; i < 3; i++) {
        uint64_t size = sizes[i];
        char path[700];
        uint8_t *data = random_file(path, size, "range-%zu", i);
        for (int mode = 0; mode < 2; mode++) {
            struct blob_added a =
                add_path(s, path, mode ? BLOB_IMPORT_REFERENCE : BLOB_IMPORT_COPY);
            struct blob_error e = {""};
            if (mode == 1 && size > 16384) CHECK_EQ_INT(a.location, BLOB_LOC_EXTERNAL);
            check_outboard(s, a.hash, data, size);
            struct blob_reader *r;
            CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), 0);
            uint8_t *buf = malloc(70000);
            for (int k = 0; k < 200; k++) {
                uint64_t off = rnd() % (size + 10);
                size_t len = (size_t)(rnd() % 70000);
                int64_t n = blob_reader_read(r, off, buf, len, &e);
                int64_t want = off >= size ? 0 : (int64_t)(size - off < len ? size - off : len);
                CHECK_EQ_INT(n, want);
                if (n > 0) CHECK_EQ_MEM(buf, data + off, (size_t)n);
            }
            free(buf);
            /* Runs of whole groups read at once, each into its own buffer. */
            uint64_t groups = iroh_bao_groups(size);
            uint8_t *gbuf = malloc(BLOB_READ_GROUPS_MAX * 16384), *bufs[BLOB_READ_GROUPS_MAX];
            for (size_t k = 0; k < BLOB_READ_GROUPS_MAX; k++)
                bufs[k] = gbuf + (BLOB_READ_GROUPS_MAX - 1 - k) * 16384; /* scattered: reversed */
            for (int k = 0; k < 20; k++) {
                uint64_t first = rnd() % groups, n = 1 + rnd() % BLOB_READ_GROUPS_MAX;
                if (n > groups - first) n = groups - first;
                CHECK_EQ_INT(blob_reader_read_groups(r, first, bufs, (size_t)n, NULL, &e), 0);
                for (uint64_t g = first; g < first + n; g++)
                    CHECK_EQ_MEM(bufs[g - first], data + g * 16384, iroh_bao_group_len(size, g));
            }
            CHECK_EQ_INT(blob_reader_read_groups(r, groups - 1, bufs, 2, NULL, &e), IROH_EINVAL);
            CHECK_EQ_INT(blob_reader_read_groups(r, 0, bufs, BLOB_READ_GROUPS_MAX + 1, NULL, &e),
                         IROH_EINVAL);
            free(gbuf);
            blob_reader_close(r);
            /* Delete before the next mode so the reference import is the entry. */
            bool deleted = false;
            CHECK_EQ_INT(blob_store_delete(s, a.hash, &deleted, &e), 0);
            CHECK(deleted);
            blob_temp_tag_drop(s, a.temp_tag);
        }
        free(data);
        unlink(path);
    }
    blob_store_close(s);
}

static void test_export(void)
{
    struct blob_store *s = open_fresh_store("export");
    if (!s) return;
    const uint64_t sizes[] = {0, 5000, 2 * MIB + 5};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *data = random_bytes(sizes[i]);
        struct blob_added a = add_bytes(s, data, sizes[i]);
        char path[700];
        snprintf(path, sizeof path, "%s/exported-%zu", tmpdir, i);
        uint64_t size = 0;
        struct blob_error e = {""};
        mode_t mask = i == 1 ? 027 : 022; /* the caller's umask sets the file's mode */
        CHECK_EQ_INT(blob_store_export(s, a.hash, path, mask, NULL, &size, &e), 0);
        CHECK_EQ_INT(size, sizes[i]);
        struct stat st;
        CHECK_EQ_INT(stat(path, &st), 0);
        CHECK_EQ_INT(st.st_mode & 0777, 0666 & ~mask);
        FILE *f = fopen(path, "rb");
        uint8_t *back = malloc(sizes[i] + 1);
        size_t got = f ? fread(back, 1, sizes[i] + 1, f) : 0;
        if (f) fclose(f);
        CHECK_EQ_INT(got, sizes[i]);
        CHECK_EQ_MEM(back, data, sizes[i]);
        free(back);
        free(data);
        unlink(path);
        blob_temp_tag_drop(s, a.temp_tag);
    }
    uint8_t missing[32] = {1, 2, 3};
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_export(s, missing, "/tmp/never-written", 022, NULL, NULL, &e),
                 IROH_ENOTFOUND);
    CHECK_EQ_INT(access("/tmp/never-written", F_OK), -1);
    uint8_t *data = random_bytes(100);
    struct blob_added a = add_bytes(s, data, 100);
    CHECK_EQ_INT(blob_store_export(s, a.hash, "relative/path", 022, NULL, NULL, &e), IROH_EINVAL);
    char nodir[700];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/file", tmpdir);
    CHECK_EQ_INT(blob_store_export(s, a.hash, nodir, 022, NULL, NULL, &e), IROH_ENOTFOUND);
    blob_temp_tag_drop(s, a.temp_tag);
    free(data);
    blob_store_close(s);
}

/* A referenced file that changes never yields wrong bytes: IROH_ECORRUPT instead. */
static void test_reference_changes(void)
{
    struct blob_store *s = open_fresh_store("reference");
    if (!s) return;
    const uint64_t size = 3 * 16384 + 100;
    char path[700];
    uint8_t *data = random_file(path, size, "referenced");
    struct blob_added a = add_path(s, path, BLOB_IMPORT_REFERENCE);
    struct blob_error e = {""};
    CHECK_EQ_INT(a.location, BLOB_LOC_EXTERNAL);
    CHECK_EQ_INT(count_store_files("data"), 0); /* nothing copied; the outboard is inline */

    struct blob_reader *r;
    CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), 0);
    uint8_t buf[100];
    CHECK_EQ_INT(blob_reader_read(r, 20000, buf, sizeof buf, &e), sizeof buf);
    CHECK_EQ_MEM(buf, data + 20000, sizeof buf);

    /* Change one byte in place and put the mtime back: only the hash check can tell. */
    struct stat st;
    stat(path, &st);
    int fd = open(path, O_WRONLY);
    uint8_t flipped = data[40000] ^ 0xff;
    CHECK_EQ_INT(pwrite(fd, &flipped, 1, 40000), 1);
    close(fd);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, path, times, 0);

    memset(buf, 0, sizeof buf);
    CHECK_EQ_INT(blob_reader_read(r, 39990, buf, 20, &e), IROH_ECORRUPT);
    CHECK(strstr(e.detail, "modified") != NULL);
    /* Read as whole groups: the run holding the changed one fails at it, the others pass. */
    uint8_t *groups = malloc(4 * 16384),
            *bufs[4] = {groups, groups + 16384, groups + 32768, groups + 49152};
    size_t checked = 0;
    CHECK_EQ_INT(blob_reader_read_groups(r, 1, bufs, 3, &checked, &e), IROH_ECORRUPT);
    CHECK_EQ_INT(checked, 1); /* group 1 checked out; group 2 is the changed one */
    CHECK_EQ_MEM(bufs[0], data + 16384, 16384);
    CHECK(strstr(e.detail, "modified") != NULL);
    CHECK_EQ_INT(blob_reader_read_groups(r, 0, bufs, 2, NULL, &e), 0);
    CHECK_EQ_MEM(bufs[1], data + 16384, 16384);
    CHECK_EQ_INT(blob_reader_read_groups(r, 3, bufs, 1, NULL, &e), 0);
    CHECK_EQ_MEM(bufs[0], data + 3 * 16384, 100);
    free(groups);
    /* Other groups are still served, verified. */
    CHECK_EQ_INT(blob_reader_read(r, 0, buf, 50, &e), 50);
    CHECK_EQ_MEM(buf, data, 50);
    blob_reader_close(r);

    /* A new reader sees the same; an export fails and leaves no file. */
    CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), 0);
    CHECK_EQ_INT(blob_reader_read(r, 32768, buf, 100, &e), IROH_ECORRUPT);
    blob_reader_close(r);
    char out[700];
    snprintf(out, sizeof out, "%s/export-of-changed", tmpdir);
    CHECK_EQ_INT(blob_store_export(s, a.hash, out, 022, NULL, NULL, &e), IROH_ECORRUPT);
    CHECK_EQ_INT(access(out, F_OK), -1);

    /* A visible change (size and mtime) is refused when a reader opens. */
    write_file(path, data, size - 1);
    CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), IROH_ECORRUPT);
    CHECK(strstr(e.detail, path) != NULL);
    unlink(path);
    CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), IROH_ECORRUPT);

    /* Importing the content again by copy makes the entry owned and readable. */
    struct blob_added b = add_bytes(s, data, size);
    CHECK(b.existed);
    CHECK_EQ_INT(b.location, BLOB_LOC_OWNED);
    check_reads_back(s, a.hash, data, size);
    blob_temp_tag_drop(s, a.temp_tag);
    blob_temp_tag_drop(s, b.temp_tag);
    free(data);
    blob_store_close(s);
}

/* Flips one byte of a file in place and puts its mtime back: only the hash check can tell. */
static void flip_quietly(const char *path, uint64_t at)
{
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    CHECK_EQ_INT(pread(fd, &b, 1, (off_t)at), 1);
    b ^= 0x10;
    CHECK_EQ_INT(pwrite(fd, &b, 1, (off_t)at), 1);
    close(fd);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, path, times, 0);
}

/* Groups first.. in runs of BLOB_READ_GROUPS_MAX, each group into its own buffer of exactly its
 * length (ASan sees a byte written past one). Returns the group a run failed at with
 * IROH_ECORRUPT (the groups before it in its run, and every other run, must read back data),
 * or UINT64_MAX. */
static uint64_t read_runs(struct blob_reader *r, const uint8_t *data, uint64_t size)
{
    uint64_t groups = iroh_bao_groups(size), bad = UINT64_MAX;
    for (uint64_t first = 0; first < groups; first += BLOB_READ_GROUPS_MAX) {
        size_t n =
            groups - first < BLOB_READ_GROUPS_MAX ? (size_t)(groups - first) : BLOB_READ_GROUPS_MAX;
        uint8_t *bufs[BLOB_READ_GROUPS_MAX];
        for (size_t i = 0; i < n; i++) {
            size_t len = iroh_bao_group_len(size, first + i);
            bufs[n - 1 - i] = malloc(len ? len : 1); /* scattered, reversed */
        }
        struct blob_error e = {""};
        uint8_t *rev[BLOB_READ_GROUPS_MAX];
        for (size_t i = 0; i < n; i++)
            rev[i] = bufs[n - 1 - i];
        size_t checked = SIZE_MAX;
        int rc = blob_reader_read_groups(r, first, rev, n, &checked, &e);
        if (rc == IROH_ECORRUPT && bad == UINT64_MAX) bad = first + checked;
        if (rc != IROH_ECORRUPT) CHECK_EQ_INT(rc, 0);
        CHECK(rc == 0 ? checked == n : checked < n);
        for (size_t i = 0; i < checked && i < n; i++) /* the groups before a changed one too */
            CHECK_EQ_MEM(rev[i], data + (first + i) * 16384, iroh_bao_group_len(size, first + i));
        for (size_t i = 0; i < n; i++)
            free(bufs[i]);
    }
    return bad;
}

/* A referenced file of 301 groups (its outboard a file, over one 16 KiB read-ahead window)
 * changed in one byte of group 0, 63, 64, 127, 128, 255, 256 or the last: a reader, fresh or
 * one that read everything before the change, fails the run of 64 groups holding it at that
 * group (those before it checked and read), and of the groups read one by one in random order
 * exactly that one; a flipped byte of the
 * stored outboard fails the groups under its pair and nothing else (all of them for the
 * root's). */
static void test_reference_groups_changed(void)
{
    struct blob_store *s = open_fresh_store("reference-groups");
    if (!s) return;
    const uint64_t size = 300 * 16384 + 5, groups = 301;
    char path[700];
    uint8_t *data = random_file(path, size, "referenced-groups");
    struct blob_added a = add_path(s, path, BLOB_IMPORT_REFERENCE);
    struct blob_error e = {""};
    CHECK_EQ_INT(a.location, BLOB_LOC_EXTERNAL);
    struct blob_reader *warm;
    CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &warm, &e), 0);
    CHECK_EQ_INT(read_runs(warm, data, size), UINT64_MAX);

    static const uint64_t CHANGED[] = {0, 63, 64, 127, 128, 255, 256, 300};
    for (size_t c = 0; c < sizeof CHANGED / sizeof CHANGED[0]; c++) {
        uint64_t g = CHANGED[c], len = iroh_bao_group_len(size, g);
        uint64_t at = g * 16384 + (c % 2 ? len - 1 : len / 2);
        flip_quietly(path, at);
        struct blob_reader *r;
        CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), 0);
        CHECK_EQ_INT(read_runs(r, data, size), g);
        CHECK_EQ_INT(read_runs(warm, data, size), g); /* its kept path hides nothing */
        /* One by one, in random order: only the changed group fails. */
        uint8_t *one = malloc(16384);
        for (int k = 0; k < 200; k++) {
            uint64_t x = k == 0 ? g : rnd() % groups;
            int rc = blob_reader_read_groups(r, x, &one, 1, NULL, &e);
            CHECK_EQ_INT(rc, x == g ? IROH_ECORRUPT : 0);
            if (rc == 0) CHECK_EQ_MEM(one, data + x * 16384, iroh_bao_group_len(size, x));
        }
        free(one);
        uint8_t byte;
        CHECK_EQ_INT(blob_reader_read(r, at, &byte, 1, &e), IROH_ECORRUPT);
        blob_reader_close(r);
        char out[700];
        snprintf(out, sizeof out, "%s/export-of-changed-groups", tmpdir);
        CHECK_EQ_INT(blob_store_export(s, a.hash, out, 022, NULL, NULL, &e), IROH_ECORRUPT);
        CHECK_EQ_INT(access(out, F_OK), -1);
        flip_quietly(path, at); /* back as imported */
        CHECK_EQ_INT(read_runs(warm, data, size), UINT64_MAX);
    }
    blob_reader_close(warm);

    /* The store's outboard changed under a fresh reader: pair k's groups fail, no others. */
    char ob_path[800];
    stored_outboard_path(a.hash, ob_path);
    CHECK_EQ_INT(access(ob_path, F_OK), 0);
    static const uint64_t PAIRS[] = {0, 1, 150, 299};
    for (size_t k = 0; k < sizeof PAIRS / sizeof PAIRS[0]; k++) {
        flip_quietly(ob_path, PAIRS[k] * 64 + 40);
        struct blob_reader *r;
        CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), 0);
        uint8_t *one = malloc(16384);
        unsigned failed = 0;
        for (uint64_t x = 0; x < groups; x++) {
            int rc = blob_reader_read_groups(r, x, &one, 1, NULL, &e);
            if (rc == 0)
                CHECK_EQ_MEM(one, data + x * 16384, iroh_bao_group_len(size, x));
            else
                CHECK_EQ_INT(rc, IROH_ECORRUPT);
            failed += rc != 0;
        }
        CHECK(PAIRS[k] == 0 ? failed == groups : failed >= 2 && failed < groups);
        free(one);
        blob_reader_close(r);
        flip_quietly(ob_path, PAIRS[k] * 64 + 40);
    }
    blob_temp_tag_drop(s, a.temp_tag);
    free(data);
    unlink(path);
    blob_store_close(s);
}

/* Runs of whole groups at the sizes around a group and a run of 64 groups, copied and
 * referenced: every run read into buffers of exactly each group's length. */
static void test_read_groups_bounds(void)
{
    struct blob_store *s = open_fresh_store("read-groups-bounds");
    if (!s) return;
    static const uint64_t SIZES[] = {0,
                                     1,
                                     1024,
                                     16384,
                                     16385,
                                     64 * 16384 - 1,
                                     64 * 16384,
                                     64 * 16384 + 1,
                                     128 * 16384 - 1,
                                     128 * 16384 + 1,
                                     257 * 16384 + 16383};
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++) {
        uint64_t size = SIZES[i], groups = iroh_bao_groups(size);
        char path[700];
        uint8_t *data = random_file(path, size, "bounds-%zu", i);
        for (int mode = 0; mode < 2; mode++) {
            struct blob_added a =
                add_path(s, path, mode ? BLOB_IMPORT_REFERENCE : BLOB_IMPORT_COPY);
            struct blob_error e = {""};
            struct blob_reader *r;
            CHECK_EQ_INT(blob_store_reader_open(s, a.hash, &r, &e), 0);
            CHECK_EQ_INT(read_runs(r, data, size), UINT64_MAX);
            /* Runs ending at the last group, of every length up to 64 and one more. */
            for (uint64_t n = 1; n <= BLOB_READ_GROUPS_MAX + 1; n++) {
                uint8_t *bufs[BLOB_READ_GROUPS_MAX + 1];
                uint64_t first = groups >= n ? groups - n : 0, m = groups - first;
                for (uint64_t k = 0; k < m; k++) {
                    size_t len = iroh_bao_group_len(size, first + k);
                    bufs[k] = malloc(len ? len : 1);
                }
                int rc = blob_reader_read_groups(r, first, bufs, (size_t)m, NULL, &e);
                CHECK_EQ_INT(rc, m > BLOB_READ_GROUPS_MAX ? IROH_EINVAL : 0);
                for (uint64_t k = 0; rc == 0 && k < m; k++)
                    CHECK_EQ_MEM(bufs[k], data + (first + k) * 16384,
                                 iroh_bao_group_len(size, first + k));
                for (uint64_t k = 0; k < m; k++)
                    free(bufs[k]);
            }
            /* Past the end, and group numbers that would overflow. */
            uint8_t *one = malloc(16384);
            CHECK_EQ_INT(blob_reader_read_groups(r, groups, &one, 1, NULL, &e), IROH_EINVAL);
            CHECK_EQ_INT(blob_reader_read_groups(r, UINT64_MAX, &one, 1, NULL, &e), IROH_EINVAL);
            CHECK_EQ_INT(blob_reader_read_groups(r, UINT64_MAX / 16384, &one, 1, NULL, &e),
                         IROH_EINVAL);
            CHECK_EQ_INT(blob_reader_read_groups(r, groups, &one, 0, NULL, &e), 0);
            free(one);
            blob_reader_close(r);
            bool deleted = false;
            CHECK_EQ_INT(blob_store_delete(s, a.hash, &deleted, &e), 0);
            blob_temp_tag_drop(s, a.temp_tag);
        }
        free(data);
        unlink(path);
    }
    blob_store_close(s);
}

/* The pairs of the paths of groups [lo, hi] (each offset once; one group's path when lo ==
 * hi) into pairs; returns their number. */
static size_t batch_pairs(uint64_t size, const uint8_t *ob, uint64_t lo, uint64_t hi,
                          struct blob_pair *pairs, size_t cap)
{
    size_t n = 0;
    for (uint64_t g = lo; g <= hi; g++) {
        uint64_t offs[64];
        size_t np = blob_pair_path(size, g, offs, 64);
        for (size_t k = 0; k < np; k++) {
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = pairs[j].offset == offs[k];
            if (seen || n == cap) continue;
            pairs[n].offset = offs[k];
            memcpy(pairs[n++].pair, ob + offs[k], 64);
        }
    }
    return n;
}

/* Writes the groups of data (a blob computed here) into a partial entry in random order,
 * each with the pairs of its path, restarting the store halfway. */
static void partial_roundtrip(uint64_t size)
{
    uint8_t *data = random_bytes(size);
    uint64_t groups = iroh_bao_groups(size), ob_size = iroh_bao_outboard_size(size);
    uint8_t *ob = malloc(ob_size ? ob_size : 1), hash[32];
    iroh_bao_outboard_compute(data, size, 2, ob_size ? ob : NULL, hash);
    struct blob_store *s = open_store();
    CHECK(s != NULL);
    if (!s) return;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size, &e), 0);
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size, &e), 0); /* again: same entry */

    uint64_t *order = malloc(groups * sizeof *order);
    for (uint64_t i = 0; i < groups; i++)
        order[i] = i;
    for (uint64_t i = groups; i > 1; i--) {
        uint64_t j = rnd() % i, t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    /* A group without its pairs (nothing stored yet) or with a flipped byte is refused. */
    if (groups > 1) {
        struct blob_group g = {order[0], data + order[0] * 16384,
                               iroh_bao_group_len(size, order[0]), NULL};
        CHECK_EQ_INT(blob_store_partial_write(s, hash, NULL, 0, &g, 1, &e), IROH_ECORRUPT);
    }
    {
        uint8_t *bad = malloc(16384);
        size_t len = iroh_bao_group_len(size, order[0]);
        memcpy(bad, data + order[0] * 16384, len);
        bad[len / 2] ^= 1;
        struct blob_pair pairs[64];
        size_t np = batch_pairs(size, ob, order[0], order[0], pairs, 64);
        struct blob_group g = {order[0], bad, len, NULL};
        CHECK_EQ_INT(blob_store_partial_write(s, hash, pairs, np, &g, 1, &e), IROH_ECORRUPT);
        /* A CV handed in must be the one on the group's verified path. */
        uint8_t cv[32];
        iroh_bao_group_cv(size, order[0], bad, len, 1, cv);
        g.cv = cv;
        CHECK_EQ_INT(blob_store_partial_write(s, hash, pairs, np, &g, 1, &e), IROH_ECORRUPT);
        free(bad);
    }
    struct blob_status st;
    CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), 0);
    CHECK(!st.complete);
    CHECK_EQ_INT(st.present_groups, 0);

    for (uint64_t i = 0; i < groups; i++) {
        uint64_t g = order[i];
        if (i > 0 && i == groups / 2) { /* restart: everything written so far must still be there */
            blob_store_close(s);
            s = open_store();
            CHECK(s != NULL);
            if (!s) return;
            CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), 0);
            CHECK_EQ_INT(st.present_groups, i);
            uint8_t bits[1024];
            uint64_t total = 0;
            CHECK_EQ_INT(blob_store_bitfield(s, hash, bits, sizeof bits, &total, &e), 0);
            CHECK_EQ_INT(total, groups);
            for (uint64_t k = 0; k < i; k++)
                CHECK(bits[order[k] / 8] & (1u << (order[k] % 8)));
            /* Present groups read back; absent ones are reported, not invented. */
            struct blob_reader *r;
            CHECK_EQ_INT(blob_store_reader_open(s, hash, &r, &e), 0);
            uint8_t buf[64];
            size_t len0 = iroh_bao_group_len(size, order[0]) < 10
                              ? iroh_bao_group_len(size, order[0])
                              : 10; /* the last may be short */
            CHECK_EQ_INT(blob_reader_read(r, order[0] * 16384, buf, 10, &e), len0);
            CHECK_EQ_MEM(buf, data + order[0] * 16384, len0);
            CHECK_EQ_INT(blob_reader_read(r, order[i] * 16384, buf, 10, &e), IROH_ENOTFOUND);
            uint8_t *group = malloc(16384);
            CHECK_EQ_INT(blob_reader_read_groups(r, order[0], &group, 1, NULL, &e), 0);
            CHECK_EQ_MEM(group, data + order[0] * 16384, iroh_bao_group_len(size, order[0]));
            CHECK_EQ_INT(blob_reader_read_groups(r, order[i], &group, 1, NULL, &e), IROH_ENOTFOUND);
            free(group);
            blob_reader_close(r);
        }
        /* Send only every other group's pairs in full: stored pairs serve the rest. */
        struct blob_pair pairs[64];
        size_t np = batch_pairs(size, ob, g, g, pairs, 64);
        /* Every third group comes with its CV (as a verifying decoder hands it on). */
        size_t glen = iroh_bao_group_len(size, g);
        uint8_t cv[32];
        iroh_bao_group_cv(size, g, data + g * 16384, glen, 1, cv);
        struct blob_group grp = {g, data + g * 16384, glen, i % 3 == 0 ? cv : NULL};
        int rc = blob_store_partial_write(s, hash, pairs, np, &grp, 1, &e);
        if (rc < 0)
            fprintf(stderr, "partial_write group %llu: %s\n", (unsigned long long)g, e.detail);
        CHECK_EQ_INT(rc, i + 1 == groups ? 1 : 0);
        /* Writing it again is a no-op. */
        if (i + 1 < groups)
            CHECK_EQ_INT(blob_store_partial_write(s, hash, NULL, 0, &grp, 1, &e), 0);
    }
    CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), 0);
    CHECK(st.complete);
    CHECK_EQ_INT(st.present_groups, groups);
    CHECK_EQ_INT(st.location, size <= 16384 ? BLOB_LOC_INLINE : BLOB_LOC_OWNED);
    CHECK_EQ_INT(st.outboard, size <= 16384      ? BLOB_OUTBOARD_NOT_NEEDED
                              : ob_size <= 16384 ? BLOB_OUTBOARD_INLINE
                                                 : BLOB_OUTBOARD_OWNED);
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size, &e), 1);
    blob_store_close(s);
    s = open_store(); /* complete across a restart too */
    check_reads_back(s, hash, data, size);
    check_outboard(s, hash, data, size);
    /* The completed entry's files are exactly what a complete entry has. */
    char path[800];
    stored_outboard_path(hash, path);
    CHECK_EQ_INT(access(path, F_OK) == 0, ob_size > 16384);
    if (ob_size > 16384) { /* the outboard written pair by pair equals the computed one */
        uint8_t *stored = read_stored_outboard(hash, ob_size);
        if (stored) CHECK_EQ_MEM(stored, ob, ob_size);
        free(stored);
    }
    free(order);
    free(ob);
    free(data);
    blob_store_close(s);
}

/* Every pair of the partial entry's outboard file is zeros (never written) or the true one. */
static void check_stored_pairs(const uint8_t hash[32], const uint8_t *ob, uint64_t ob_size)
{
    uint8_t *stored = read_stored_outboard(hash, ob_size), zero[64] = {0};
    if (!stored) return;
    for (uint64_t at = 0; at < ob_size; at += 64)
        CHECK(memcmp(stored + at, zero, 64) == 0 || memcmp(stored + at, ob + at, 64) == 0);
    free(stored);
}

/* Batches of many groups (one kept path checks them all): in order, backwards, and hostile
 * ones — a changed group in the middle, a changed pair only one group needs, a second copy of
 * a shared pair that is wrong, a CV of another group — are refused whole, and nothing
 * unverified is ever stored. */
static void test_partial_batches(void)
{
    struct blob_store *s = open_fresh_store("partial-batches");
    if (!s) return;
    const uint64_t size = 200 * 16384 + 3, groups = 201, ob_size = 200 * 64;
    uint8_t *data = random_bytes(size), *ob = malloc(ob_size), hash[32];
    iroh_bao_outboard_compute(data, size, 1, ob, hash);
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size, &e), 0);
    struct blob_pair *pairs = malloc(512 * sizeof *pairs);
    struct blob_group batch[64];
    uint64_t present = 0;
    /* Good batches: 10..73 in order, 150..100 backwards. */
    size_t np = batch_pairs(size, ob, 10, 73, pairs, 512);
    for (uint64_t i = 0; i < 64; i++)
        batch[i] = (struct blob_group){10 + i, data + (10 + i) * 16384, 16384, NULL};
    CHECK_EQ_INT(blob_store_partial_write(s, hash, pairs, np, batch, 64, &e), 0);
    present += 64;
    np = batch_pairs(size, ob, 100, 150, pairs, 512);
    for (uint64_t i = 0; i < 51; i++)
        batch[i] = (struct blob_group){150 - i, data + (150 - i) * 16384, 16384, NULL};
    CHECK_EQ_INT(blob_store_partial_write(s, hash, pairs, np, batch, 51, &e), 0);
    present += 51;
    check_stored_pairs(hash, ob, ob_size);

    /* Hostile batches of groups 160..190, each refused whole. */
    uint8_t *bad = malloc(16384);
    for (int attack = 0; attack < 4; attack++) {
        np = batch_pairs(size, ob, 160, 190, pairs, 512);
        for (uint64_t i = 0; i < 31; i++)
            batch[i] = (struct blob_group){160 + i, data + (160 + i) * 16384, 16384, NULL};
        uint8_t cv[32];
        if (attack == 0) { /* group 175's data changed */
            memcpy(bad, data + 175 * 16384, 16384);
            bad[100] ^= 1;
            batch[15].data = bad;
        } else if (attack == 1) { /* the lowest pair of group 188's path, which 189 shares */
            uint64_t offs[64];
            size_t depth = blob_pair_path(size, 188, offs, 64);
            for (size_t j = 0; j < np; j++)
                if (pairs[j].offset == offs[depth - 1]) pairs[j].pair[3] ^= 1;
        } else if (attack == 2) { /* a wrong second copy of the root pair, before the good one */
            memmove(pairs + 1, pairs, np * sizeof *pairs);
            pairs[0] = pairs[1];
            pairs[0].pair[63] ^= 1;
            np++;
        } else { /* group 170 comes with the CV of group 171 */
            iroh_bao_group_cv(size, 171, data + 171 * 16384, 16384, 1, cv);
            batch[10].cv = cv;
        }
        int rc = blob_store_partial_write(s, hash, pairs, np, batch, 31, &e);
        if (attack == 2) /* either copy may be the one looked up; a wrong one refuses all */
            CHECK(rc == 0 || rc == IROH_ECORRUPT);
        else
            CHECK_EQ_INT(rc, IROH_ECORRUPT);
        if (rc == 0) present += 31;
        struct blob_status st;
        CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), 0);
        CHECK_EQ_INT(st.present_groups, present);
        check_stored_pairs(hash, ob, ob_size);
        if (rc == 0) break; /* attack 2 let through with the good copy: nothing left to try */
    }
    free(bad);
    /* The rest, in one go per 64 groups from the end backwards; then the whole blob. */
    for (uint64_t hi = groups; hi > 0;) {
        uint64_t lo = hi > 64 ? hi - 64 : 0, n = 0;
        np = batch_pairs(size, ob, lo, hi - 1, pairs, 512);
        for (uint64_t g = hi; g-- > lo;)
            batch[n++] =
                (struct blob_group){g, data + g * 16384, iroh_bao_group_len(size, g), NULL};
        int rc = blob_store_partial_write(s, hash, pairs, np, batch, (size_t)n, &e);
        CHECK(rc == 0 || (rc == 1 && lo == 0));
        hi = lo;
    }
    struct blob_status st;
    CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), 0);
    CHECK(st.complete);
    check_outboard(s, hash, data, size);
    check_reads_back(s, hash, data, size);
    free(pairs);
    free(ob);
    free(data);
    blob_store_close(s);
}

/* A partial entry of a size no file system holds (a peer's size header may say anything up
 * to 2^64 − 1) is refused cleanly: an error, no row, no files left behind. */
static void test_partial_huge(void)
{
    struct blob_store *s = open_fresh_store("partial-huge");
    if (!s) return;
    static const uint64_t SIZES[] = {(uint64_t)1 << 62, ((uint64_t)1 << 63) - 1, (uint64_t)1 << 63,
                                     ((uint64_t)1 << 63) + 16385, UINT64_MAX};
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++) {
        uint8_t hash[32];
        memset(hash, (int)(0x40 + i), sizeof hash);
        struct blob_error e = {""};
        int rc = blob_store_partial_create(s, hash, SIZES[i], &e);
        CHECK(rc < 0);
        CHECK(e.detail[0] != 0);
        struct blob_status st;
        CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), IROH_ENOTFOUND);
        CHECK_EQ_INT(count_store_files("data"), 0);
        uint8_t group[16384] = {0};
        struct blob_group g = {0, group, 16384, NULL};
        CHECK_EQ_INT(blob_store_partial_write(s, hash, NULL, 0, &g, 1, &e), IROH_ENOTFOUND);
    }
    blob_store_close(s);
}

static void test_partial(void)
{
    fresh_store_root("partial");
    partial_roundtrip(1000);
    partial_roundtrip(16384 * 3 + 5);
    partial_roundtrip(MIB + 1);
    partial_roundtrip(5 * MIB + 100); /* 321 groups: the outboard stays a file */

    /* A partial entry with groups present keeps its size; an import completes it. */
    struct blob_store *s = open_store();
    uint64_t size = 100000;
    uint8_t *data = random_bytes(size), hash[32];
    uint8_t *ob = malloc(iroh_bao_outboard_size(size));
    iroh_bao_outboard_compute(data, size, 1, ob, hash);
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size, &e), 0);
    struct blob_pair pairs[64];
    size_t np = batch_pairs(size, ob, 2, 2, pairs, 64);
    struct blob_group g = {2, data + 2 * 16384, 16384, NULL};
    CHECK_EQ_INT(blob_store_partial_write(s, hash, pairs, np, &g, 1, &e), 0);
    CHECK_EQ_INT(blob_store_partial_create(s, hash, size + 1, &e), IROH_EINVAL);
    struct blob_group wrong_len = {2, data, 100, NULL};
    CHECK_EQ_INT(blob_store_partial_write(s, hash, NULL, 0, &wrong_len, 1, &e), IROH_EINVAL);
    struct blob_group past_end = {99, data, 16384, NULL};
    CHECK_EQ_INT(blob_store_partial_write(s, hash, NULL, 0, &past_end, 1, &e), IROH_EINVAL);
    uint8_t unknown[32] = {9};
    CHECK_EQ_INT(blob_store_partial_write(s, unknown, NULL, 0, &g, 1, &e), IROH_ENOTFOUND);
    struct blob_added a = add_bytes(s, data, size);
    CHECK(!a.existed);
    struct blob_status st;
    CHECK_EQ_INT(blob_store_status(s, hash, &st, &e), 0);
    CHECK(st.complete);
    CHECK_EQ_INT(blob_store_partial_write(s, hash, NULL, 0, &g, 1, &e), 1);
    blob_temp_tag_drop(s, a.temp_tag);
    free(data);
    free(ob);
    blob_store_close(s);
}

static bool stored(struct blob_store *s, const uint8_t hash[32])
{
    struct blob_status st;
    return blob_store_status(s, hash, &st, NULL) == 0;
}

static void test_tags_and_gc(void)
{
    struct blob_store *s = open_fresh_store("gc");
    if (!s) return;
    struct blob_error e = {""};
    uint8_t *d[6];
    struct blob_added a[6];
    for (int i = 0; i < 6; i++) {
        d[i] = random_bytes(i == 0 ? 100000 : 500);
        a[i] = add_bytes(s, d[i], i == 0 ? 100000 : 500);
    }
    /* A tagged HashSeq of blobs 3 and 4; an untagged HashSeq of blob 5. */
    uint8_t seq[64], seq2[32];
    memcpy(seq, a[3].hash, 32);
    memcpy(seq + 32, a[4].hash, 32);
    memcpy(seq2, a[5].hash, 32);
    struct blob_added root = add_bytes(s, seq, 64), root2 = add_bytes(s, seq2, 32);

    CHECK_EQ_INT(blob_store_tag_set(s, "keep", a[0].hash, BLOB_FORMAT_RAW, &e), 0);
    CHECK_EQ_INT(blob_store_tag_set(s, "collection", root.hash, BLOB_FORMAT_HASH_SEQ, &e), 0);
    CHECK_EQ_INT(blob_store_tag_set(s, "", a[0].hash, BLOB_FORMAT_RAW, &e), IROH_EINVAL);
    char name[64], name2[64];
    CHECK_EQ_INT(blob_store_tag_create(s, a[1].hash, BLOB_FORMAT_RAW, name, sizeof name, &e), 0);
    CHECK(strncmp(name, "auto-", 5) == 0 && name[strlen(name) - 1] == 'Z');
    CHECK_EQ_INT(blob_store_tag_create(s, a[1].hash, BLOB_FORMAT_RAW, name2, sizeof name2, &e), 0);
    CHECK(strcmp(name, name2) != 0);
    struct blob_tag t;
    CHECK_EQ_INT(blob_store_tag_get(s, "collection", &t, &e), 0);
    CHECK_EQ_MEM(t.hash, root.hash, 32);
    CHECK_EQ_INT(t.format, BLOB_FORMAT_HASH_SEQ);
    free(t.name);
    CHECK_EQ_INT(blob_store_tag_get(s, "nope", &t, &e), IROH_ENOTFOUND);
    bool deleted = false;
    CHECK_EQ_INT(blob_store_tag_delete(s, name2, &deleted, &e), 0);
    CHECK(deleted);
    CHECK_EQ_INT(blob_store_tag_delete(s, name2, &deleted, &e), 0);
    CHECK(!deleted);
    struct blob_tag *tags;
    size_t ntags;
    CHECK_EQ_INT(blob_store_tag_list(s, &tags, &ntags, &e), 0);
    CHECK_EQ_INT(ntags, 3);
    if (ntags == 3) { /* bytewise order */
        CHECK(strncmp(tags[0].name, "auto-", 5) == 0);
        CHECK_EQ_STR(tags[1].name, "collection");
        CHECK_EQ_STR(tags[2].name, "keep");
    }
    blob_tags_free(tags, ntags);

    /* Keep a temp tag on blob 2 only; the imports' temp tags go. */
    for (int i = 0; i < 6; i++)
        if (i != 2) blob_temp_tag_drop(s, a[i].temp_tag);
    blob_temp_tag_drop(s, root.temp_tag);
    blob_temp_tag_drop(s, root2.temp_tag);
    struct blob_gc_stats gc;
    CHECK_EQ_INT(blob_store_gc(s, &gc, &e), 0);
    CHECK_EQ_INT(gc.deleted, 2); /* blob 5 and its untagged HashSeq */
    CHECK_EQ_INT(gc.freed_bytes, 500 + 32);
    CHECK(stored(s, a[0].hash) && stored(s, a[1].hash) && stored(s, a[2].hash));
    CHECK(stored(s, a[3].hash) && stored(s, a[4].hash) && stored(s, root.hash));
    CHECK(!stored(s, a[5].hash) && !stored(s, root2.hash));

    blob_temp_tag_drop(s, a[2].temp_tag);
    CHECK_EQ_INT(blob_store_tag_delete(s, "keep", &deleted, &e), 0);
    CHECK_EQ_INT(blob_store_gc(s, &gc, &e), 0);
    CHECK_EQ_INT(gc.deleted, 2);
    CHECK_EQ_INT(gc.freed_bytes, 100000 + 64 * 6 + 500);
    CHECK(!stored(s, a[0].hash) && !stored(s, a[2].hash));
    CHECK_EQ_INT(count_store_files("data"), 0);

    /* Explicit delete ignores protection; the tag stays, dangling, and works again when the
     * content comes back. */
    CHECK_EQ_INT(blob_store_delete(s, a[3].hash, &deleted, &e), 0);
    CHECK(deleted);
    CHECK_EQ_INT(blob_store_delete(s, a[3].hash, &deleted, &e), 0);
    CHECK(!deleted);
    CHECK_EQ_INT(blob_store_delete(s, root.hash, &deleted, &e), 0);
    CHECK_EQ_INT(blob_store_tag_get(s, "collection", &t, &e), 0);
    free(t.name);
    CHECK_EQ_INT(blob_store_gc(s, &gc, &e), 0);
    CHECK(stored(s, a[4].hash) == false); /* its HashSeq is gone: nothing protects it */
    CHECK(stored(s, a[1].hash));
    for (int i = 0; i < 6; i++)
        free(d[i]);
    CHECK_EQ_INT(blob_store_temp_tag_count(s), 0);
    blob_store_close(s);
}

struct racer {
    struct blob_store *s;
    const uint8_t *data;
    size_t len;
    struct blob_added added;
    int rc;
};

static void *race_import(void *arg)
{
    struct racer *r = arg;
    struct blob_error e = {""};
    r->rc = blob_store_add_bytes(r->s, r->data, r->len, NULL, &r->added, &e);
    return NULL;
}

/* The same content imported by two threads at once is stored once; both get its hash. */
static void test_parallel_same_content(void)
{
    struct blob_store *s = open_fresh_store("parallel");
    if (!s) return;
    for (int round = 0; round < 5; round++) {
        size_t len = round % 2 ? 3 * MIB + 11 : 9000;
        uint8_t *data = random_bytes(len);
        struct racer r[2] = {{s, data, len, {{0}, 0, 0, 0, NULL}, -1},
                             {s, data, len, {{0}, 0, 0, 0, NULL}, -1}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, race_import, &r[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        CHECK_EQ_INT(r[0].rc, 0);
        CHECK_EQ_INT(r[1].rc, 0);
        CHECK_EQ_MEM(r[0].added.hash, r[1].added.hash, 32);
        CHECK(r[0].added.existed != r[1].added.existed); /* exactly one stored it */
        blob_temp_tag_drop(s, r[0].added.temp_tag);
        blob_temp_tag_drop(s, r[1].added.temp_tag);
        free(data);
    }
    CHECK_EQ_INT(count_entries(s), 5);
    CHECK_EQ_INT(count_store_files("data"), 2); /* the two 3 MiB blobs (outboards inline) */
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    blob_store_close(s);
}

/* Start-up recovery: temp files and unclaimed files go; rows whose files are gone go. */
static void test_recovery(void)
{
    struct blob_store *s = open_fresh_store("recovery");
    if (!s) return;
    uint8_t *d1 = random_bytes(200000), *d2 = random_bytes(300000), *d3 = random_bytes(100);
    struct blob_added a1 = add_bytes(s, d1, 200000), a2 = add_bytes(s, d2, 300000),
                      a3 = add_bytes(s, d3, 100);
    blob_temp_tag_drop(s, a1.temp_tag);
    blob_temp_tag_drop(s, a2.temp_tag);
    blob_temp_tag_drop(s, a3.temp_tag);
    blob_store_close(s);

    char path[900], hex[65];
    snprintf(path, sizeof path, "%s/blobs/tmp/abc.part", store_root);
    write_file(path, "x", 1);
    memset(hex, 'a', 64);
    hex[64] = 0;
    snprintf(path, sizeof path, "%s/blobs/data/%s.data", store_root, hex);
    write_file(path, "orphan", 6);
    snprintf(path, sizeof path, "%s/blobs/data/%s.obao4", store_root, hex);
    write_file(path, "orphan", 6);
    blob_hash_hex(a2.hash, hex);
    snprintf(path, sizeof path, "%s/blobs/data/%s.data", store_root, hex);
    unlink(path); /* lost behind the store's back */

    s = open_store();
    CHECK(s != NULL);
    if (!s) return;
    const struct blob_recovery *rec = blob_store_recovery(s);
    CHECK_EQ_INT(rec->temp_files, 1);
    CHECK_EQ_INT(rec->orphan_files, 2);
    CHECK_EQ_INT(rec->lost_entries, 1);
    CHECK(stored(s, a1.hash) && !stored(s, a2.hash) && stored(s, a3.hash));
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    CHECK_EQ_INT(count_store_files("data"), 1);
    check_reads_back(s, a1.hash, d1, 200000);
    blob_store_close(s);
    free(d1);
    free(d2);
    free(d3);
}

static void test_bad_input(void)
{
    struct blob_store *s = open_fresh_store("bad");
    if (!s) return;
    struct blob_added a;
    struct blob_error e = {""};
    char path[700];
    snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
    CHECK_EQ_INT(blob_store_add_path(s, path, BLOB_IMPORT_COPY, NULL, &a, &e), IROH_ENOTFOUND);
    CHECK(strstr(e.detail, path) != NULL);
    CHECK_EQ_INT(blob_store_add_path(s, "relative", BLOB_IMPORT_COPY, NULL, &a, &e), IROH_EINVAL);
    CHECK_EQ_INT(blob_store_add_path(s, tmpdir, BLOB_IMPORT_COPY, NULL, &a, &e), IROH_EINVAL);
    CHECK(strstr(e.detail, "directory") != NULL);
    if (geteuid() != 0) { /* root reads everything */
        snprintf(path, sizeof path, "%s/unreadable", tmpdir);
        write_file(path, "secret", 6);
        chmod(path, 0);
        CHECK_EQ_INT(blob_store_add_path(s, path, BLOB_IMPORT_COPY, NULL, &a, &e), IROH_EPERM);
        unlink(path);
    }
    uint8_t unknown[32] = {7};
    struct blob_status st;
    CHECK_EQ_INT(blob_store_status(s, unknown, &st, &e), IROH_ENOTFOUND);
    struct blob_reader *r;
    CHECK_EQ_INT(blob_store_reader_open(s, unknown, &r, &e), IROH_ENOTFOUND);
    /* The empty blob is always there. */
    uint8_t empty[32];
    blob_hash_parse("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", empty);
    CHECK_EQ_INT(blob_store_status(s, empty, &st, &e), 0);
    CHECK(st.complete);
    CHECK_EQ_INT(st.size, 0);
    CHECK_EQ_INT(blob_store_reader_open(s, empty, &r, &e), 0);
    blob_reader_close(r);
    CHECK_EQ_INT(blob_store_temp_tag_count(s), 0);
    blob_store_close(s);
}

static int cancel_at_half(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    (void)ctx;
    (void)stage;
    return done * 2 >= total;
}

static void test_cancel(void)
{
    struct blob_store *s = open_fresh_store("cancel");
    if (!s) return;
    uint8_t *data = random_bytes(10 * MIB);
    struct blob_progress p = {cancel_at_half, NULL};
    struct blob_added a;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_add_bytes(s, data, 10 * MIB, &p, &a, &e), IROH_ECLOSED);
    CHECK_EQ_INT(count_store_files("tmp"), 0);
    CHECK_EQ_INT(count_store_files("data"), 0);
    CHECK_EQ_INT(blob_store_temp_tag_count(s), 0);
    free(data);
    blob_store_close(s);
}

/* A full disk: a 4 MiB tmpfs holds the whole store; a bigger import fails cleanly. */
static void test_full_disk(void)
{
    char mnt[600];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", tmpdir);
    mkdir(mnt, 0700);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=4m") < 0) {
        printf("note: skipping the full-disk test: cannot mount a tmpfs (%s)\n", strerror(errno));
        return;
    }
    snprintf(store_root, sizeof store_root, "%s", mnt);
    struct blob_store *s = open_store();
    CHECK(s != NULL);
    if (s) {
        uint8_t *small = random_bytes(1000), *mid = random_bytes(MIB), *big = random_bytes(8 * MIB);
        struct blob_added a = add_bytes(s, small, 1000), b = add_bytes(s, mid, MIB);
        char path[700];
        snprintf(path, sizeof path, "%s/big-input", tmpdir);
        write_file(path, big, 8 * MIB);
        struct blob_added c;
        struct blob_error e = {""};
        int rc = blob_store_add_path(s, path, BLOB_IMPORT_COPY, NULL, &c, &e);
        CHECK_EQ_INT(rc, IROH_EIO);
        CHECK(strstr(e.detail, "No space left on device") != NULL);
        printf("full disk: %s\n", e.detail);
        rc = blob_store_add_bytes(s, big, 8 * MIB, NULL, &c, &e);
        CHECK_EQ_INT(rc, IROH_EIO);
        CHECK_EQ_INT(count_store_files("tmp"), 0);
        CHECK_EQ_INT(count_store_files("data"), 1);
        CHECK_EQ_INT(count_entries(s), 2);
        check_reads_back(s, b.hash, mid, MIB);
        check_reads_back(s, a.hash, small, 1000);
        /* After the failure the store still takes what fits. */
        struct blob_added d = add_bytes(s, big, 100000);
        CHECK(!d.existed);
        blob_temp_tag_drop(s, a.temp_tag);
        blob_temp_tag_drop(s, b.temp_tag);
        blob_temp_tag_drop(s, d.temp_tag);
        blob_store_close(s);
        /* And a restart finds it consistent. */
        s = open_store();
        CHECK(s != NULL);
        if (s) {
            const struct blob_recovery *rec = blob_store_recovery(s);
            CHECK_EQ_INT(rec->temp_files + rec->orphan_files + rec->lost_entries, 0);
            blob_store_close(s);
        }
        unlink(path);
        free(small);
        free(mid);
        free(big);
    }
    umount2(mnt, MNT_DETACH);
}

int main(void)
{
    tmpdir_make(tmpdir, sizeof tmpdir, "blobstore");
    RUN(test_hash_text);
    RUN(test_sizes_and_placement);
    RUN(test_ranges);
    RUN(test_export);
    RUN(test_reference_changes);
    RUN(test_reference_groups_changed);
    RUN(test_read_groups_bounds);
    RUN(test_partial);
    RUN(test_partial_batches);
    RUN(test_partial_huge);
    RUN(test_tags_and_gc);
    RUN(test_parallel_same_content);
    RUN(test_recovery);
    RUN(test_bad_input);
    RUN(test_cancel);
    RUN(test_full_disk);
    rm_rf(tmpdir);
    return TEST_SUMMARY();
}
