/* test_keys.c — key derivation, textual forms, parsing and signatures: RFC 8032, the vectors
 * of spec/endpoint.md §1 and §10, and answers of the real iroh 1.1.0 (keys.mjs). */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "core/encoding.h"
#include "core/keys.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

static struct iroh_secret_key secret_from_hex(const char *hex)
{
    struct iroh_secret_key sk;
    CHECK_EQ_INT(unhex(hex, sk.seed, sizeof sk.seed), IROH_KEY_LEN);
    return sk;
}

/* Signs and verifies one vector: seed, expected public key, message, expected signature. */
static void check_signature_vector(const char *seed_hex, const char *public_hex,
                                   const char *message_hex, const char *signature_hex)
{
    struct iroh_secret_key sk = secret_from_hex(seed_hex);
    struct iroh_public_key pk;
    iroh_secret_key_public(&sk, &pk);
    char text[IROH_KEY_HEX_LEN + 1];
    CHECK_EQ_INT(iroh_public_key_format_hex(&pk, text, sizeof text), IROH_KEY_HEX_LEN);
    CHECK_EQ_STR(text, public_hex);

    uint8_t message[64], expected[IROH_SIGNATURE_LEN], sig[IROH_SIGNATURE_LEN];
    size_t message_len = unhex(message_hex, message, sizeof message);
    CHECK_EQ_INT(unhex(signature_hex, expected, sizeof expected), IROH_SIGNATURE_LEN);
    iroh_secret_key_sign(&sk, message, message_len, sig);
    CHECK_EQ_MEM(sig, expected, IROH_SIGNATURE_LEN);
    CHECK_EQ_INT(iroh_public_key_verify(&pk, message, message_len, sig), IROH_OK);

    sig[IROH_SIGNATURE_LEN - 1] ^= 0x01;
    CHECK_EQ_INT(iroh_public_key_verify(&pk, message, message_len, sig), IROH_ECORRUPT);
    sig[IROH_SIGNATURE_LEN - 1] ^= 0x01;
    message[message_len] = 0x00;
    CHECK_EQ_INT(iroh_public_key_verify(&pk, message, message_len + 1, sig), IROH_ECORRUPT);
}

/* RFC 8032 §7.1 TEST 1–3. */
static void test_rfc8032_vectors(void)
{
    check_signature_vector(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
        "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    check_signature_vector(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
        "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
    check_signature_vector(
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67"
        "f760984dc6594a7c15e9716ed28dc027beceea1ec40a");
}

/* Answers of the real iroh 1.1.0 via keys.mjs
 * (in-netns node keys.mjs --secret SEED --message "irohd keys vector" | --message-hex HEX). */
static const struct {
    const char *seed, *id_hex, *id_base32, *id_short, *message_hex, *signature;
} IROH_ANSWERS[] = {
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
     "hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq", "3b6a27bcce",
     "69726f6864206b65797320766563746f72",
     "45b4d39f93235216c21be21b4cc150350bd8c7c295ad37ed4081707083a7d7f3ef648b3e2e13beec721070fc60"
     "40f304a28333c4592fc95c5f427a8ab5429704"},
    {"0707070707070707070707070707070707070707070707070707070707070707",
     "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
     "5jfgyy7ctrjavpxvkb5rglwf7gkuo5vox27hxescd3vgsfcg2iwa", "ea4a6c63e2",
     "69726f6864206b65797320766563746f72",
     "06d2097aed91cbbf12ca3f44a48afa2c30c455ab4a89b6b16251b611113381cc2c1519cd9037dc9e25aac8fbf7"
     "341287cf339d250ecf8d155d9b6a156af0f006"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "7ri43dtcdcq2hdnep3iaemhqlaebn3itxizqhlc55oirkseqqasq", "fc51cd8e62",
     "69726f6864206b65797320766563746f72",
     "c874f5619060b42a1b5b841ea00ecd18e76c6a7f05c87a0b8ab61e4ad1323d85710969cf4d971a5e55e9e1fb0e"
     "d20ea0fa9b95043924a7f3448bf8cb4bf3150e"},
    {"0101010101010101010101010101010101010101010101010101010101010101",
     "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
     "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5oa", "8a88e3dd74", "000102ff",
     "5902e509e56f82a73b9ab128e3a7ed99413d47aabd34911695d7f98efb90095f370289f71910f053f6f0d74497"
     "5a2d9074332f6ae49d85941e3ae5221bad4e09"},
};

