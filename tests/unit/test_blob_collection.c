/* test_blob_collection.c — storage/blob_collection on a real store in a temp dir: a directory
 * tree added as a collection (sorted names, nested files, symlinks and FIFOs left out, copy and
 * reference), its root hash equal to one built from the files' BLAKE3 hashes, GC protection
 * through the root's HashSeq temp tag, export round trips, refusals that write nothing
 * (existing files without overwrite, a file or a symlink in the way of a directory, unsafe
 * names, missing blobs), things that are not collections, non-UTF-8 names and cancellation. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/blake3.h"
#include "core/collection.h"
#include "iroh/error.h"
#include "storage/blob_collection.h"
#include "storage/db.h"
#include "tests/test.h"
#include "tests/unit/tmpdir.h"

#define NODE_ID "2222222222222222222222222222222222222222222222222222222222222222"

static char tmpdir[512];
static struct blob_store *store;

/* ---- helpers ----------------------------------------------------------------------------- */

/* A path under the temp dir, valid until the 16th call after this one. */
static const char *at(const char *rel)
{
    static char bufs[16][1024];
    static int next;
    char *p = bufs[next++ % 16];
    snprintf(p, sizeof bufs[0], "%s/%s", tmpdir, rel);
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* Reads a whole file (NULL if missing); *len gets its size. Caller frees. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 10)) & 0xff);
    return p;
}

/* The tree every test starts from: four regular files, a symlink, a FIFO and an empty dir. */
#define BIG_LEN (300 * 1024)
#define MID_LEN 20000
static const char *const TREE_NAMES[] = {"a.txt", "sub/b.bin", "sub/big", "sub/deeper/c"};
static const size_t TREE_SIZES[] = {5, MID_LEN, BIG_LEN, 0};

static void make_tree(const char *root)
{
    rm_rf(root);
    char p[1024];
    mkdir(root, 0700);
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sub/deeper", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/emptydir", root);
    mkdir(p, 0700);
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, TREE_NAMES[i]);
        uint8_t *data = i == 0 ? (uint8_t *)strdup("hello") : pattern(TREE_SIZES[i], (unsigned)i);
        write_file(p, data, TREE_SIZES[i]);
        free(data);
    }
    snprintf(p, sizeof p, "%s/link", root);
    CHECK_EQ_INT(symlink("a.txt", p), 0);
    snprintf(p, sizeof p, "%s/sub/fifo", root);
    CHECK_EQ_INT(mkfifo(p, 0600), 0);
}

/* The root hash of the tree, built from the files' BLAKE3 hashes and the meta encoder. */
static void tree_root_hash(const char *root, uint8_t out[32])
{
    struct iroh_collection_name names[4];
    uint8_t children[4 * 32], meta[256], meta_hash[32], root_blob[5 * 32];
    for (size_t i = 0; i < 4; i++) {
        names[i] = (struct iroh_collection_name){TREE_NAMES[i], strlen(TREE_NAMES[i])};
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", root, TREE_NAMES[i]);
        size_t len = 0;
        uint8_t *data = read_file(p, &len);
        iroh_blake3_hash(data, len, children + 32 * i);
        free(data);
    }
    size_t bad;
    int meta_len = iroh_collection_meta_encode(names, 4, meta, sizeof meta, &bad);
    CHECK(meta_len > 0);
    iroh_blake3_hash(meta, (size_t)meta_len, meta_hash);
    iroh_collection_root_encode(meta_hash, children, 4, root_blob);
    iroh_blake3_hash(root_blob, sizeof root_blob, out);
}

static bool same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    uint8_t *da = read_file(a, &la), *db = read_file(b, &lb);
    bool same = da && db && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static struct blob_collection *load(const uint8_t hash[32])
{
    struct blob_collection *c = NULL;
    struct blob_error e = {""};
    int rc = blob_collection_load(store, hash, &c, &e);
    if (rc < 0) fprintf(stderr, "load: %s\n", e.detail);
    CHECK_EQ_INT(rc, 0);
    return c;
}

static int export_to(const uint8_t hash[32], const char *dir, bool overwrite, char *detail)
{
    struct blob_collection *c = load(hash);
    if (!c) return -100;
    struct blob_collection_exported out;
    struct blob_error e = {""};
    int rc = blob_collection_export(store, c, dir, overwrite, 022, NULL, &out, &e);
    if (detail) snprintf(detail, 512, "%s", e.detail);
    if (rc == 0) CHECK_EQ_INT(out.files, 4);
    blob_collection_free(c);
    return rc;
}

