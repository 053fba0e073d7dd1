/* fuzz_collection.c — collection decoding (core/collection.h). The input is a meta blob: it is
 * decoded alone to learn its names, then against the root made for it (its hash and one zero
 * hash per name); it must re-encode to a meta blob of the same names (no longer than the
 * input), and its names go through the export checks, whose accepted names must each pass
 * the single-name check. The input is also decoded as root ‖ meta split at its first byte,
 * and checked as one name. Anything inconsistent aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/blake3.h"
#include "core/collection.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NAMES 4096

static void check_meta(const uint8_t *meta, size_t len)
{
    size_t count = 0;
    const char *why = NULL;
    int rc = iroh_collection_meta_decode(meta, len, NULL, 0, &count, &why);
    if (rc == IROH_EINVAL && !why) abort();
    if (rc == 0 && count != 0) abort();
    if ((rc != 0 && rc != IROH_EBUFFER) || count > MAX_NAMES) return;

    size_t root_len = iroh_collection_root_size(count);
    uint8_t *root = calloc(1, root_len);
    struct iroh_collection_name *names = malloc(sizeof *names * (count + 1));
    uint8_t *again = malloc(len + 1);
    if (!root || !names || !again) abort();
    iroh_blake3_hash(meta, len, root);
    size_t got = 0;
    if (iroh_collection_decode(root, root_len, meta, len, names, count, &got, &why) != 0) abort();
    if (got != count) abort();

    size_t need = iroh_collection_meta_size(names, count), bad = 0;
    if (need > len) abort();
    if (iroh_collection_meta_encode(names, count, again, len + 1, &bad) != (int)need) abort();
    /* The same names again (byte-equal too unless the input used an over-long varint). */
    struct iroh_collection_name *back = malloc(sizeof *back * (count + 1));
    size_t back_count = 0;
    if (!back || iroh_collection_meta_decode(again, need, back, count, &back_count, &why) != 0 ||
        back_count != count)
        abort();
    for (size_t i = 0; i < count; i++)
        if (back[i].len != names[i].len || memcmp(back[i].data, names[i].data, back[i].len) != 0)
            abort();
    free(back);

    if (iroh_collection_names_check(names, count, &bad, &why) == 0) {
        for (size_t i = 0; i < count; i++)
            if (iroh_collection_name_check(names[i].data, names[i].len, &why) != 0) abort();
    } else if (!why || bad >= count) {
        abort();
    }
    free(root);
    free(names);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_meta(data, size);
    if (size > 0) {
        size_t root_len = data[0] < size - 1 ? data[0] : size - 1;
        struct iroh_collection_name names[8];
        size_t count = 0;
        const char *why = NULL;
        int rc = iroh_collection_decode(data + 1, root_len, data + 1 + root_len,
                                        size - 1 - root_len, names, 8, &count, &why);
        if (rc == IROH_EINVAL && !why) abort();
    }
    const char *why = NULL;
    if (iroh_collection_name_check((const char *)data, size, &why) != 0 && !why) abort();
    return 0;
}