static void test_real_iroh_answers(void)
{
    for (size_t i = 0; i < sizeof IROH_ANSWERS / sizeof IROH_ANSWERS[0]; i++) {
        check_signature_vector(IROH_ANSWERS[i].seed, IROH_ANSWERS[i].id_hex,
                               IROH_ANSWERS[i].message_hex, IROH_ANSWERS[i].signature);
        struct iroh_secret_key sk = secret_from_hex(IROH_ANSWERS[i].seed);
        struct iroh_public_key pk;
        iroh_secret_key_public(&sk, &pk);
        char text[IROH_KEY_BASE32_LEN + 1];
        CHECK_EQ_INT(iroh_public_key_format_base32(&pk, text, sizeof text), IROH_KEY_BASE32_LEN);
        CHECK_EQ_STR(text, IROH_ANSWERS[i].id_base32);
        CHECK_EQ_INT(iroh_public_key_format_short(&pk, text, sizeof text), IROH_KEY_SHORT_LEN);
        CHECK_EQ_STR(text, IROH_ANSWERS[i].id_short);
    }
}

/* spec/endpoint.md §10: the seeds 00…00, 01…01, 02…02; z32 and TLS names. */
static const struct {
    uint8_t seed_byte;
    const char *id_hex, *z32, *tls_name;
} SEED_VECTORS[] = {
    {0x00, "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
     "8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo",
     "7dl2ff6emqi2qol3l382krodedij45bn3nh479hqo14a32qpr8kg.iroh.invalid"},
    {0x01, "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
     "tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7qy",
     "ha4e7nbk17opbvaircmjpeiteb56e2dv3ma146vjei403d0fdte0.iroh.invalid"},
    {0x02, "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
     "orhzqdiexwmi6iidktucgud63ufa5nwtsuzdxe176a8izd6jsqky",
     "g4sne3l8fkblull3ahjc6j3upj5or2khmjn3f8ituo7ln3u9mea0.iroh.invalid"},
};

static void test_seed_vectors(void)
{
    for (size_t i = 0; i < sizeof SEED_VECTORS / sizeof SEED_VECTORS[0]; i++) {
        struct iroh_secret_key sk;
        memset(sk.seed, SEED_VECTORS[i].seed_byte, sizeof sk.seed);
        struct iroh_public_key pk, parsed;
        iroh_secret_key_public(&sk, &pk);
        char text[IROH_TLS_SERVER_NAME_LEN + 1];
        CHECK_EQ_INT(iroh_public_key_format_hex(&pk, text, sizeof text), IROH_KEY_HEX_LEN);
        CHECK_EQ_STR(text, SEED_VECTORS[i].id_hex);
        CHECK_EQ_INT(iroh_public_key_format_z32(&pk, text, sizeof text), IROH_KEY_Z32_LEN);
        CHECK_EQ_STR(text, SEED_VECTORS[i].z32);
        CHECK_EQ_INT(iroh_public_key_parse_z32(text, IROH_KEY_Z32_LEN, &parsed), IROH_OK);
        CHECK_EQ_MEM(parsed.bytes, pk.bytes, IROH_KEY_LEN);
        CHECK_EQ_INT(iroh_public_key_tls_server_name(&pk, text, sizeof text),
                     IROH_TLS_SERVER_NAME_LEN);
        CHECK_EQ_STR(text, SEED_VECTORS[i].tls_name);
        CHECK_EQ_INT(iroh_public_key_tls_server_name(&pk, text, IROH_TLS_SERVER_NAME_LEN),
                     IROH_EBUFFER);
    }
}

static void test_public_key_postcard_vector(void)
{
    /* iroh-base key.rs: the postcard form of a key is its 32 raw bytes. */
    const char *hex = "ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6";
    uint8_t bytes[IROH_KEY_LEN];
    CHECK_EQ_INT(unhex(hex, bytes, sizeof bytes), IROH_KEY_LEN);
    struct iroh_public_key pk;
    CHECK_EQ_INT(iroh_public_key_from_bytes(bytes, &pk), IROH_OK);
    char text[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&pk, text, sizeof text);
    CHECK_EQ_STR(text, hex);
}

/* Parses text as an id and checks the hex form of the result. */
static void check_parses_to(const char *text, const char *expected_hex)
{
    struct iroh_public_key pk;
    CHECK_EQ_INT(iroh_public_key_parse(text, strlen(text), &pk), IROH_OK);
    char hex[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&pk, hex, sizeof hex);
    CHECK_EQ_STR(hex, expected_hex);
}

static void check_id_rejected(const char *text)
{
    struct iroh_public_key pk;
    CHECK_EQ_INT(iroh_public_key_parse(text, strlen(text), &pk), IROH_EINVAL);
}

