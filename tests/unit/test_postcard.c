/* test_postcard.c — the postcard writer and reader: varint forms (spec/endpoint.md §2.2),
 * range and length limits, bools, byte strings, UTF-8 and buffer bounds. */
#include <stdint.h>
#include <string.h>

#include "core/postcard.h"
#include "iroh/error.h"
#include "tests/test.h"

static const struct {
    uint64_t value;
    size_t len;
    uint8_t bytes[10];
} VARINTS[] = {
    {0, 1, {0x00}},
    {127, 1, {0x7f}},
    {128, 2, {0x80, 0x01}},
    {443, 2, {0xbb, 0x03}},
    {1024, 2, {0x80, 0x08}},
    {11204, 2, {0xc4, 0x57}},
    {65535, 3, {0xff, 0xff, 0x03}},
    {65536, 3, {0x80, 0x80, 0x04}},
    {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
    {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
};

static void test_varint_vectors(void)
{
    for (size_t i = 0; i < sizeof VARINTS / sizeof VARINTS[0]; i++) {
        uint8_t buf[16];
        struct iroh_postcard_writer w;
        iroh_postcard_writer_init(&w, buf, sizeof buf);
        CHECK_EQ_INT(iroh_postcard_put_varint(&w, VARINTS[i].value), IROH_OK);
        CHECK_EQ_INT(iroh_postcard_writer_finish(&w), VARINTS[i].len);
        CHECK_EQ_MEM(buf, VARINTS[i].bytes, VARINTS[i].len);
        CHECK_EQ_INT(iroh_postcard_varint_len(VARINTS[i].value), VARINTS[i].len);

        struct iroh_postcard_reader r;
        uint64_t value64;
        iroh_postcard_reader_init(&r, VARINTS[i].bytes, VARINTS[i].len);
        CHECK_EQ_INT(iroh_postcard_get_u64(&r, &value64), IROH_OK);
        CHECK(value64 == VARINTS[i].value);
        CHECK_EQ_INT(iroh_postcard_remaining(&r), 0);

        uint32_t value32;
        iroh_postcard_reader_init(&r, VARINTS[i].bytes, VARINTS[i].len);
        CHECK_EQ_INT(iroh_postcard_get_u32(&r, &value32),
                     VARINTS[i].value <= UINT32_MAX ? IROH_OK : IROH_EINVAL);
        if (VARINTS[i].value <= UINT32_MAX) CHECK(value32 == VARINTS[i].value);

        uint16_t value16;
        iroh_postcard_reader_init(&r, VARINTS[i].bytes, VARINTS[i].len);
        CHECK_EQ_INT(iroh_postcard_get_u16(&r, &value16),
                     VARINTS[i].value <= UINT16_MAX ? IROH_OK : IROH_EINVAL);
        if (VARINTS[i].value <= UINT16_MAX) CHECK(value16 == VARINTS[i].value);
    }
}

/* Reads a u16, u32 or u64 (bits) from bytes; returns the result code and checks that a failed
 * read leaves the position unchanged. */
static int read_varint(int bits, const uint8_t *bytes, size_t len, uint64_t *value)
{
    struct iroh_postcard_reader r;
    iroh_postcard_reader_init(&r, bytes, len);
    int err;
    if (bits == 16) {
        uint16_t v = 0;
        err = iroh_postcard_get_u16(&r, &v);
        *value = v;
    } else if (bits == 32) {
        uint32_t v = 0;
        err = iroh_postcard_get_u32(&r, &v);
        *value = v;
    } else {
        err = iroh_postcard_get_u64(&r, value);
    }
    if (err < 0) CHECK_EQ_INT(r.pos, 0);
    return err;
}

static void test_varint_rejects(void)
{
    uint64_t v;
    /* u16: value above 65535 in the third byte, no end within 3 bytes, truncated */
    CHECK_EQ_INT(read_varint(16, (const uint8_t[]){0xff, 0xff, 0x04}, 3, &v), IROH_EINVAL);
    CHECK_EQ_INT(read_varint(16, (const uint8_t[]){0x80, 0x80, 0x80, 0x00}, 4, &v), IROH_EINVAL);
    CHECK_EQ_INT(read_varint(16, (const uint8_t[]){0x80}, 1, &v), IROH_EINVAL);
    CHECK_EQ_INT(read_varint(16, (const uint8_t[]){0}, 0, &v), IROH_EINVAL);
    /* u32: 2^32 and an over-long 6-byte form */
    CHECK_EQ_INT(read_varint(32, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x10}, 5, &v),
                 IROH_EINVAL);
    CHECK_EQ_INT(read_varint(32, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 6, &v),
                 IROH_EINVAL);
    /* u64: 2^64 and an over-long 11-byte form */
    const uint8_t too_big[10] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    CHECK_EQ_INT(read_varint(64, too_big, sizeof too_big, &v), IROH_EINVAL);
    const uint8_t too_long[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    CHECK_EQ_INT(read_varint(64, too_long, sizeof too_long, &v), IROH_EINVAL);
}

static void test_varint_redundant_zero_groups_accepted(void)
{
    /* postcard accepts non-shortest forms within the maximum length (checked against iroh:
     * a ticket port of 80 00 decodes as 0, ff 80 00 as 127). */
    uint64_t v;
    CHECK_EQ_INT(read_varint(16, (const uint8_t[]){0x80, 0x00}, 2, &v), IROH_OK);
    CHECK(v == 0);
    CHECK_EQ_INT(read_varint(16, (const uint8_t[]){0xff, 0x80, 0x00}, 3, &v), IROH_OK);
    CHECK(v == 127);
    CHECK_EQ_INT(read_varint(32, (const uint8_t[]){0x81, 0x80, 0x80, 0x80, 0x00}, 5, &v), IROH_OK);
    CHECK(v == 1);
}

static void test_u8_bool_raw(void)
{
    uint8_t buf[8];
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    iroh_postcard_put_u8(&w, 0xab);
    iroh_postcard_put_bool(&w, true);
    iroh_postcard_put_bool(&w, false);
    iroh_postcard_put_raw(&w, "xyz", 3);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), 6);
    CHECK_EQ_MEM(buf, "\xab\x01\x00xyz", 6);

    struct iroh_postcard_reader r;
    uint8_t byte;
    bool flag;
    char raw[3];
    iroh_postcard_reader_init(&r, buf, 6);
    CHECK_EQ_INT(iroh_postcard_get_u8(&r, &byte), IROH_OK);
    CHECK_EQ_INT(byte, 0xab);
    CHECK_EQ_INT(iroh_postcard_get_bool(&r, &flag), IROH_OK);
    CHECK(flag);
    CHECK_EQ_INT(iroh_postcard_get_bool(&r, &flag), IROH_OK);
    CHECK(!flag);
    CHECK_EQ_INT(iroh_postcard_get_raw(&r, raw, 4), IROH_EINVAL);
    CHECK_EQ_INT(iroh_postcard_get_raw(&r, raw, 3), IROH_OK);
    CHECK_EQ_MEM(raw, "xyz", 3);
    CHECK_EQ_INT(iroh_postcard_get_u8(&r, &byte), IROH_EINVAL);
    CHECK_EQ_INT(iroh_postcard_get_bool(&r, &flag), IROH_EINVAL);

    iroh_postcard_reader_init(&r, (const uint8_t[]){0x02}, 1);
    CHECK_EQ_INT(iroh_postcard_get_bool(&r, &flag), IROH_EINVAL);
    CHECK_EQ_INT(r.pos, 0);
}

