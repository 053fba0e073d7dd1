/* blob_collection.h — directories in the blob store as iroh-blobs collections (spec/blobs.md
 * §9.3, codec in core/collection.h): adding every regular file under a directory plus the
 * meta blob and the HashSeq root, and writing a stored collection back out as a directory.
 * Built only on the blob store's public calls (storage/blob_store.h); called by the blobs
 * service from libuv worker threads (blobs.add of a directory, blobs.export of a collection).
 *
 * Errors: IROH_E* codes with a sentence for the user in the struct blob_error, as the store's
 * own calls. Progress goes to the caller's blob_progress with done/total counted over the
 * whole directory; returning nonzero from it cancels (IROH_ECLOSED). */
#ifndef IROH_STORAGE_BLOB_COLLECTION_H
#define IROH_STORAGE_BLOB_COLLECTION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "storage/blob_store.h"

struct blob_collection_added {
    struct blob_added root; /* the root blob; its temp tag protects it as a HashSeq, and with
                               it the meta blob and every file, until the caller drops it */
    uint64_t files;         /* regular files added */
    uint64_t total_size;    /* their bytes */
    uint64_t skipped;       /* symlinks and special files (FIFOs, sockets, devices) left out */
};

/* Adds the directory at the absolute path dir as a collection: every regular file under it,
 * recursively, named by its path relative to dir with '/' between components and sorted
 * bytewise by that name; symlinks are neither followed nor added (nor are special files).
 * Each file is imported as blob_store_add_path does in mode; then the meta blob and the root.
 * Returns 0, IROH_EINVAL (a name that is not UTF-8, a path over PATH_MAX), IROH_ENOTFOUND,
 * IROH_EPERM (an unreadable file or directory: nothing is added), IROH_EIO, IROH_ECORRUPT
 * (a file changed while it was added) or IROH_ECLOSED (cancelled). On failure no temp tag is
 * left: blobs already imported stay until the next GC. */
int blob_collection_add_dir(struct blob_store *s, const char *dir, enum blob_import_mode mode,
                            const struct blob_progress *progress, struct blob_collection_added *out,
                            struct blob_error *e);

/* A stored collection, loaded: its root and meta blob, and the names decoded from it. */
struct blob_collection;

/* Loads the collection whose root is hash: a complete blob of 32 × (n + 1) bytes whose first
 * hash names a complete meta blob that decodes with n names. Returns 0 and the collection (free
 * it with blob_collection_free), IROH_ENOTFOUND (no such blob), IROH_EINVAL (the blob is not a
 * collection, or its meta blob is not in the store: e.detail says which), IROH_ENOMEM, IROH_EIO
 * or IROH_ECORRUPT. */
int blob_collection_load(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                         struct blob_collection **out, struct blob_error *e);
void blob_collection_free(struct blob_collection *c);

struct blob_collection_exported {
    uint64_t files;
    uint64_t total_size;
};

/* Writes the collection under the absolute path dir (created if missing; its parent must
 * exist), each file as blob_store_export does (temp file, fsync, rename; mode 0666 & ~umask;
 * directories it creates get 0777 & ~umask). Nothing is written
 * unless every name is a safe relative path (core/collection.h: no "..", ".", empty
 * components or absolute names, no name twice, none both a file and a directory), every file's
 * blob is complete, and, without overwrite, no target file exists yet. Directories on the way
 * are created; an existing path component that is not a directory (a symlink included) is
 * refused, so nothing is written outside dir. With overwrite, existing files are replaced.
 * Returns 0, IROH_EINVAL (an unsafe name, a file in the way of a directory), IROH_EEXIST (a
 * target file exists), IROH_ENOTFOUND (a blob is missing or incomplete), IROH_EPERM,
 * IROH_EIO, IROH_ECORRUPT or IROH_ECLOSED. A failure after writing began leaves the files
 * written so far. */
int blob_collection_export(struct blob_store *s, const struct blob_collection *c, const char *dir,
                           bool overwrite, mode_t umask, const struct blob_progress *progress,
                           struct blob_collection_exported *out, struct blob_error *e);

#endif
