/* fuzz_frame.c — the ipc_reader line framing (ipc/frame.c). The first byte picks a small
 * max_line, the next four seed the chunk sizes; the rest is the byte stream, fed in those
 * chunks. Aborts unless: the lines returned are exactly the stream's newline-separated
 * segments, in order, each NUL-terminated at its length; IROH_ETOOBIG comes exactly when a
 * segment (complete or still arriving) is longer than max_line, whatever the chunking; the
 * buffer stays within one maximal message plus its newline plus one read; and the lines,
 * queued in an ipc_writer, give back the consumed stream byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iroh/error.h"
#include "ipc/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define READ_CHUNK (64u * 1024) /* frame.c's growth step */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    size_t max_line =
        (data[0] & 0x80) ? 1 + (size_t)(data[0] & 0x7f) * 37 : 1 + (size_t)data[0] % 64;
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    seed |= 1;
    const char *in = (const char *)data + 5;
    size_t len = size - 5;

    /* What the reader must produce, computed without it: the complete segments before the
     * first oversized one, then IROH_ETOOBIG if a segment (or the unterminated tail) is too
     * long. */
    size_t expect_lines = 0, expect_consumed = 0;
    int expect_toobig = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(in + at, '\n', len - at);
        size_t seg = nl ? (size_t)(nl - (in + at)) : len - at;
        if (seg > max_line) {
            expect_toobig = 1;
            break;
        }
        if (!nl) break;
        expect_lines++;
        at += seg + 1;
        expect_consumed = at;
    }

    struct ipc_reader r;
    struct ipc_writer w;
    ipc_reader_init(&r, max_line);
    ipc_writer_init(&w, len + 1);
    size_t off = 0, lines = 0, consumed = 0;
    int toobig = 0;
    while (off < len && !toobig) {
        char *space;
        size_t avail;
        if (ipc_reader_space(&r, &space, &avail) < 0) abort();
        if (avail == 0) abort();
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        size_t n = 1 + seed % ((seed >> 24) & 1 ? 7 : 300);
        if (n > len - off) n = len - off;
        if (n > avail) n = avail;
        memcpy(space, in + off, n);
        ipc_reader_commit(&r, n);
        off += n;
        if (r.cap > max_line + 1 + READ_CHUNK) abort();
        for (;;) {
            char *line;
            size_t llen;
            int rc = ipc_reader_next(&r, &line, &llen);
            if (rc == IROH_ETOOBIG) {
                toobig = 1;
                break;
            }
            if (rc == 0) break;
            if (rc != 1) abort();
            if (llen > max_line || line[llen] != '\0') abort();
            if (memchr(line, '\n', llen)) abort();
            /* The line is the next segment of the stream. */
            if (consumed + llen >= len || memcmp(line, in + consumed, llen) != 0 ||
                in[consumed + llen] != '\n')
                abort();
            consumed += llen + 1;
            lines++;
            if (ipc_writer_append(&w, line, llen, NULL, 0) != 0) abort();
        }
    }
    if (toobig != expect_toobig) abort();
    if (lines != expect_lines || consumed != expect_consumed) abort();
    if (ipc_writer_pending(&w) != consumed) abort();
    if (consumed && memcmp(w.buf + w.off, in, consumed) != 0) abort();
    ipc_writer_free(&w);
    ipc_reader_free(&r);
    return 0;
}
