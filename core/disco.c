/* core/disco.c — disco messages and their sealed packets; see disco.h. */
#include "core/disco.h"

#include <sodium.h>
#include <string.h>

#include "iroh/error.h"

static const uint8_t MAGIC[IROH_DISCO_MAGIC_LEN] = {0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac}; /* TS💬 */
static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

#define ENDPOINT_LEN 18 /* IPv6 bytes ‖ port LE */
#define PING_BODY (IROH_DISCO_TX_ID_LEN + IROH_KEY_LEN)
#define PONG_UDP_BODY (IROH_DISCO_TX_ID_LEN + 1 + ENDPOINT_LEN)
#define PONG_MIN_BODY (IROH_DISCO_TX_ID_LEN + 3) /* 0.35 reads a Pong body of at least this */
#define OPEN_MAX 2048 /* inner bytes iroh_disco_open reads (a CallMeMaybe of 113 addresses) */

_Static_assert(crypto_box_curve25519xchacha20poly1305_MACBYTES == IROH_DISCO_TAG_LEN, "tag");
_Static_assert(crypto_box_curve25519xchacha20poly1305_NONCEBYTES == IROH_DISCO_NONCE_LEN, "nonce");
_Static_assert(crypto_box_curve25519xchacha20poly1305_BEFORENMBYTES == 32, "key");
_Static_assert(2 + IROH_DISCO_TX_ID_LEN + 1 + IROH_RELAY_URL_MAX <= IROH_DISCO_INNER_MAX, "pong");

bool iroh_disco_looks_like(const uint8_t *pkt, size_t len)
{
    return len >= IROH_DISCO_HEADER_LEN && memcmp(pkt, MAGIC, sizeof MAGIC) == 0;
}

int iroh_disco_sender(const uint8_t *pkt, size_t len, struct iroh_public_key *out)
{
    if (!iroh_disco_looks_like(pkt, len) || len < IROH_DISCO_OVERHEAD) return IROH_EINVAL;
    return iroh_public_key_from_bytes(pkt + IROH_DISCO_MAGIC_LEN, out);
}

void iroh_disco_secret_init(struct iroh_disco_secret *out, const struct iroh_secret_key *sk)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], full[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk, full, sk->seed);
    crypto_sign_ed25519_sk_to_curve25519(out->x25519, full);
    sodium_memzero(full, sizeof full);
}

int iroh_disco_shared_init(struct iroh_disco_shared *out, const struct iroh_disco_secret *ours,
                           const struct iroh_public_key *peer)
{
    uint8_t peer_x[32];
    if (crypto_sign_ed25519_pk_to_curve25519(peer_x, peer->bytes) != 0) return IROH_EINVAL;
    if (crypto_box_curve25519xchacha20poly1305_beforenm(out->key, peer_x, ours->x25519) != 0)
        return IROH_EINVAL;
    return IROH_OK;
}

/* ---- inner messages -------------------------------------------------------------------------- */

static void put_endpoint(uint8_t *p, const struct iroh_socket_addr *a)
{
    if (a->family == IROH_IP_V4) {
        memcpy(p, V4_MAPPED, sizeof V4_MAPPED);
        memcpy(p + 12, a->ip, 4);
    } else {
        memcpy(p, a->ip, 16);
    }
    p[16] = (uint8_t)a->port;
    p[17] = (uint8_t)(a->port >> 8);
}

static void get_endpoint(const uint8_t *p, struct iroh_socket_addr *a)
{
    memset(a, 0, sizeof *a);
    if (memcmp(p, V4_MAPPED, sizeof V4_MAPPED) == 0) {
        a->family = IROH_IP_V4;
        memcpy(a->ip, p + 12, 4);
    } else {
        a->family = IROH_IP_V6;
        memcpy(a->ip, p, 16);
    }
    a->port = (uint16_t)(p[16] | p[17] << 8);
}

static bool known_family(const struct iroh_socket_addr *a)
{
    return a->family == IROH_IP_V4 || a->family == IROH_IP_V6;
}

int iroh_disco_encode(const struct iroh_disco_msg *msg, uint8_t *out, size_t cap)
{
    size_t need;
    size_t url_len = strnlen(msg->relay_url, sizeof msg->relay_url);
    switch (msg->type) {
    case IROH_DISCO_PING: need = 2 + PING_BODY; break;
    case IROH_DISCO_PONG:
        if (url_len == 0 && !known_family(&msg->src)) return IROH_EINVAL;
        if (url_len == 1 || url_len > IROH_RELAY_URL_MAX) return IROH_EINVAL;
        need = 2 + IROH_DISCO_TX_ID_LEN + 1 + (url_len ? url_len : ENDPOINT_LEN);
        break;
    case IROH_DISCO_CALL_ME_MAYBE:
        if (msg->addr_count > IROH_DISCO_MAX_ADDRS) return IROH_EINVAL;
        for (size_t i = 0; i < msg->addr_count; i++)
            if (!known_family(&msg->addrs[i])) return IROH_EINVAL;
        need = 2 + ENDPOINT_LEN * msg->addr_count;
        break;
    default: return IROH_EINVAL;
    }
    if (cap < need) return IROH_EBUFFER;
    out[0] = msg->type;
    out[1] = 0; /* version */
    uint8_t *p = out + 2;
    switch (msg->type) {
    case IROH_DISCO_PING:
        memcpy(p, msg->tx_id, IROH_DISCO_TX_ID_LEN);
        memcpy(p + IROH_DISCO_TX_ID_LEN, msg->node_key.bytes, IROH_KEY_LEN);
        break;
    case IROH_DISCO_PONG:
        memcpy(p, msg->tx_id, IROH_DISCO_TX_ID_LEN);
        p += IROH_DISCO_TX_ID_LEN;
        if (url_len) {
            *p = 1;
            memcpy(p + 1, msg->relay_url, url_len);
        } else {
            *p = 0;
            put_endpoint(p + 1, &msg->src);
        }
        break;
    default:
        for (size_t i = 0; i < msg->addr_count; i++)
            put_endpoint(p + ENDPOINT_LEN * i, &msg->addrs[i]);
        break;
    }
    return (int)need;
}