/* Stores a collection of the given names, each file's content being its own name. */
static void store_collection(const char *const *names, size_t n, uint8_t root_hash[32])
{
    struct iroh_collection_name views[8];
    uint8_t children[8 * 32], meta[512], root[9 * 32];
    struct blob_added added;
    struct blob_error e = {""};
    for (size_t i = 0; i < n; i++) {
        views[i] = (struct iroh_collection_name){names[i], strlen(names[i])};
        CHECK_EQ_INT(blob_store_add_bytes(store, names[i], strlen(names[i]), NULL, &added, &e), 0);
        memcpy(children + 32 * i, added.hash, 32);
        blob_temp_tag_drop(store, added.temp_tag);
    }
    size_t bad;
    int len = iroh_collection_meta_encode(views, n, meta, sizeof meta, &bad);
    CHECK_EQ_INT(blob_store_add_bytes(store, meta, (size_t)len, NULL, &added, &e), 0);
    blob_temp_tag_drop(store, added.temp_tag);
    iroh_collection_root_encode(added.hash, children, n, root);
    CHECK_EQ_INT(blob_store_add_bytes(store, root, 32 * (n + 1), NULL, &added, &e), 0);
    blob_temp_tag_drop(store, added.temp_tag);
    memcpy(root_hash, added.hash, 32);
}

/* ---- tests ------------------------------------------------------------------------------- */

static uint8_t tree_hash[32];

static void test_add_dir(void)
{
    const char *src = at("src");
    make_tree(src);
    struct blob_collection_added added;
    struct blob_error e = {""};
    int rc = blob_collection_add_dir(store, src, BLOB_IMPORT_COPY, NULL, &added, &e);
    if (rc < 0) fprintf(stderr, "add_dir: %s\n", e.detail);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(added.files, 4);
    CHECK_EQ_INT(added.skipped, 2); /* the symlink and the FIFO */
    CHECK_EQ_INT(added.total_size, 5 + MID_LEN + BIG_LEN);
    CHECK_EQ_INT(added.root.size, 5 * 32);
    uint8_t want[32];
    tree_root_hash(src, want);
    CHECK_EQ_MEM(added.root.hash, want, 32);
    memcpy(tree_hash, want, 32);

    /* Only the root's HashSeq temp tag is left, and it protects every child. */
    CHECK_EQ_INT(blob_store_temp_tag_count(store), 1);
    struct blob_gc_stats gc;
    CHECK_EQ_INT(blob_store_gc(store, &gc, &e), 0);
    CHECK_EQ_INT(gc.deleted, 0);
    blob_temp_tag_drop(store, added.root.temp_tag);
    CHECK_EQ_INT(blob_store_gc(store, &gc, &e), 0);
    CHECK_EQ_INT(gc.deleted, 6); /* four files, the meta blob, the root */

    /* Added again, and tagged as a HashSeq: GC keeps everything. */
    CHECK_EQ_INT(blob_collection_add_dir(store, src, BLOB_IMPORT_COPY, NULL, &added, &e), 0);
    CHECK_EQ_INT(blob_store_tag_set(store, "tree", added.root.hash, BLOB_FORMAT_HASH_SEQ, &e), 0);
    blob_temp_tag_drop(store, added.root.temp_tag);
    CHECK_EQ_INT(blob_store_gc(store, &gc, &e), 0);
    CHECK_EQ_INT(gc.deleted, 0);

    /* By reference: the same hash, the large files referenced in place. */
    CHECK_EQ_INT(blob_collection_add_dir(store, src, BLOB_IMPORT_REFERENCE, NULL, &added, &e), 0);
    CHECK_EQ_MEM(added.root.hash, want, 32);
    CHECK(added.root.existed);
    blob_temp_tag_drop(store, added.root.temp_tag);

    /* An empty directory is a collection of no files. */
    const char *empty = at("empty");
    mkdir(empty, 0700);
    CHECK_EQ_INT(blob_collection_add_dir(store, empty, BLOB_IMPORT_COPY, NULL, &added, &e), 0);
    CHECK_EQ_INT(added.files, 0);
    CHECK_EQ_INT(added.root.size, 32);
    blob_temp_tag_drop(store, added.root.temp_tag);

    /* Errors. */
    CHECK_EQ_INT(blob_collection_add_dir(store, "relative", BLOB_IMPORT_COPY, NULL, &added, &e),
                 IROH_EINVAL);
    CHECK_EQ_INT(blob_collection_add_dir(store, at("missing"), BLOB_IMPORT_COPY, NULL, &added, &e),
                 IROH_ENOTFOUND);
    CHECK_EQ_INT(blob_store_temp_tag_count(store), 0);
}

static int cancel_after_first(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    int *calls = ctx;
    (void)stage;
    (void)total;
    return ++*calls > 1 && done > 0;
}

