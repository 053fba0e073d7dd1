/* db.c — irohd.db open, migrations and identity binding; see db.h. */
#include "storage/db.h"

#include <iroh/error.h>
#include <stdio.h>
#include <string.h>

/* Migration i brings the schema from version i to i + 1. Append only; never edit one that
 * has shipped. */
static const char *const migrations[] = {
    /* 1: who this database belongs to. */
    "CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;",
    /* 2: the blob store (storage/blob_store.h). data_loc: 0 inline, 1 owned, 2 external;
     * outboard_loc: 0 inline, 1 owned, 2 not needed. Side tables keep listing rows small. */
    "CREATE TABLE blobs (hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),"
    " size INTEGER NOT NULL CHECK (size >= 0), complete INTEGER NOT NULL,"
    " data_loc INTEGER NOT NULL, outboard_loc INTEGER NOT NULL,"
    " present_groups INTEGER NOT NULL) STRICT;"
    "CREATE TABLE blob_inline (hash BLOB PRIMARY KEY NOT NULL"
    " REFERENCES blobs (hash) ON DELETE CASCADE, data BLOB, outboard BLOB) STRICT;"
    "CREATE TABLE blob_paths (hash BLOB NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,"
    " path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    " ino INTEGER NOT NULL, dev INTEGER NOT NULL, PRIMARY KEY (hash, path)) STRICT;"
    "CREATE TABLE blob_partial (hash BLOB PRIMARY KEY NOT NULL"
    " REFERENCES blobs (hash) ON DELETE CASCADE, bitfield BLOB NOT NULL) STRICT;"
    "CREATE TABLE tags (name TEXT PRIMARY KEY NOT NULL, hash BLOB NOT NULL"
    " CHECK (length(hash) = 32), format INTEGER NOT NULL) STRICT;"
    "CREATE INDEX tags_by_hash ON tags (hash);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int storage_db_schema_version(void)
{
    return SCHEMA_VERSION;
}

static int fail(sqlite3 *db, int rc, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : IROH_EIO;
}

static int user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return IROH_EIO;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : IROH_EIO;
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Records node_id on first use; refuses a database recorded for another node. */
static int bind_identity(sqlite3 *db, const char *node_id_hex, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO node_meta (key, value) VALUES ('node_id', ?1) "
                           "ON CONFLICT (key) DO NOTHING RETURNING value",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(db, IROH_EIO, err, errlen, "cannot record the node id");
    sqlite3_bind_text(st, 1, node_id_hex, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW) return 0; /* inserted now */
    if (step != SQLITE_DONE) return fail(db, IROH_EIO, err, errlen, "cannot record the node id");

    if (sqlite3_prepare_v2(db, "SELECT value FROM node_meta WHERE key = 'node_id'", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(db, IROH_EIO, err, errlen, "cannot read the node id");
    int rc = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fail(db, IROH_EIO, err, errlen, "cannot read the node id");
    } else if (strcmp((const char *)sqlite3_column_text(st, 0), node_id_hex) != 0) {
        snprintf(err, errlen,
                 "the database belongs to node %.64s, but secret.key is node %s: restore that "
                 "node's secret.key or use another --data-dir",
                 (const char *)sqlite3_column_text(st, 0), node_id_hex);
        rc = IROH_EPERM;
    }
    sqlite3_finalize(st);
    return rc;
}

int storage_db_open(const char *path, const char *node_id_hex, sqlite3 **out, char *err,
                    size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = fail(db, IROH_EIO, err, errlen, "cannot open the database");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    int version = 0, rc = 0;
    if (exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                 "PRAGMA foreign_keys = ON;") < 0 ||
        user_version(db, &version) < 0) {
        rc = fail(db, sqlite3_errcode(db) == SQLITE_NOTADB ? IROH_ECORRUPT : IROH_EIO, err, errlen,
                  "cannot read the database");
        goto done;
    }
    if (version > SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "the database has schema version %d, newer than this irohd knows (%d): use a "
                 "newer irohd",
                 version, SCHEMA_VERSION);
        rc = IROH_EINVAL;
        goto done;
    }
    if (exec(db, "BEGIN IMMEDIATE") < 0) {
        rc = fail(db, IROH_EIO, err, errlen, "cannot start the schema migration");
        goto done;
    }
    for (int v = version; v < SCHEMA_VERSION && rc == 0; v++) {
        char bump[48];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (exec(db, migrations[v]) < 0 || exec(db, bump) < 0)
            rc = fail(db, IROH_EIO, err, errlen, "schema migration failed");
    }
    if (rc == 0) rc = bind_identity(db, node_id_hex, err, errlen);
    if (rc == 0 && exec(db, "COMMIT") < 0)
        rc = fail(db, IROH_EIO, err, errlen, "cannot commit the schema migration");
    if (rc < 0) exec(db, "ROLLBACK");
done:
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void storage_db_close(sqlite3 *db)
{
    sqlite3_close(db);
}
