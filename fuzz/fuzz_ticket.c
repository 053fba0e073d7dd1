/* fuzz_ticket.c — endpoint ticket decoding. Every input is tried as a ticket string, and also
 * wrapped as "endpoint" + base32(input) so the fuzzer reaches the postcard layer directly.
 * A ticket that decodes must re-encode, decode again to an equal address and re-encode to the
 * same string; anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "core/keys.h"
#include "core/ticket.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const char *ticket, size_t len)
{
    struct iroh_endpoint_addr addr, again;
    if (iroh_endpoint_ticket_decode(ticket, len, &addr) != IROH_OK) return;
    char text[IROH_ENDPOINT_TICKET_MAX_LEN + 1], text_again[IROH_ENDPOINT_TICKET_MAX_LEN + 1];
    int n = iroh_endpoint_ticket_encode(&addr, text, sizeof text);
    if (n < 0) abort();
    if (iroh_endpoint_ticket_decode(text, (size_t)n, &again) != IROH_OK) abort();
    if (!iroh_endpoint_addr_equal(&addr, &again)) abort();
    int n_again = iroh_endpoint_ticket_encode(&again, text_again, sizeof text_again);
    if (n_again != n || memcmp(text, text_again, (size_t)n) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    if (!initialized) {
        if (iroh_keys_init() != IROH_OK) abort();
        initialized = 1;
    }
    check_round_trip((const char *)data, size);

    char wrapped[IROH_ENDPOINT_TICKET_MAX_LEN + 1];
    memcpy(wrapped, "endpoint", 8);
    int n = iroh_base32_encode(data, size, wrapped + 8, sizeof wrapped - 8);
    if (n >= 0) check_round_trip(wrapped, 8 + (size_t)n);
    return 0;
}