static void test_add_refusals(void)
{
    /* A file name that is not UTF-8 cannot be a collection name. */
    const char *bad = at("badname");
    rm_rf(bad);
    mkdir(bad, 0700);
    char p[1024];
    snprintf(p, sizeof p, "%s/ok", bad);
    write_file(p, "x", 1);
    snprintf(p, sizeof p, "%s/caf\xe9", bad);
    write_file(p, "y", 1);
    struct blob_collection_added added;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_collection_add_dir(store, bad, BLOB_IMPORT_COPY, NULL, &added, &e),
                 IROH_EINVAL);
    CHECK(strstr(e.detail, "UTF-8") != NULL);

    /* Cancelled from the progress callback: nothing stays protected. */
    int calls = 0;
    struct blob_progress cancel = {cancel_after_first, &calls};
    CHECK_EQ_INT(blob_collection_add_dir(store, at("src"), BLOB_IMPORT_COPY, &cancel, &added, &e),
                 IROH_ECLOSED);
    CHECK_EQ_INT(blob_store_temp_tag_count(store), 0);
}

static void test_export(void)
{
    char out[600];
    snprintf(out, sizeof out, "%s", at("out"));
    rm_rf(out);
    char detail[512] = "";
    int rc = export_to(tree_hash, out, false, detail);
    if (rc) fprintf(stderr, "export: %s\n", detail);
    CHECK_EQ_INT(rc, 0);
    for (size_t i = 0; i < 4; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/%s", at("src"), TREE_NAMES[i]);
        snprintf(b, sizeof b, "%s/%s", out, TREE_NAMES[i]);
        CHECK(same_file(a, b));
    }
    CHECK(!exists(at("out/link")));
    CHECK(!exists(at("out/sub/fifo")));
    /* Modes from the caller's umask (022), not the writer's: directories 0755, files 0644. */
    static const char *const modes[][2] = {{"out", "755"},
                                           {"out/sub", "755"},
                                           {"out/sub/deeper", "755"},
                                           {"out/a.txt", "644"},
                                           {"out/sub/deeper/c", "644"}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct stat st;
        char mode[8];
        CHECK_EQ_INT(stat(at(modes[i][0]), &st), 0);
        snprintf(mode, sizeof mode, "%o", (unsigned)(st.st_mode & 0777));
        CHECK_EQ_STR(mode, modes[i][1]);
    }

    /* Again: every file exists, so nothing is written without overwrite. */
    write_file(at("out/a.txt"), "changed", 7);
    CHECK_EQ_INT(export_to(tree_hash, out, false, detail), IROH_EEXIST);
    CHECK(strstr(detail, "a.txt exists") != NULL);
    size_t len;
    uint8_t *data = read_file(at("out/a.txt"), &len);
    CHECK(data && len == 7);
    free(data);
    rc = export_to(tree_hash, out, true, detail);
    if (rc) fprintf(stderr, "export with overwrite: %s\n", detail);
    CHECK_EQ_INT(rc, 0);
    CHECK(same_file(at("src/a.txt"), at("out/a.txt")));

    /* Into an existing directory with other files: they stay. */
    const char *mixed = at("mixed");
    rm_rf(mixed);
    mkdir(mixed, 0700);
    write_file(at("mixed/other"), "keep", 4);
    CHECK_EQ_INT(export_to(tree_hash, mixed, false, detail), 0);
    CHECK(exists(at("mixed/other")) && exists(at("mixed/sub/deeper/c")));

    /* A file where a directory must go: refused before anything is written. */
    const char *blocked = at("blocked");
    rm_rf(blocked);
    mkdir(blocked, 0700);
    write_file(at("blocked/sub"), "file", 4);
    CHECK_EQ_INT(export_to(tree_hash, blocked, true, detail), IROH_EINVAL);
    CHECK(strstr(detail, "not a directory") != NULL);
    CHECK(!exists(at("blocked/a.txt")));

    /* A symlink where a directory must go: refused, nothing lands where it points. */
    const char *linked = at("linked"), *elsewhere = at("elsewhere");
    rm_rf(linked);
    rm_rf(elsewhere);
    mkdir(linked, 0700);
    mkdir(elsewhere, 0700);
    CHECK_EQ_INT(symlink(elsewhere, at("linked/sub")), 0);
    CHECK_EQ_INT(export_to(tree_hash, linked, true, detail), IROH_EINVAL);
    CHECK(!exists(at("elsewhere/b.bin")) && !exists(at("linked/a.txt")));

    /* A directory where a file must go. */
    const char *dirfile = at("dirfile");
    rm_rf(dirfile);
    mkdir(dirfile, 0700);
    mkdir(at("dirfile/a.txt"), 0700);
    CHECK_EQ_INT(export_to(tree_hash, dirfile, true, detail), IROH_EINVAL);
    CHECK(strstr(detail, "is a directory") != NULL);

    /* The target is a file, or its parent is missing. */
    write_file(at("plainfile"), "x", 1);
    CHECK_EQ_INT(export_to(tree_hash, at("plainfile"), false, detail), IROH_EINVAL);
    CHECK_EQ_INT(export_to(tree_hash, at("nope/deeper"), false, detail), IROH_ENOTFOUND);
}