static void test_public_key_parse(void)
{
    const char *hex = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    check_parses_to(hex, hex);
    check_parses_to("hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq", hex);
    check_parses_to("HNVCPPGOW2SC2YVDVDICU3YNONSTEFLXDXREHJR2YBEKDC2Z3IUQ", hex);
    check_parses_to("hNvCpPgOw2sC2yVdVdIcU3yNoNsTeFlXdXrEhJr2yBeKdC2z3iUq", hex);
    /* The 52-char key string of the upstream tests is RFC 4648 base32. */
    check_parses_to("vpnk377obfvzlipnsfbqba7ywkkenc4xlpmovt5tsfujoa75zqia",
                    "abdaadffee096b95a1ed91430083f8b294468b975bd8eacfb391689703fdcc10");

    /* Each of these was also rejected by the real iroh 1.1.0 (keys.mjs probe). */
    check_id_rejected("3B6A27BCCEB6A42D62A3A8D02A6F0D73653215771DE243A63AC048A18B59DA29");
    check_id_rejected("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da2");
    check_id_rejected("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da290");
    check_id_rejected("hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iur"); /* trailing bit */
    check_id_rejected("hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq====");
    check_id_rejected("8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo"); /* z32 */
    check_id_rejected("0200000000000000000000000000000000000000000000000000000000000000");
    /* Rejected here but accepted by iroh (libsodium's stricter point check, see keys.h):
     * the identity (small order), the all-zero point (small order), a non-canonical y. */
    check_id_rejected("0100000000000000000000000000000000000000000000000000000000000000");
    check_id_rejected("aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    check_id_rejected("0000000000000000000000000000000000000000000000000000000000000000");
    check_id_rejected("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    /* Wrong lengths and bytes outside the alphabets. */
    check_id_rejected("");
    check_id_rejected("hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3i");
    check_id_rejected("hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuqaa");
    check_id_rejected("hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iu1");
    check_id_rejected("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da2g");
    check_id_rejected(" 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da2");
}

static void test_public_key_parse_z32_rejects(void)
{
    struct iroh_public_key pk;
    const char *upper = "8PINXXGQS41N4AIDIDENW5APQP1URFMZDZTR8JT4ABRKDN435EWO";
    CHECK_EQ_INT(iroh_public_key_parse_z32(upper, 52, &pk), IROH_EINVAL);
    const char *base32 = "hnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq";
    CHECK_EQ_INT(iroh_public_key_parse_z32(base32, 52, &pk), IROH_EINVAL);
    CHECK_EQ_INT(iroh_public_key_parse_z32("yyyy", 4, &pk), IROH_EINVAL);
    char identity[IROH_KEY_Z32_LEN + 1];
    uint8_t bytes[IROH_KEY_LEN] = {1};
    iroh_z32_encode(bytes, sizeof bytes, identity, sizeof identity);
    CHECK_EQ_INT(iroh_public_key_parse_z32(identity, 52, &pk), IROH_EINVAL);
}

static void test_secret_key_parse(void)
{
    struct iroh_secret_key sk;
    const char *hex = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
    CHECK_EQ_INT(iroh_secret_key_parse(hex, strlen(hex), &sk), IROH_OK);
    struct iroh_secret_key expected = secret_from_hex(hex);
    CHECK_EQ_MEM(sk.seed, expected.seed, IROH_KEY_LEN);

    char base32[IROH_KEY_BASE32_LEN + 1];
    iroh_base32_encode(expected.seed, IROH_KEY_LEN, base32, sizeof base32);
    for (char *c = base32; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    CHECK_EQ_INT(iroh_secret_key_parse(base32, strlen(base32), &sk), IROH_OK);
    CHECK_EQ_MEM(sk.seed, expected.seed, IROH_KEY_LEN);

    /* No point check for secrets: any 32 bytes are a seed. */
    const char *any = "0200000000000000000000000000000000000000000000000000000000000000";
    CHECK_EQ_INT(iroh_secret_key_parse(any, strlen(any), &sk), IROH_OK);
    /* The upstream test's key string parses as a secret too. */
    const char *vpnk = "vpnk377obfvzlipnsfbqba7ywkkenc4xlpmovt5tsfujoa75zqia";
    CHECK_EQ_INT(iroh_secret_key_parse(vpnk, strlen(vpnk), &sk), IROH_OK);
    expected = secret_from_hex("abdaadffee096b95a1ed91430083f8b294468b975bd8eacfb391689703fdcc10");
    CHECK_EQ_MEM(sk.seed, expected.seed, IROH_KEY_LEN);

    static const uint8_t zero[IROH_KEY_LEN];
    const char *upper = "C5AA8DF43F9F837BEDB7442F31DCB7B166D38535076F094B85CE3A2E0B4458F7";
    CHECK_EQ_INT(iroh_secret_key_parse(upper, strlen(upper), &sk), IROH_EINVAL);
    CHECK_EQ_MEM(sk.seed, zero, IROH_KEY_LEN); /* wiped on failure */
    CHECK_EQ_INT(iroh_secret_key_parse(hex, 63, &sk), IROH_EINVAL);
    CHECK_EQ_INT(iroh_secret_key_parse("aa", 2, &sk), IROH_EINVAL);
}

static void test_random_round_trips(void)
{
    for (int i = 0; i < 200; i++) {
        struct iroh_secret_key sk, sk_back;
        struct iroh_public_key pk, back;
        iroh_secret_key_generate(&sk);
        iroh_secret_key_public(&sk, &pk);

        char text[IROH_KEY_HEX_LEN + 1];
        CHECK_EQ_INT(iroh_public_key_format_hex(&pk, text, sizeof text), IROH_KEY_HEX_LEN);
        CHECK_EQ_INT(iroh_public_key_parse(text, IROH_KEY_HEX_LEN, &back), IROH_OK);
        CHECK_EQ_MEM(back.bytes, pk.bytes, IROH_KEY_LEN);
        CHECK_EQ_INT(iroh_public_key_format_base32(&pk, text, sizeof text), IROH_KEY_BASE32_LEN);
        CHECK_EQ_INT(iroh_public_key_parse(text, IROH_KEY_BASE32_LEN, &back), IROH_OK);
        CHECK_EQ_MEM(back.bytes, pk.bytes, IROH_KEY_LEN);
        CHECK_EQ_INT(iroh_public_key_format_z32(&pk, text, sizeof text), IROH_KEY_Z32_LEN);
        CHECK_EQ_INT(iroh_public_key_parse_z32(text, IROH_KEY_Z32_LEN, &back), IROH_OK);
        CHECK_EQ_MEM(back.bytes, pk.bytes, IROH_KEY_LEN);

        iroh_hex_encode(sk.seed, IROH_KEY_LEN, text, sizeof text);
        CHECK_EQ_INT(iroh_secret_key_parse(text, IROH_KEY_HEX_LEN, &sk_back), IROH_OK);
        CHECK_EQ_MEM(sk_back.seed, sk.seed, IROH_KEY_LEN);

        uint8_t message[37], sig[IROH_SIGNATURE_LEN];
        memcpy(message, sk.seed, IROH_KEY_LEN);
        memcpy(message + IROH_KEY_LEN, "irohd", 5);
        iroh_secret_key_sign(&sk, message, sizeof message, sig);
        CHECK_EQ_INT(iroh_public_key_verify(&pk, message, sizeof message, sig), IROH_OK);
        message[i % sizeof message] ^= 0x80;
        CHECK_EQ_INT(iroh_public_key_verify(&pk, message, sizeof message, sig), IROH_ECORRUPT);
    }
}

static void test_format_buffer_sizes(void)
{
    struct iroh_secret_key sk = {{0}};
    struct iroh_public_key pk;
    iroh_secret_key_public(&sk, &pk);
    char text[IROH_KEY_HEX_LEN + 1];
    CHECK_EQ_INT(iroh_public_key_format_hex(&pk, text, IROH_KEY_HEX_LEN), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_public_key_format_short(&pk, text, IROH_KEY_SHORT_LEN), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_public_key_format_short(&pk, text, IROH_KEY_SHORT_LEN + 1),
                 IROH_KEY_SHORT_LEN);
    CHECK_EQ_INT(iroh_public_key_format_base32(&pk, text, IROH_KEY_BASE32_LEN), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_public_key_format_z32(&pk, text, IROH_KEY_Z32_LEN), IROH_EBUFFER);
}

int main(void)
{
    if (iroh_keys_init() != IROH_OK) return 1;
    RUN(test_rfc8032_vectors);
    RUN(test_real_iroh_answers);
    RUN(test_seed_vectors);
    RUN(test_public_key_postcard_vector);
    RUN(test_public_key_parse);
    RUN(test_public_key_parse_z32_rejects);
    RUN(test_secret_key_parse);
    RUN(test_random_round_trips);
    RUN(test_format_buffer_sizes);
    return TEST_SUMMARY();
}
