/* test_db.c — storage/db.c on real sqlite files in a temp dir: a new database is created in WAL
 * mode at storage_db_schema_version() and bound to the node id; reopening with the same id
 * works and keeps the data; another id is refused (IROH_EPERM, both ids named); a garbage file
 * is refused (IROH_ECORRUPT) and left untouched; a database from a newer schema version is
 * refused and left at its version; an unopenable path is an I/O error. */
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iroh/error.h"
#include "storage/db.h"
#include "tests/test.h"
#include "tests/unit/tmpdir.h"

#define ID_A "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_B "2222222222222222222222222222222222222222222222222222222222222222"

static char tmpdir[512];

static void path_in_tmp(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* One value of a pragma or query, as text, read with a separate plain sqlite connection. */
static int query_text(const char *path, const char *sql, char *out, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static long read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long n = (long)read(fd, buf, len);
    close(fd);
    return n;
}

static void test_create_wal(void)
{
    char path[600], text[128];
    path_in_tmp(path, sizeof path, "new.db");
    sqlite3 *db = NULL;
    char err[512] = "";
    int rc = storage_db_open(path, ID_A, &db, err, sizeof err);
    if (rc < 0) fprintf(stderr, "storage_db_open: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    CHECK(db != NULL);
    CHECK(storage_db_schema_version() >= 1);
    /* The handle works: WAL mode, the schema version, the node id recorded. */
    sqlite3_stmt *st = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CHECK_EQ_INT(access(path, F_OK), 0);
    storage_db_close(db);

    /* Seen from outside after closing: WAL persists in the file header, and the version. */
    CHECK_EQ_INT(query_text(path, "PRAGMA journal_mode", text, sizeof text), 0);
    CHECK_EQ_STR(text, "wal");
    CHECK_EQ_INT(query_text(path, "PRAGMA user_version", text, sizeof text), 0);
    char want[16];
    snprintf(want, sizeof want, "%d", storage_db_schema_version());
    CHECK_EQ_STR(text, want);
    CHECK_EQ_INT(
        query_text(path, "SELECT value FROM node_meta WHERE key = 'node_id'", text, sizeof text),
        0);
    CHECK_EQ_STR(text, ID_A);
}

static void test_reopen_same_id(void)
{
    char path[600], text[128], err[512] = "";
    path_in_tmp(path, sizeof path, "reopen.db");
    sqlite3 *db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), 0);
    CHECK_EQ_INT(sqlite3_exec(db, "CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('yes');",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    storage_db_close(db);
    for (int i = 0; i < 3; i++) {
        db = NULL;
        int rc = storage_db_open(path, ID_A, &db, err, sizeof err);
        if (rc < 0) fprintf(stderr, "reopen %d: %s\n", i, err);
        CHECK_EQ_INT(rc, 0);
        storage_db_close(db);
    }
    CHECK_EQ_INT(query_text(path, "SELECT v FROM kept", text, sizeof text), 0);
    CHECK_EQ_STR(text, "yes");
    CHECK_EQ_INT(query_text(path, "SELECT count(*) FROM node_meta", text, sizeof text), 0);
    CHECK_EQ_STR(text, "1");
}

static void test_other_id_refused(void)
{
    char path[600], text[128], err[512] = "";
    path_in_tmp(path, sizeof path, "other.db");
    sqlite3 *db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), 0);
    storage_db_close(db);
    db = (sqlite3 *)1;
    err[0] = '\0';
    CHECK_EQ_INT(storage_db_open(path, ID_B, &db, err, sizeof err), IROH_EPERM);
    CHECK(db == (sqlite3 *)1); /* *out untouched on failure */
    CHECK(strstr(err, ID_A) != NULL);
    CHECK(strstr(err, ID_B) != NULL);
    /* The database still belongs to A, and A can still open it. */
    CHECK_EQ_INT(
        query_text(path, "SELECT value FROM node_meta WHERE key = 'node_id'", text, sizeof text),
        0);
    CHECK_EQ_STR(text, ID_A);
    db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), 0);
    storage_db_close(db);
}

