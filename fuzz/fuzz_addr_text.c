/* fuzz_addr_text.c — the text parsers of ticket.h. A relay URL that canonicalises must
 * canonicalise to itself again; a socket address that parses must format and parse back to
 * the same address; anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ticket.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char url[IROH_RELAY_URL_MAX + 1], url_again[IROH_RELAY_URL_MAX + 1];
    int n = iroh_relay_url_canonicalize(text, size, url, sizeof url);
    if (n >= 0) {
        int n_again = iroh_relay_url_canonicalize(url, (size_t)n, url_again, sizeof url_again);
        if (n_again != n || memcmp(url, url_again, (size_t)n) != 0) abort();
    }

    struct iroh_socket_addr addr, back;
    if (iroh_socket_addr_parse(text, size, &addr) == IROH_OK) {
        char formatted[IROH_SOCKET_ADDR_TEXT_MAX + 1];
        int len = iroh_socket_addr_format(&addr, formatted, sizeof formatted);
        if (len < 0 || iroh_socket_addr_parse(formatted, (size_t)len, &back) != IROH_OK) abort();
        if (iroh_socket_addr_compare(&addr, &back) != 0) abort();
    }
    return 0;
}