static void test_unsafe_names(void)
{
    static const char *const cases[][2] = {
        {"fine", "../escape"}, {"fine", "/etc/absolute"}, {"fine", "a//b"},
        {"fine", "./dot"},     {"same", "same"},          {"dir", "dir/file"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t hash[32];
        store_collection(cases[k], 2, hash);
        char out[64], detail[512] = "";
        snprintf(out, sizeof out, "unsafe%zu", k);
        rm_rf(at(out));
        struct blob_collection *c = load(hash);
        struct blob_collection_exported ex;
        struct blob_error e = {""};
        CHECK_EQ_INT(blob_collection_export(store, c, at(out), true, 022, NULL, &ex, &e),
                     IROH_EINVAL);
        snprintf(detail, sizeof detail, "%s", e.detail);
        CHECK(strstr(detail, "is refused") != NULL);
        CHECK(!exists(at(out))); /* not even the directory */
        CHECK(!exists(at("escape")));
        blob_collection_free(c);
    }
}

static void test_not_collections(void)
{
    struct blob_collection *c = NULL;
    struct blob_error e = {""};
    struct blob_added added;
    uint8_t unknown[32];
    memset(unknown, 0x5a, 32);
    CHECK_EQ_INT(blob_collection_load(store, unknown, &c, &e), IROH_ENOTFOUND);

    CHECK_EQ_INT(blob_store_add_bytes(store, "hello", 5, NULL, &added, &e), 0);
    blob_temp_tag_drop(store, added.temp_tag);
    CHECK_EQ_INT(blob_collection_load(store, added.hash, &c, &e), IROH_EINVAL);
    CHECK(strstr(e.detail, "multiple of 32") != NULL);

    uint8_t seq[64];
    memset(seq, 0x77, sizeof seq); /* a hash sequence whose first blob is not stored */
    CHECK_EQ_INT(blob_store_add_bytes(store, seq, sizeof seq, NULL, &added, &e), 0);
    blob_temp_tag_drop(store, added.temp_tag);
    CHECK_EQ_INT(blob_collection_load(store, added.hash, &c, &e), IROH_EINVAL);
    CHECK(strstr(e.detail, "meta blob") != NULL);

    /* The first blob exists but is no meta blob. */
    uint8_t hello_hash[32];
    iroh_blake3_hash("hello", 5, hello_hash);
    memcpy(seq, hello_hash, 32);
    CHECK_EQ_INT(blob_store_add_bytes(store, seq, sizeof seq, NULL, &added, &e), 0);
    blob_temp_tag_drop(store, added.temp_tag);
    CHECK_EQ_INT(blob_collection_load(store, added.hash, &c, &e), IROH_EINVAL);
    CHECK(strstr(e.detail, "CollectionV0.") != NULL);

    /* A collection whose file blob is gone: nothing is written. */
    uint8_t hash[32];
    static const char *const names[] = {"one", "two"};
    store_collection(names, 2, hash);
    uint8_t two[32];
    iroh_blake3_hash("two", 3, two);
    bool deleted = false;
    CHECK_EQ_INT(blob_store_delete(store, two, &deleted, &e), 0);
    CHECK(deleted);
    c = load(hash);
    struct blob_collection_exported ex;
    rm_rf(at("gone"));
    CHECK_EQ_INT(blob_collection_export(store, c, at("gone"), false, 022, NULL, &ex, &e),
                 IROH_ENOTFOUND);
    CHECK(strstr(e.detail, "not in the store") != NULL);
    CHECK(!exists(at("gone")));
    blob_collection_free(c);
}

int main(void)
{
    tmpdir_make(tmpdir, sizeof tmpdir, "blobcoll");
    char db_path[700], blobs[700], err[256];
    snprintf(db_path, sizeof db_path, "%s/irohd.db", tmpdir);
    snprintf(blobs, sizeof blobs, "%s/blobs", tmpdir);
    sqlite3 *db;
    struct blob_error e = {""};
    if (storage_db_open(db_path, NODE_ID, &db, err, sizeof err) < 0) {
        fprintf(stderr, "storage_db_open: %s\n", err);
        return 1;
    }
    storage_db_close(db);
    if (blob_store_open(db_path, blobs, &store, &e) < 0) {
        fprintf(stderr, "blob_store_open: %s\n", e.detail);
        return 1;
    }
    RUN(test_add_dir);
    RUN(test_add_refusals);
    RUN(test_export);
    RUN(test_unsafe_names);
    RUN(test_not_collections);
    blob_store_close(store);
    rm_rf(tmpdir);
    return TEST_SUMMARY();
}
