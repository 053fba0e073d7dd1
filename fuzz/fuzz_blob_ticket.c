/* fuzz_blob_ticket.c — blob ticket decoding. Inputs are tried as fuzz/ticket_input.h says. A
 * ticket that decodes must re-encode, decode again to the same provider, format and hash, and
 * re-encode to the same string; anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "fuzz/ticket_input.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const char *text, size_t len)
{
    struct iroh_blob_ticket t, again;
    if (iroh_blob_ticket_decode(text, len, &t) != IROH_OK) return;
    if (t.addr.relay_count > 1 || t.format > IROH_BLOB_TICKET_HASH_SEQ) abort();
    char out[IROH_BLOB_TICKET_MAX_LEN + 1], out_again[IROH_BLOB_TICKET_MAX_LEN + 1];
    int n = iroh_blob_ticket_encode(&t, out, sizeof out);
    if (n < 0) abort();
    if (iroh_blob_ticket_decode(out, (size_t)n, &again) != IROH_OK) abort();
    if (!iroh_endpoint_addr_equal(&t.addr, &again.addr) || t.format != again.format ||
        memcmp(t.hash, again.hash, sizeof t.hash) != 0)
        abort();
    int n_again = iroh_blob_ticket_encode(&again, out_again, sizeof out_again);
    if (n_again != n || memcmp(out, out_again, (size_t)n) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ticket_input("blob", IROH_BLOB_TICKET_MAX_LEN, data, size, check_round_trip);
    return 0;
}
