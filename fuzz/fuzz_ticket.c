/* fuzz_ticket.c — endpoint ticket decoding. Inputs are tried as fuzz/ticket_input.h says.
 * A ticket that decodes must re-encode, decode again to an equal address and re-encode to the
 * same string; anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "fuzz/ticket_input.h"
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
    fuzz_ticket_input("endpoint", IROH_ENDPOINT_TICKET_MAX_LEN, data, size, check_round_trip);
    return 0;
}
