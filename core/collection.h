/* core/collection.h — iroh-blobs collections (spec/blobs.md §9.3): a directory of named blobs
 * stored as two blobs, the meta blob (postcard CollectionMeta { header "CollectionV0.",
 * names: Vec<String> }) and the root, a HashSeq blob hash(meta) ‖ hash(child 0) ‖ … whose
 * hash is the collection's. Also the checks that make a collection safe to write under a
 * directory (names are relative paths with '/', as iroh's CLI makes them).
 *
 * I/O-free: encoders and decoders over caller buffers, nothing allocated. Names are views
 * (pointer and length, not NUL-terminated) into the caller's strings or, once decoded, into
 * the meta bytes, which must outlive them. Called by the blobs service (a directory added as
 * a collection, a collection exported to a directory) and fuzz/fuzz_collection.c. Errors are
 * IROH_E* codes; functions that can say why a name is refused set *why to a static sentence. */
#ifndef IROH_CORE_COLLECTION_H
#define IROH_CORE_COLLECTION_H

#include <stddef.h>
#include <stdint.h>

#define IROH_COLLECTION_HEADER "CollectionV0."
#define IROH_COLLECTION_HEADER_LEN 13
#define IROH_COLLECTION_HASH_LEN 32

struct iroh_collection_name {
    const char *data; /* UTF-8, not NUL-terminated */
    size_t len;
};

/* Bytes of the meta blob of these names (the header, varint(count), varint(len) ‖ bytes each). */
size_t iroh_collection_meta_size(const struct iroh_collection_name *names, size_t count);

/* Writes the meta blob of names[0..count) into buf (capacity cap). Returns its length,
 * IROH_EINVAL if a name is not UTF-8 (*bad = its index), IROH_EBUFFER or IROH_ETOOBIG (over
 * INT_MAX bytes). */
int iroh_collection_meta_encode(const struct iroh_collection_name *names, size_t count,
                                uint8_t *buf, size_t cap, size_t *bad);

/* Bytes of the root of a collection of count names: 32 × (count + 1). */
size_t iroh_collection_root_size(size_t count);

/* Writes the root: meta_hash, then the count 32-byte hashes of children (child i at
 * children + 32 i), into root (iroh_collection_root_size(count) bytes). */
void iroh_collection_root_encode(const uint8_t meta_hash[IROH_COLLECTION_HASH_LEN],
                                 const uint8_t *children, size_t count, uint8_t *root);

/* Decodes a meta blob: it must start with the header and hold a valid names list (trailing
 * bytes after it are ignored, as postcard does). Sets *count to the number of names and, if
 * cap >= *count, fills names[0..count) with views into meta (names may be NULL when cap is 0).
 * Returns 0, IROH_EBUFFER (cap too small; *count is set: call again), or IROH_EINVAL with *why
 * (not a collection's meta blob). */
int iroh_collection_meta_decode(const uint8_t *meta, size_t meta_len,
                                struct iroh_collection_name *names, size_t cap, size_t *count,
                                const char **why);

/* Decodes a collection from its root and meta blob, as iroh loads one: the meta blob as
 * iroh_collection_meta_decode says, the root 32 × (names + 1) bytes and its first hash the
 * BLAKE3 hash of meta. Child i's hash is then root + 32 (i + 1). The names fit when cap is
 * root_len / 32 - 1. Returns as iroh_collection_meta_decode. */
int iroh_collection_decode(const uint8_t *root, size_t root_len, const uint8_t *meta,
                           size_t meta_len, struct iroh_collection_name *names, size_t cap,
                           size_t *count, const char **why);

/* Whether name is a safe relative path to create under a directory: not empty, UTF-8 without
 * NUL bytes, not absolute, and no component that is empty, "." or "..". Returns 0 or
 * IROH_EINVAL with *why. */
int iroh_collection_name_check(const char *name, size_t len, const char **why);

/* Checks a whole set of names for writing under one directory: each passes
 * iroh_collection_name_check, none appears twice, and none is both a file and the directory
 * of another ("a" and "a/b"). Sorts names in place (by component: "a/b" before "a.b") — pass
 * a copy when the order matters. Returns 0, or IROH_EINVAL with *why and *bad the index (in
 * the sorted array) of the offending name. */
int iroh_collection_names_check(struct iroh_collection_name *names, size_t count, size_t *bad,
                                const char **why);

#endif
