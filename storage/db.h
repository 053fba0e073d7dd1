/* db.h — irohd.db, the daemon's one sqlite database: opening it in WAL mode, bringing its
 * schema up to date (numbered migrations, PRAGMA user_version), and binding it to the node's
 * identity. Opened by main.c at start-up and closed at shut-down; later stores (blobs, docs)
 * add their tables as further migrations and use the handle from worker threads, one at a
 * time, inside explicit transactions. */
#ifndef IROH_STORAGE_DB_H
#define IROH_STORAGE_DB_H

#include <sqlite3.h>
#include <stddef.h>

/* Opens (creating if needed) the database at path and applies pending migrations in one
 * transaction. node_id_hex is this node's id: a database made by another identity is refused
 * with IROH_EPERM (its data belongs to that node). Returns 0 and the handle in *out, or
 * IROH_EIO / IROH_ECORRUPT / IROH_EPERM / IROH_EINVAL (made by a newer irohd: schema version
 * above ours) with err saying why. */
int storage_db_open(const char *path, const char *node_id_hex, sqlite3 **out, char *err,
                    size_t errlen);
/* The schema version this build writes. */
int storage_db_schema_version(void);
/* Closes the handle (a checkpoint folds the WAL back into the main file). */
void storage_db_close(sqlite3 *db);

#endif