int iroh_disco_decode(const uint8_t *in, size_t len, struct iroh_disco_msg *out)
{
    if (len < 2 || in[1] != 0) return IROH_EINVAL;
    memset(out, 0, sizeof *out);
    out->type = in[0];
    const uint8_t *body = in + 2;
    size_t n = len - 2;
    switch (out->type) {
    case IROH_DISCO_PING:
        if (n < PING_BODY) return IROH_EINVAL;
        memcpy(out->tx_id, body, IROH_DISCO_TX_ID_LEN);
        return iroh_public_key_from_bytes(body + IROH_DISCO_TX_ID_LEN, &out->node_key) == IROH_OK
                   ? IROH_OK
                   : IROH_EINVAL;
    case IROH_DISCO_PONG: {
        if (n < PONG_MIN_BODY) return IROH_EINVAL;
        memcpy(out->tx_id, body, IROH_DISCO_TX_ID_LEN);
        const uint8_t *src = body + IROH_DISCO_TX_ID_LEN + 1;
        size_t src_len = n - IROH_DISCO_TX_ID_LEN - 1;
        if (body[IROH_DISCO_TX_ID_LEN] == 0) {
            if (n != PONG_UDP_BODY) return IROH_EINVAL;
            get_endpoint(src, &out->src);
            return IROH_OK;
        }
        if (body[IROH_DISCO_TX_ID_LEN] != 1 || src_len > IROH_RELAY_URL_MAX ||
            memchr(src, 0, src_len))
            return IROH_EINVAL;
        memcpy(out->relay_url, src, src_len);
        return IROH_OK;
    }
    case IROH_DISCO_CALL_ME_MAYBE:
        if (n % ENDPOINT_LEN) return IROH_EINVAL;
        for (size_t i = 0; i < n / ENDPOINT_LEN && i < IROH_DISCO_MAX_ADDRS; i++)
            get_endpoint(body + ENDPOINT_LEN * i, &out->addrs[out->addr_count++]);
        return IROH_OK;
    default: return IROH_EINVAL;
    }
}

/* ---- sealed packets -------------------------------------------------------------------------- */

int iroh_disco_seal(const struct iroh_disco_shared *key, const struct iroh_public_key *sender,
                    const uint8_t nonce[IROH_DISCO_NONCE_LEN], const struct iroh_disco_msg *msg,
                    uint8_t *out, size_t cap)
{
    uint8_t inner[IROH_DISCO_INNER_MAX];
    int n = iroh_disco_encode(msg, inner, sizeof inner);
    if (n < 0) return n;
    size_t total = IROH_DISCO_OVERHEAD + (size_t)n;
    if (cap < total) return IROH_EBUFFER;
    memcpy(out, MAGIC, sizeof MAGIC);
    memcpy(out + IROH_DISCO_MAGIC_LEN, sender->bytes, IROH_KEY_LEN);
    crypto_box_curve25519xchacha20poly1305_easy_afternm(out + IROH_DISCO_HEADER_LEN, inner,
                                                        (size_t)n, nonce, key->key);
    memcpy(out + total - IROH_DISCO_NONCE_LEN, nonce, IROH_DISCO_NONCE_LEN);
    return (int)total;
}

int iroh_disco_open(const struct iroh_disco_shared *key, const uint8_t *pkt, size_t len,
                    struct iroh_disco_msg *out)
{
    if (!iroh_disco_looks_like(pkt, len) || len < IROH_DISCO_OVERHEAD) return IROH_EINVAL;
    size_t boxed = len - IROH_DISCO_HEADER_LEN - IROH_DISCO_NONCE_LEN;
    if (boxed - IROH_DISCO_TAG_LEN > OPEN_MAX) return IROH_EINVAL;
    uint8_t inner[OPEN_MAX];
    if (crypto_box_curve25519xchacha20poly1305_open_easy_afternm(
            inner, pkt + IROH_DISCO_HEADER_LEN, boxed, pkt + len - IROH_DISCO_NONCE_LEN,
            key->key) != 0)
        return IROH_ECORRUPT;
    return iroh_disco_decode(inner, boxed - IROH_DISCO_TAG_LEN, out);
}
