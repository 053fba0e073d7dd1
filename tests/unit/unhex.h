/* unhex.h — the hex literals of test vectors as bytes, for the unit tests that check wire
 * forms (include it after tests/test.h). Spaces between byte pairs are skipped ("09 02 ff"),
 * either case is accepted; anything else, or more bytes than cap, fails a CHECK and ends the
 * decoding there. Returns the number of bytes written to out. */
#ifndef IROH_TESTS_UNHEX_H
#define IROH_TESTS_UNHEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/encoding.h"

static inline size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        int got = iroh_hex_decode(p, 2, out + n, cap - n, IROH_HEX_ANY_CASE);
        CHECK(got == 1);
        if (got != 1) break;
        n++;
        p += 2;
    }
    return n;
}

#endif
