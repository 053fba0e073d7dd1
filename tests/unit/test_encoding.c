/* test_encoding.c — hex, base32, z-base-32 and base32hex against RFC 4648 §10 and the iroh
 * vectors of spec/endpoint.md §10. */
#include <stdint.h>
#include <string.h>

#include "core/encoding.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

static void test_hex_round_trip(void)
{
    const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char text[13];
    CHECK_EQ_INT(iroh_hex_encode(bytes, sizeof bytes, text, sizeof text), 12);
    CHECK_EQ_STR(text, "00017f80abff");
    uint8_t back[6];
    CHECK_EQ_INT(iroh_hex_decode(text, 12, back, sizeof back, IROH_HEX_LOWER_ONLY), 6);
    CHECK_EQ_MEM(back, bytes, 6);
    CHECK_EQ_INT(iroh_hex_encode(bytes, 0, text, 1), 0);
    CHECK_EQ_STR(text, "");
}

static void test_hex_case_and_errors(void)
{
    uint8_t out[4];
    CHECK_EQ_INT(iroh_hex_decode("ABcd", 4, out, sizeof out, IROH_HEX_LOWER_ONLY), IROH_EINVAL);
    CHECK_EQ_INT(iroh_hex_decode("ABcd", 4, out, sizeof out, IROH_HEX_ANY_CASE), 2);
    CHECK(out[0] == 0xab && out[1] == 0xcd);
    CHECK_EQ_INT(iroh_hex_decode("abc", 3, out, sizeof out, IROH_HEX_ANY_CASE), IROH_EINVAL);
    CHECK_EQ_INT(iroh_hex_decode("0g", 2, out, sizeof out, IROH_HEX_ANY_CASE), IROH_EINVAL);
    CHECK_EQ_INT(iroh_hex_decode("0 ", 2, out, sizeof out, IROH_HEX_ANY_CASE), IROH_EINVAL);
    CHECK_EQ_INT(iroh_hex_decode("0011223344", 10, out, sizeof out, IROH_HEX_ANY_CASE),
                 IROH_EBUFFER);
    char text[4];
    CHECK_EQ_INT(iroh_hex_encode(out, 2, text, sizeof text), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_hex_encode(out, 2, text, 0), IROH_EBUFFER);
}

/* RFC 4648 §10 vectors (lowercase, padding removed). */
static const struct {
    const char *in, *base32, *base32hex;
} RFC4648[] = {
    {"", "", ""},
    {"f", "my", "co"},
    {"fo", "mzxq", "cpng"},
    {"foo", "mzxw6", "cpnmu"},
    {"foob", "mzxw6yq", "cpnmuog"},
    {"fooba", "mzxw6ytb", "cpnmuoj1"},
    {"foobar", "mzxw6ytboi", "cpnmuoj1e8"},
};

static void test_base32_rfc4648_vectors(void)
{
    for (size_t i = 0; i < sizeof RFC4648 / sizeof RFC4648[0]; i++) {
        const uint8_t *in = (const uint8_t *)RFC4648[i].in;
        size_t n = strlen(RFC4648[i].in);
        char text[32];
        uint8_t back[16];
        CHECK_EQ_INT(iroh_base32_encode(in, n, text, sizeof text), strlen(RFC4648[i].base32));
        CHECK_EQ_STR(text, RFC4648[i].base32);
        CHECK_EQ_INT(IROH_BASE32_ENCODED_LEN(n), strlen(RFC4648[i].base32));
        CHECK_EQ_INT(iroh_base32hex_encode(in, n, text, sizeof text), strlen(RFC4648[i].base32hex));
        CHECK_EQ_STR(text, RFC4648[i].base32hex);
        CHECK_EQ_INT(
            iroh_base32_decode(RFC4648[i].base32, strlen(RFC4648[i].base32), back, sizeof back), n);
        CHECK_EQ_MEM(back, in, n);
    }
}

static void test_base32_accepts_either_case(void)
{
    uint8_t out[8];
    CHECK_EQ_INT(iroh_base32_decode("MZXW6YTBOI", 10, out, sizeof out), 6);
    CHECK_EQ_MEM(out, "foobar", 6);
    CHECK_EQ_INT(iroh_base32_decode("mZxW6yTbOi", 10, out, sizeof out), 6);
    CHECK_EQ_MEM(out, "foobar", 6);
}