static void test_bytes_and_strings(void)
{
    uint8_t buf[200];
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    iroh_postcard_put_bytes(&w, "abc", 3);
    iroh_postcard_put_bytes(&w, NULL, 0);
    uint8_t long_string[130];
    memset(long_string, 'x', sizeof long_string);
    iroh_postcard_put_bytes(&w, long_string, sizeof long_string);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), 4 + 1 + 2 + 130);
    CHECK_EQ_MEM(buf,
                 "\x03"
                 "abc\x00\x82\x01xx",
                 9);

    struct iroh_postcard_reader r;
    const uint8_t *bytes;
    const char *text;
    size_t len;
    iroh_postcard_reader_init(&r, buf, (size_t)w.len);
    CHECK_EQ_INT(iroh_postcard_get_str(&r, &text, &len), IROH_OK);
    CHECK(len == 3 && memcmp(text, "abc", 3) == 0);
    CHECK_EQ_INT(iroh_postcard_get_bytes(&r, &bytes, &len), IROH_OK);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(iroh_postcard_get_bytes(&r, &bytes, &len), IROH_OK);
    CHECK(len == 130 && bytes == buf + 7);
    CHECK_EQ_INT(iroh_postcard_remaining(&r), 0);

    /* a length longer than the rest of the input */
    iroh_postcard_reader_init(&r,
                              "\x04"
                              "abc",
                              4);
    CHECK_EQ_INT(iroh_postcard_get_bytes(&r, &bytes, &len), IROH_EINVAL);
    CHECK_EQ_INT(r.pos, 0);
    /* a length that does not fit in usize (2^64) */
    const uint8_t huge[10] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    iroh_postcard_reader_init(&r, huge, sizeof huge);
    CHECK_EQ_INT(iroh_postcard_get_bytes(&r, &bytes, &len), IROH_EINVAL);
}

