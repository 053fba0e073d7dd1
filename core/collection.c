/* core/collection.c — collection meta and root codecs and name checks; see collection.h. */
#include "core/collection.h"

#include <iroh/error.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/blake3.h"
#include "core/postcard.h"

size_t iroh_collection_meta_size(const struct iroh_collection_name *names, size_t count)
{
    size_t size = IROH_COLLECTION_HEADER_LEN + iroh_postcard_varint_len(count);
    for (size_t i = 0; i < count; i++)
        size += iroh_postcard_varint_len(names[i].len) + names[i].len;
    return size;
}

int iroh_collection_meta_encode(const struct iroh_collection_name *names, size_t count,
                                uint8_t *buf, size_t cap, size_t *bad)
{
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, buf, cap);
    iroh_postcard_put_raw(&w, IROH_COLLECTION_HEADER, IROH_COLLECTION_HEADER_LEN);
    iroh_postcard_put_varint(&w, count);
    for (size_t i = 0; i < count; i++) {
        if (!iroh_postcard_utf8_valid(names[i].data, names[i].len)) {
            *bad = i;
            return IROH_EINVAL;
        }
        iroh_postcard_put_bytes(&w, names[i].data, names[i].len);
    }
    return iroh_postcard_writer_finish(&w);
}

size_t iroh_collection_root_size(size_t count)
{
    return IROH_COLLECTION_HASH_LEN * (count + 1);
}

void iroh_collection_root_encode(const uint8_t meta_hash[IROH_COLLECTION_HASH_LEN],
                                 const uint8_t *children, size_t count, uint8_t *root)
{
    memcpy(root, meta_hash, IROH_COLLECTION_HASH_LEN);
    if (count > 0)
        memcpy(root + IROH_COLLECTION_HASH_LEN, children, IROH_COLLECTION_HASH_LEN * count);
}

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return IROH_EINVAL;
}

int iroh_collection_meta_decode(const uint8_t *meta, size_t meta_len,
                                struct iroh_collection_name *names, size_t cap, size_t *count,
                                const char **why)
{
    struct iroh_postcard_reader r;
    iroh_postcard_reader_init(&r, meta, meta_len);
    uint8_t header[IROH_COLLECTION_HEADER_LEN];
    if (iroh_postcard_get_raw(&r, header, sizeof header) < 0 ||
        memcmp(header, IROH_COLLECTION_HEADER, sizeof header) != 0)
        return refuse(why, "the meta blob does not start with \"" IROH_COLLECTION_HEADER "\"");
    uint64_t n;
    /* Every name takes at least its length byte, so a count over the bytes left is a lie. */
    if (iroh_postcard_get_u64(&r, &n) < 0 || n > iroh_postcard_remaining(&r))
        return refuse(why, "the meta blob's names list is malformed");
    bool store = n <= cap;
    for (uint64_t i = 0; i < n; i++) {
        const char *name;
        size_t len;
        if (iroh_postcard_get_str(&r, &name, &len) < 0)
            return refuse(why, "a name in the meta blob is truncated or not UTF-8");
        if (store) names[i] = (struct iroh_collection_name){name, len};
    }
    *count = (size_t)n;
    return store ? 0 : IROH_EBUFFER;
}

int iroh_collection_decode(const uint8_t *root, size_t root_len, const uint8_t *meta,
                           size_t meta_len, struct iroh_collection_name *names, size_t cap,
                           size_t *count, const char **why)
{
    size_t n;
    int rc = iroh_collection_meta_decode(meta, meta_len, names, cap, &n, why);
    if (rc == IROH_EINVAL) return rc;
    if (root_len % IROH_COLLECTION_HASH_LEN != 0 || root_len / IROH_COLLECTION_HASH_LEN != n + 1)
        return refuse(why, "the root does not hold one hash per name plus the meta blob's");
    uint8_t meta_hash[IROH_BLAKE3_OUT_LEN];
    iroh_blake3_hash(meta, meta_len, meta_hash);
    if (memcmp(meta_hash, root, IROH_COLLECTION_HASH_LEN) != 0)
        return refuse(why, "the root's first hash is not the meta blob's");
    *count = n;
    return rc;
}

int iroh_collection_name_check(const char *name, size_t len, const char **why)
{
    if (len == 0) return refuse(why, "the name is empty");
    if (memchr(name, 0, len)) return refuse(why, "the name contains a NUL byte");
    if (!iroh_postcard_utf8_valid(name, len)) return refuse(why, "the name is not UTF-8");
    if (name[0] == '/') return refuse(why, "the name is an absolute path");
    for (size_t start = 0; start <= len;) {
        const char *slash = memchr(name + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - name) : len;
        size_t n = end - start;
        if (n == 0) return refuse(why, "the name has an empty component ('//' or a final '/')");
        if (n == 1 && name[start] == '.') return refuse(why, "the name has a '.' component");
        if (n == 2 && name[start] == '.' && name[start + 1] == '.')
            return refuse(why, "the name has a '..' component (it would leave the directory)");
        start = end + 1;
    }
    return 0;
}

/* Orders names component by component: '/' sorts before every other byte (names hold no
 * NUL), so the names under "a/" directly follow "a" and precede "a.b". */
static int compare_paths(const void *pa, const void *pb)
{
    const struct iroh_collection_name *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned ca = a->data[i] == '/' ? 0 : (unsigned char)a->data[i];
        unsigned cb = b->data[i] == '/' ? 0 : (unsigned char)b->data[i];
        if (ca != cb) return ca < cb ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len;
}

int iroh_collection_names_check(struct iroh_collection_name *names, size_t count, size_t *bad,
                                const char **why)
{
    if (count > 1) qsort(names, count, sizeof *names, compare_paths);
    for (size_t i = 0; i < count; i++) {
        const struct iroh_collection_name *a = &names[i], *b = &names[i + 1];
        *bad = i;
        if (iroh_collection_name_check(a->data, a->len, why) < 0) return IROH_EINVAL;
        if (i + 1 == count) break;
        if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0)
            return refuse(why, "the name appears twice");
        if (b->len > a->len && memcmp(a->data, b->data, a->len) == 0 && b->data[a->len] == '/')
            return refuse(why, "the name is a file and also a directory of other names");
    }
    return 0;
}
