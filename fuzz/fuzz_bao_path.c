/* fuzz_bao_path.c — one kept bao path (iroh_bao_verify_group_cv_path, as the store checks the
 * groups and pairs of a download or Push batch with it) driven by a sequence of operations.
 *
 * Byte 0 picks the mode. Mode 0 (byte 0 even): six real blobs of 1 to 100 groups; the rest
 * is operations of 3 bytes: check a group (its true CV, one bit off, or another blob's), flip
 * or restore an outboard byte, switch blob, claim one group more or less, or another root.
 * Aborts if a group passes with anything but its true CV, or if a verdict differs from a
 * check from scratch while the outboard is intact. Mode 1: any size (8 bytes, up to 2^64 − 1,
 * the deepest trees), a root (32 bytes), then the outboard is the input's remaining bytes and
 * group indexes come from it too: every verdict must equal a check from scratch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bao.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NBLOBS 6
static const uint64_t SIZES[NBLOBS] = {1000,          16385,          3 * 16384,
                                       5 * 16384 - 1, 64 * 16384 + 1, 99 * 16384 + 7};
static uint8_t *ob[NBLOBS], *ob_orig[NBLOBS], root[NBLOBS][32], (*cvs[NBLOBS])[32];
static uint64_t groups[NBLOBS], ob_size[NBLOBS];

static void init(void)
{
    uint8_t *d = malloc(SIZES[NBLOBS - 1]);
    for (int b = 0; b < NBLOBS; b++) {
        for (uint64_t i = 0; i < SIZES[b]; i++)
            d[i] = (uint8_t)((i + (uint64_t)b) % 251);
        groups[b] = iroh_bao_groups(SIZES[b]);
        ob_size[b] = iroh_bao_outboard_size(SIZES[b]);
        ob[b] = malloc(ob_size[b] + 1);
        ob_orig[b] = malloc(ob_size[b] + 1);
        iroh_bao_outboard_compute(d, SIZES[b], 1, ob[b], root[b]);
        memcpy(ob_orig[b], ob[b], ob_size[b]);
        cvs[b] = malloc(groups[b] * 32);
        for (uint64_t g = 0; g < groups[b]; g++)
            iroh_bao_group_cv(SIZES[b], g, d + g * 16384, iroh_bao_group_len(SIZES[b], g), 1,
                              cvs[b][g]);
    }
    free(d);
}

static void real_blobs(const uint8_t *in, size_t len)
{
    struct iroh_bao_path path;
    iroh_bao_path_init(&path);
    int b = 0, dsize = 0;
    bool other_root = false;
    for (size_t i = 0; i + 3 <= len; i += 3) {
        uint8_t op = in[i];
        unsigned arg = in[i + 1] | (unsigned)in[i + 2] << 8;
        switch (op % 6) {
        case 0: /* flip an outboard byte (again: back) */
            if (ob_size[b]) ob[b][arg % ob_size[b]] ^= (uint8_t)(1u << (op >> 5));
            continue;
        case 1: b = (int)(arg % NBLOBS); continue;
        case 2: dsize = (int)(arg % 3) - 1; continue;
        case 3: other_root = !other_root; continue;
        default: break;
        }
        uint64_t size = SIZES[b];
        if (dsize > 0) size += 16384;
        if (dsize < 0 && size > 16384) size -= 16384;
        uint64_t g = arg % (iroh_bao_groups(size) + 2);
        uint8_t cv[32], claimed_root[32];
        memset(cv, 0x5a, 32);
        if (g < groups[b]) memcpy(cv, cvs[b][g], 32);
        int other = (b + 1 + (op >> 6)) % NBLOBS;
        if (op & 0x10 && g < groups[other]) memcpy(cv, cvs[other][g], 32);
        if (op & 0x08) cv[(op >> 3) % 32] ^= 0x01;
        memcpy(claimed_root, root[b], 32);
        if (other_root) claimed_root[arg % 32] ^= 0x06; /* two bits: never a CV one bit off */
        struct iroh_bao_buffer buf = {ob[b], ob_size[b]};
        int rc = iroh_bao_verify_group_cv_path(claimed_root, size, iroh_bao_read_buffer, &buf, g,
                                               cv, &path);
        if (rc == 0 && (other_root || g >= groups[b] || memcmp(cv, cvs[b][g], 32) != 0)) abort();
        if (memcmp(ob[b], ob_orig[b], ob_size[b]) == 0 &&
            rc != iroh_bao_verify_group_cv(claimed_root, size, iroh_bao_read_buffer, &buf, g, cv))
            abort();
    }
    for (int k = 0; k < NBLOBS; k++)
        memcpy(ob[k], ob_orig[k], ob_size[k]);
}

static void any_size(const uint8_t *in, size_t len)
{
    if (len < 40) return;
    uint64_t size = 0;
    for (int i = 0; i < 8; i++)
        size |= (uint64_t)in[i] << (8 * i);
    const uint8_t *claimed_root = in + 8;
    /* The outboard is the rest; group indexes are read from it as well (8 bytes each). */
    struct iroh_bao_buffer buf = {in + 40, len - 40};
    struct iroh_bao_path path;
    iroh_bao_path_init(&path);
    uint64_t n = iroh_bao_groups(size);
    for (size_t at = 40; at + 40 <= len; at += 8) {
        uint64_t g = 0;
        for (int i = 0; i < 8; i++)
            g |= (uint64_t)in[at + i] << (8 * i);
        if (in[at] & 1) g %= n; /* mostly inside the blob, sometimes anything */
        const uint8_t *cv = in + at + 8;
        int rc = iroh_bao_verify_group_cv_path(claimed_root, size, iroh_bao_read_buffer, &buf, g,
                                               cv, &path);
        if (rc != iroh_bao_verify_group_cv(claimed_root, size, iroh_bao_read_buffer, &buf, g, cv))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    if (!initialized) {
        init();
        initialized = 1;
    }
    if (size < 1) return 0;
    if (data[0] % 2 == 0)
        real_blobs(data + 1, size - 1);
    else
        any_size(data + 1, size - 1);
    return 0;
}
