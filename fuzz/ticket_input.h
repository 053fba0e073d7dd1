/* ticket_input.h — the input loop shared by the ticket fuzz targets (fuzz_ticket.c,
 * fuzz_blob_ticket.c): every input is tried as a ticket string, and also wrapped as
 * kind + base32(input) (when that fits in max_len characters) so the fuzzer reaches the
 * postcard layer directly. check decodes one candidate and aborts on any inconsistency. */
#ifndef IROH_FUZZ_TICKET_INPUT_H
#define IROH_FUZZ_TICKET_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "core/keys.h"
#include "core/ticket.h"
#include "iroh/error.h"

static inline void fuzz_ticket_input(const char *kind, size_t max_len, const uint8_t *data,
                                     size_t size, void (*check)(const char *text, size_t len))
{
    static int initialized;
    if (!initialized) {
        if (iroh_keys_init() != IROH_OK) abort();
        initialized = 1;
    }
    check((const char *)data, size);

    char wrapped[IROH_ENDPOINT_TICKET_MAX_LEN + 1];
    size_t kind_len = strlen(kind);
    if (max_len + 1 > sizeof wrapped) abort();
    memcpy(wrapped, kind, kind_len);
    int n = iroh_base32_encode(data, size, wrapped + kind_len, max_len + 1 - kind_len);
    if (n >= 0) check(wrapped, kind_len + (size_t)n);
}

#endif