/* Whether a postcard string with the given content bytes is accepted by get_str. */
static bool str_accepted(const char *content, size_t len)
{
    uint8_t buf[16];
    buf[0] = (uint8_t)len;
    memcpy(buf + 1, content, len);
    struct iroh_postcard_reader r;
    const char *text;
    size_t text_len;
    iroh_postcard_reader_init(&r, buf, len + 1);
    int err = iroh_postcard_get_str(&r, &text, &text_len);
    if (err < 0) CHECK_EQ_INT(r.pos, 0);
    return err == IROH_OK;
}

static void test_utf8_validation(void)
{
    CHECK(str_accepted("h\xc3\xa9llo", 6));      /* é */
    CHECK(str_accepted("\xe2\x82\xac", 3));      /* € */
    CHECK(str_accepted("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    CHECK(str_accepted("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    CHECK(str_accepted("\xed\x9f\xbf", 3));      /* U+D7FF */
    CHECK(str_accepted("a\0b", 3));              /* NUL is valid UTF-8 */
    CHECK(!str_accepted("\xc0\x80", 2));         /* overlong NUL */
    CHECK(!str_accepted("\xc1\xbf", 2));         /* overlong */
    CHECK(!str_accepted("\xe0\x9f\xbf", 3));     /* overlong 3-byte */
    CHECK(!str_accepted("\xf0\x8f\xbf\xbf", 4)); /* overlong 4-byte */
    CHECK(!str_accepted("\xed\xa0\x80", 3));     /* surrogate U+D800 */
    CHECK(!str_accepted("\xf4\x90\x80\x80", 4)); /* U+110000 */
    CHECK(!str_accepted("\xf5\x80\x80\x80", 4)); /* invalid lead */
    CHECK(!str_accepted("\xe2\x82", 2));         /* truncated */
    CHECK(!str_accepted("\x80", 1));             /* lone continuation */
    CHECK(!str_accepted("\xc3\x28", 2));         /* bad continuation */
    CHECK(!str_accepted("\xff", 1));
}

static void test_writer_overflow(void)
{
    uint8_t buf[4];
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, buf, 3);
    CHECK_EQ_INT(iroh_postcard_put_varint(&w, 65535), IROH_OK);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), 3);
    CHECK_EQ_INT(iroh_postcard_put_u8(&w, 1), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), IROH_EBUFFER);
    CHECK_EQ_INT(w.len, 3);

    /* put_bytes writes nothing when only its length prefix would fit */
    iroh_postcard_writer_init(&w, buf, 3);
    CHECK_EQ_INT(iroh_postcard_put_bytes(&w, "abc", 3), IROH_EBUFFER);
    CHECK_EQ_INT(w.len, 0);
    /* the overflow is sticky, even for an item that would fit */
    CHECK_EQ_INT(iroh_postcard_put_u8(&w, 1), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), IROH_EBUFFER);

    iroh_postcard_writer_init(&w, NULL, 0);
    CHECK_EQ_INT(iroh_postcard_put_raw(&w, NULL, 0), IROH_OK);
    CHECK_EQ_INT(iroh_postcard_put_varint(&w, 0), IROH_EBUFFER);
}

int main(void)
{
    RUN(test_varint_vectors);
    RUN(test_varint_rejects);
    RUN(test_varint_redundant_zero_groups_accepted);
    RUN(test_u8_bool_raw);
    RUN(test_bytes_and_strings);
    RUN(test_utf8_validation);
    RUN(test_writer_overflow);
    return TEST_SUMMARY();
}