static void test_base32_rejects(void)
{
    uint8_t out[16];
    /* padding */
    CHECK_EQ_INT(iroh_base32_decode("my======", 8, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzxq====", 8, out, sizeof out), IROH_EINVAL);
    /* characters outside the alphabet (0, 1, 8, 9 and z-base-32 / base32hex symbols) */
    CHECK_EQ_INT(iroh_base32_decode("m0", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("m1", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("m8", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("m-", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("m\xc3", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("m\0", 2, out, sizeof out), IROH_EINVAL);
    /* lengths no byte count encodes to */
    CHECK_EQ_INT(iroh_base32_decode("m", 1, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzx", 3, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzxw6y", 6, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzxw6ytbo", 9, out, sizeof out), IROH_EINVAL);
    /* non-zero trailing bits: "my" is 'f' + 00, "mz" would be 'f' + 01 */
    CHECK_EQ_INT(iroh_base32_decode("mz", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzxr", 4, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzxw7", 5, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_base32_decode("mzxw6yr", 7, out, sizeof out), IROH_EINVAL);
    /* output too small */
    CHECK_EQ_INT(iroh_base32_decode("mzxw6ytboi", 10, out, 5), IROH_EBUFFER);
    char text[10];
    CHECK_EQ_INT(iroh_base32_encode((const uint8_t *)"foobar", 6, text, sizeof text), IROH_EBUFFER);
}

/* Public keys of the seeds 00…00, 01…01, 02…02 and their base32 / z-base-32 forms
 * (spec/endpoint.md §10), and the upstream z32 vector (iroh-dns endpoint_info.rs). */
static const struct {
    const char *hex, *base32, *z32;
} KEY_FORMS[] = {
    {"3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
     "hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq",
     "8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo"},
    {"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
     "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5oa",
     "tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7qy"},
    {"8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
     "qe4xodvipulv6vvdkrtmgtd6ztfy3curwtxdpis56yhvxd6jwoka",
     "orhzqdiexwmi6iidktucgud63ufa5nwtsuzdxe176a8izd6jsqky"},
    {"1992d53c02cdc04566e5c0edb1ce83305cd550297953a047a445ea3264b54b18", NULL,
     "dgjpkxyn3zyrk3zfads5duwdgbqpkwbjxfj4yt7rezidr3fijccy"},
    {"abdaadffee096b95a1ed91430083f8b294468b975bd8eacfb391689703fdcc10",
     "vpnk377obfvzlipnsfbqba7ywkkenc4xlpmovt5tsfujoa75zqia", NULL},
};

static void test_key_vectors_base32_and_z32(void)
{
    for (size_t i = 0; i < sizeof KEY_FORMS / sizeof KEY_FORMS[0]; i++) {
        uint8_t key[32], back[32];
        char text[53];
        CHECK_EQ_INT(unhex(KEY_FORMS[i].hex, key, sizeof key), 32);
        if (KEY_FORMS[i].base32) {
            CHECK_EQ_INT(iroh_base32_encode(key, 32, text, sizeof text), 52);
            CHECK_EQ_STR(text, KEY_FORMS[i].base32);
            CHECK_EQ_INT(iroh_base32_decode(text, 52, back, sizeof back), 32);
            CHECK_EQ_MEM(back, key, 32);
        }
        if (KEY_FORMS[i].z32) {
            CHECK_EQ_INT(iroh_z32_encode(key, 32, text, sizeof text), 52);
            CHECK_EQ_STR(text, KEY_FORMS[i].z32);
            CHECK_EQ_INT(iroh_z32_decode(text, 52, back, sizeof back), 32);
            CHECK_EQ_MEM(back, key, 32);
        }
    }
}

static void test_z32_rejects(void)
{
    uint8_t out[32];
    /* case-sensitive: uppercase is not z-base-32 */
    CHECK_EQ_INT(iroh_z32_decode("DGJPKXYN3ZYRK3ZFADS5DUWDGBQPKWBJXFJ4YT7REZIDR3FIJCCY", 52, out,
                                 sizeof out),
                 IROH_EINVAL);
    /* '2', 'l', 'v', '0' are not in the alphabet */
    CHECK_EQ_INT(iroh_z32_decode("dgjpkxyn3zyrk3zfads5duwdgbqpkwbjxfj4yt7rezidr3fijcc2", 52, out,
                                 sizeof out),
                 IROH_EINVAL);
    CHECK_EQ_INT(iroh_z32_decode("yl", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_z32_decode("yv", 2, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_z32_decode("y0", 2, out, sizeof out), IROH_EINVAL);
    /* trailing bits: the last symbol of 32 bytes carries 1 data bit; 'y'=0, 'o'=16, 'b'=1 */
    CHECK_EQ_INT(iroh_z32_decode("dgjpkxyn3zyrk3zfads5duwdgbqpkwbjxfj4yt7rezidr3fijccb", 52, out,
                                 sizeof out),
                 IROH_EINVAL);
    CHECK_EQ_INT(iroh_z32_decode("dgjpkxyn3zyrk3zfads5duwdgbqpkwbjxfj4yt7rezidr3fijcco", 52, out,
                                 sizeof out),
                 32);
    CHECK_EQ_INT(iroh_z32_decode("yyyyyyyy=", 9, out, sizeof out), IROH_EINVAL);
}

static void test_base64_rfc4648_vectors(void)
{
    static const char *const vectors[][2] = {{"", ""},
                                             {"f", "Zg=="},
                                             {"fo", "Zm8="},
                                             {"foo", "Zm9v"},
                                             {"foob", "Zm9vYg=="},
                                             {"fooba", "Zm9vYmE="},
                                             {"foobar", "Zm9vYmFy"}};
    char text[16];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t n = strlen(vectors[i][0]);
        CHECK_EQ_INT(iroh_base64_encode((const uint8_t *)vectors[i][0], n, text, sizeof text),
                     (int)strlen(vectors[i][1]));
        CHECK_EQ_STR(text, vectors[i][1]);
    }
    /* the last two digits of the alphabet, and a buffer one byte short of the NUL */
    static const uint8_t high[] = {0xfb, 0xff, 0xbf};
    CHECK_EQ_INT(iroh_base64_encode(high, 3, text, 5), 4);
    CHECK_EQ_STR(text, "+/+/");
    CHECK_EQ_INT(iroh_base64_encode(high, 3, text, 4), IROH_EBUFFER);
}

int main(void)
{
    RUN(test_hex_round_trip);
    RUN(test_hex_case_and_errors);
    RUN(test_base32_rfc4648_vectors);
    RUN(test_base32_accepts_either_case);
    RUN(test_base32_rejects);
    RUN(test_key_vectors_base32_and_z32);
    RUN(test_z32_rejects);
    RUN(test_base64_rfc4648_vectors);
    return TEST_SUMMARY();
}