static void check_garbage(const char *name, size_t size)
{
    char path[600], err[512] = "";
    path_in_tmp(path, sizeof path, name);
    char *garbage = malloc(size), *after = malloc(size + 1);
    if (!garbage || !after) {
        CHECK(0);
        free(garbage);
        free(after);
        return;
    }
    for (size_t i = 0; i < size; i++)
        garbage[i] = (char)(i * 131 + 7);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, garbage, size), size);
    close(fd);
    sqlite3 *db = NULL;
    int rc = storage_db_open(path, ID_A, &db, err, sizeof err);
    CHECK(rc == IROH_ECORRUPT || rc == IROH_EIO);
    CHECK_EQ_INT(rc, IROH_ECORRUPT);
    CHECK(db == NULL);
    CHECK(strlen(err) > 0);
    if (strlen(err) == 0) fprintf(stderr, "%s: no message\n", name);
    /* Untouched: same size and bytes, and no WAL files left beside it. */
    CHECK_EQ_INT(read_file(path, after, size + 1), size);
    CHECK_EQ_MEM(after, garbage, size);
    char side[640];
    snprintf(side, sizeof side, "%s-wal", path);
    CHECK(access(side, F_OK) < 0);
    snprintf(side, sizeof side, "%s-shm", path);
    CHECK(access(side, F_OK) < 0);
    free(garbage);
    free(after);
}

static void test_garbage_refused(void)
{
    check_garbage("garbage-4k.db", 4096);
    check_garbage("garbage-100.db", 100);
    check_garbage("garbage-1m.db", 1 << 20);
    /* A text file someone put there by mistake. */
    char path[600], err[512] = "", after[64] = "";
    path_in_tmp(path, sizeof path, "notes.db");
    static const char notes[] = "these are my notes, not a database\n";
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(notes, f);
    fclose(f);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), IROH_ECORRUPT);
    CHECK(strlen(err) > 0);
    CHECK_EQ_INT(read_file(path, after, sizeof after), strlen(notes));
    CHECK_EQ_MEM(after, notes, strlen(notes));
}

static void test_newer_schema_refused(void)
{
    char path[600], text[128], err[512] = "";
    path_in_tmp(path, sizeof path, "newer.db");
    sqlite3 *db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), 0);
    storage_db_close(db);
    int newer = storage_db_schema_version() + 5;
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; CREATE TABLE from_the_future (x INTEGER);",
             newer);
    CHECK_EQ_INT(exec_on(path, sql), 0);

    db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), IROH_EINVAL);
    CHECK(db == NULL);
    char num[16];
    snprintf(num, sizeof num, "%d", newer);
    CHECK(strstr(err, num) != NULL); /* names the version found */
    CHECK(strstr(err, "newer") != NULL);
    /* Nothing was migrated or dropped. */
    CHECK_EQ_INT(query_text(path, "PRAGMA user_version", text, sizeof text), 0);
    CHECK_EQ_STR(text, num);
    CHECK_EQ_INT(query_text(path, "SELECT count(*) FROM from_the_future", text, sizeof text), 0);
    CHECK_EQ_STR(text, "0");
}

static void test_older_schema_migrated(void)
{
    /* A database made by an earlier build (version 0: an empty sqlite file) is migrated. */
    char path[600], text[128], err[512] = "";
    path_in_tmp(path, sizeof path, "old.db");
    CHECK_EQ_INT(exec_on(path, "CREATE TABLE legacy (x); INSERT INTO legacy VALUES (1);"), 0);
    CHECK_EQ_INT(query_text(path, "PRAGMA user_version", text, sizeof text), 0);
    CHECK_EQ_STR(text, "0");
    sqlite3 *db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_B, &db, err, sizeof err), 0);
    storage_db_close(db);
    char want[16];
    snprintf(want, sizeof want, "%d", storage_db_schema_version());
    CHECK_EQ_INT(query_text(path, "PRAGMA user_version", text, sizeof text), 0);
    CHECK_EQ_STR(text, want);
    CHECK_EQ_INT(query_text(path, "SELECT x FROM legacy", text, sizeof text), 0);
    CHECK_EQ_STR(text, "1");
}

static void test_unopenable_path(void)
{
    char path[600], err[512] = "";
    path_in_tmp(path, sizeof path, "no-such-dir/x.db");
    sqlite3 *db = NULL;
    CHECK_EQ_INT(storage_db_open(path, ID_A, &db, err, sizeof err), IROH_EIO);
    CHECK(db == NULL);
    CHECK(strlen(err) > 0);
    /* A directory where the file should be. */
    path_in_tmp(path, sizeof path, "a-dir.db");
    CHECK_EQ_INT(mkdir(path, 0700), 0);
    int rc = storage_db_open(path, ID_A, &db, err, sizeof err);
    CHECK(rc == IROH_EIO || rc == IROH_ECORRUPT);
    CHECK(db == NULL);
}

int main(void)
{
    tmpdir_make(tmpdir, sizeof tmpdir, "db");
    RUN(test_create_wal);
    RUN(test_reopen_same_id);
    RUN(test_other_id_refused);
    RUN(test_garbage_refused);
    RUN(test_newer_schema_refused);
    RUN(test_older_schema_migrated);
    RUN(test_unopenable_path);
    rm_rf(tmpdir);
    return TEST_SUMMARY();
}
