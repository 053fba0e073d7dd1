/* fuzz_id.c — EndpointId and secret key parsing. An id that parses must format to hex, base32
 * and z-base-32 and parse back from each to the same key; anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*format_fn)(const struct iroh_public_key *, char *, size_t);
typedef int (*parse_fn)(const char *, size_t, struct iroh_public_key *);

static void check_form(const struct iroh_public_key *pk, format_fn format, parse_fn parse)
{
    char text[IROH_KEY_HEX_LEN + 1];
    struct iroh_public_key back;
    int n = format(pk, text, sizeof text);
    if (n < 0 || parse(text, (size_t)n, &back) != IROH_OK) abort();
    if (memcmp(back.bytes, pk->bytes, IROH_KEY_LEN) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    if (!initialized) {
        if (iroh_keys_init() != IROH_OK) abort();
        initialized = 1;
    }
    const char *text = (const char *)data;
    struct iroh_public_key pk;
    if (iroh_public_key_parse(text, size, &pk) == IROH_OK) {
        check_form(&pk, iroh_public_key_format_hex, iroh_public_key_parse);
        check_form(&pk, iroh_public_key_format_base32, iroh_public_key_parse);
        check_form(&pk, iroh_public_key_format_z32, iroh_public_key_parse_z32);
    }
    if (iroh_public_key_parse_z32(text, size, &pk) == IROH_OK) {
        check_form(&pk, iroh_public_key_format_hex, iroh_public_key_parse);
    }
    struct iroh_secret_key sk;
    if (iroh_secret_key_parse(text, size, &sk) == IROH_OK) {
        iroh_secret_key_public(&sk, &pk);
        check_form(&pk, iroh_public_key_format_hex, iroh_public_key_parse);
    }
    return 0;
}
