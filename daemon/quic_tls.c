/* quic_tls.c — GnuTLS raw-public-key sessions for QUIC; see quic_tls.h. */
#include "daemon/quic_tls.h"

#include <gnutls/abstract.h>
#include <iroh/error.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quic_tp.h"
#include "core/tls_rpk.h"
#include "daemon/log.h"

/* %DISABLE_TLS13_COMPAT_MODE: QUIC forbids the middlebox compatibility mode (RFC 9001 §8.4).
 * %SERVER_PRECEDENCE: as a server too we pick AES-128-GCM (rustls clients list AES-256 first). */
static const char PRIORITIES[] =
    "%DISABLE_TLS13_COMPAT_MODE:%SERVER_PRECEDENCE:NORMAL:-VERS-ALL:+VERS-TLS1.3:"
    "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
    "-SIGN-ALL:+SIGN-EDDSA-ED25519:-CTYPE-ALL:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK";

/* The quic_transport_parameters TLS extension (RFC 9001 §8.2). */
#define TLSEXT_QUIC_TRANSPORT_PARAMETERS 0x39
/* Room for our encoded parameters (about 100 bytes; ids and CIDs included). */
#define LOCAL_PARAMS_MAX 512

/* What ngtcp2 0.12 adds on its own and an iroh-compatible endpoint does not advertise: with
 * grease_quic_bit, noq would clear the fixed bit of packets to us at random. */
static const uint64_t NOT_ADVERTISED[] = {IROH_QUIC_TP_GREASE_QUIC_BIT,
                                          IROH_QUIC_TP_VERSION_INFORMATION_DRAFT};

struct quic_tls_ctx {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t priorities;
    /* Our key in libsodium's expanded form: the CertificateVerify of every handshake is signed
     * with it (sign_certificate_verify), in a third of the time GnuTLS's own Ed25519 takes. */
    uint8_t signing_key[crypto_sign_SECRETKEYBYTES];
};

/* The signing callback of our GnuTLS private key (gnutls_privkey_import_ext4); userdata is
 * the ctx. GnuTLS hands it the whole message (Ed25519 hashes inside). */
static int sign_certificate_verify(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
                                   void *userdata, unsigned int flags, const gnutls_datum_t *data,
                                   gnutls_datum_t *signature)
{
    (void)key;
    (void)flags;
    const struct quic_tls_ctx *ctx = userdata;
    if (algo != GNUTLS_SIGN_EDDSA_ED25519) return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    signature->data = gnutls_malloc(crypto_sign_BYTES);
    if (!signature->data) return GNUTLS_E_MEMORY_ERROR;
    crypto_sign_detached(signature->data, NULL, data->data, data->size, ctx->signing_key);
    signature->size = crypto_sign_BYTES;
    return 0;
}

/* What GnuTLS asks of that key: an Ed25519 key that makes Ed25519 signatures only. */
static int signing_key_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
    (void)key;
    (void)userdata;
    if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
        return GNUTLS_FLAGS_TO_SIGN_ALGO(flags) == GNUTLS_SIGN_EDDSA_ED25519;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO) return GNUTLS_PK_EDDSA_ED25519;
    if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO) return GNUTLS_SIGN_EDDSA_ED25519;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS) return 256;
    return GNUTLS_E_INVALID_REQUEST;
}

/* Our raw public key (its SubjectPublicKeyInfo) with a private key that signs through
 * libsodium; cred owns both on success. */
static int set_our_key(struct quic_tls_ctx *ctx, const struct iroh_secret_key *sk)
{
    struct iroh_public_key pk; /* the same key iroh_secret_key_public gives, derived once */
    crypto_sign_seed_keypair(pk.bytes, ctx->signing_key, sk->seed);
    uint8_t spki[IROH_TLS_SPKI_LEN];
    iroh_tls_spki(&pk, spki);
    gnutls_datum_t spki_d = {spki, sizeof spki};
    gnutls_pcert_st pcert;
    int rc = gnutls_pcert_import_rawpk_raw(&pcert, &spki_d, GNUTLS_X509_FMT_DER, 0, 0);
    if (rc < 0) return rc;
    gnutls_privkey_t key;
    if ((rc = gnutls_privkey_init(&key)) < 0) {
        gnutls_pcert_deinit(&pcert);
        return rc;
    }
    rc = gnutls_privkey_import_ext4(key, ctx, sign_certificate_verify, NULL, NULL, NULL,
                                    signing_key_info, 0);
    if (rc == 0) rc = gnutls_certificate_set_key(ctx->cred, NULL, 0, &pcert, 1, key);
    if (rc < 0) {
        gnutls_privkey_deinit(key);
        gnutls_pcert_deinit(&pcert);
    }
    return rc;
}

int quic_tls_ctx_new(const struct iroh_secret_key *sk, struct quic_tls_ctx **out, char *err,
                     size_t errlen)
{
    struct quic_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return IROH_ENOMEM;
    const char *errpos = NULL;
    int rc = gnutls_certificate_allocate_credentials(&ctx->cred);
    if (rc == 0) rc = set_our_key(ctx, sk);
    if (rc == 0) rc = gnutls_priority_init(&ctx->priorities, PRIORITIES, &errpos);
    if (rc != 0) {
        snprintf(err, errlen, "TLS setup failed: %s%s%s", gnutls_strerror(rc), errpos ? " at " : "",
                 errpos ? errpos : "");
        quic_tls_ctx_free(ctx);
        return IROH_EIO;
    }
    *out = ctx;
    return 0;
}

void quic_tls_ctx_free(struct quic_tls_ctx *ctx)
{
    if (!ctx) return;
    if (ctx->priorities) gnutls_priority_deinit(ctx->priorities);
    if (ctx->cred) gnutls_certificate_free_credentials(ctx->cred);
    sodium_memzero(ctx->signing_key, sizeof ctx->signing_key);
    free(ctx);
}

/* ---- the hooks ngtcp2's GnuTLS glue would set (RFC 9001 §4) ---------------------------------- */

static struct quic_tls_peer *peer_of(gnutls_session_t session)
{
    return gnutls_session_get_ptr(session);
}

static int on_secret(gnutls_session_t session, gnutls_record_encryption_level_t glevel,
                     const void *rx_secret, const void *tx_secret, size_t secret_len)
{
    ngtcp2_conn *conn = peer_of(session)->conn;
    ngtcp2_crypto_level level = ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(glevel);
    if (rx_secret && ngtcp2_crypto_derive_and_install_rx_key(conn, NULL, NULL, NULL, level,
                                                             rx_secret, secret_len) != 0)
        return -1;
    if (tx_secret && ngtcp2_crypto_derive_and_install_tx_key(conn, NULL, NULL, NULL, level,
                                                             tx_secret, secret_len) != 0)
        return -1;
    return 0;
}

static int on_handshake_data(gnutls_session_t session, gnutls_record_encryption_level_t glevel,
                             gnutls_handshake_description_t type, const void *data, size_t len)
{
    if (type == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) return 0; /* not in QUIC */
    ngtcp2_crypto_level level = ngtcp2_crypto_gnutls_from_gnutls_record_encryption_level(glevel);
    return ngtcp2_conn_submit_crypto_data(peer_of(session)->conn, level, data, len) == 0 ? 0 : -1;
}

static int on_alert(gnutls_session_t session, gnutls_record_encryption_level_t level,
                    gnutls_alert_level_t alert_level, gnutls_alert_description_t alert)
{
    (void)level;
    (void)alert_level;
    ngtcp2_conn_set_tls_alert(peer_of(session)->conn, (uint8_t)alert);
    return 0;
}

static int on_peer_params(gnutls_session_t session, const unsigned char *data, size_t len)
{
    struct quic_tls_peer *peer = peer_of(session);
    char text[1024];
    iroh_quic_tp_describe(data, len, text, sizeof text);
    log_debug("quic", "%s: peer transport parameters: %s", peer->log_name, text);
    return ngtcp2_conn_decode_remote_transport_params(peer->conn, data, len) == 0 ? 0 : -1;
}

static int send_our_params(gnutls_session_t session, gnutls_buffer_t extdata)
{
    uint8_t buf[LOCAL_PARAMS_MAX];
    ngtcp2_ssize n =
        ngtcp2_conn_encode_local_transport_params(peer_of(session)->conn, buf, sizeof buf);
    if (n < 0) return -1;
    int len = iroh_quic_tp_remove(buf, (size_t)n, NOT_ADVERTISED,
                                  sizeof NOT_ADVERTISED / sizeof NOT_ADVERTISED[0]);
    if (len < 0 || gnutls_buffer_append_data(extdata, buf, (size_t)len) != 0) return -1;
    return len;
}

/* Called by GnuTLS once the peer's Certificate has arrived (both roles). A non-zero result
 * aborts the handshake with bad_certificate. */
static int verify_peer(gnutls_session_t session)
{
    struct quic_tls_peer *peer = peer_of(session);
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
    struct iroh_public_key key;
    if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_RAWPK || n != 1 ||
        iroh_tls_spki_key(certs[0].data, certs[0].size, &key) < 0) {
        log_info("quic", "%s: the peer's certificate is not one Ed25519 raw public key",
                 peer->log_name);
        return -1;
    }
    if (!peer->server && memcmp(key.bytes, peer->expected.bytes, IROH_KEY_LEN) != 0) {
        char got[IROH_KEY_HEX_LEN + 1], want[IROH_KEY_HEX_LEN + 1];
        iroh_public_key_format_hex(&key, got, sizeof got);
        iroh_public_key_format_hex(&peer->expected, want, sizeof want);
        log_info("quic", "%s: the server is %s, not the dialed %s", peer->log_name, got, want);
        return -1;
    }
    peer->remote = key;
    peer->remote_known = true;
    return 0;
}

/* ---- sessions -------------------------------------------------------------------------------- */

int quic_tls_session_new(struct quic_tls_ctx *ctx, struct quic_tls_peer *peer,
                         const char *const *alpns, size_t n_alpns, gnutls_session_t *out)
{
    gnutls_datum_t protos[QUIC_TLS_MAX_ALPNS];
    if (n_alpns == 0 || n_alpns > QUIC_TLS_MAX_ALPNS) return IROH_EINVAL;
    for (size_t i = 0; i < n_alpns; i++) {
        size_t len = strlen(alpns[i]);
        if (len == 0 || len > QUIC_ALPN_MAX) return IROH_EINVAL;
        protos[i] = (gnutls_datum_t){(unsigned char *)alpns[i], (unsigned)len};
    }

    unsigned flags = (peer->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_ENABLE_RAWPK |
                     GNUTLS_NO_END_OF_EARLY_DATA | GNUTLS_NO_TICKETS;
    gnutls_session_t s;
    if (gnutls_init(&s, flags) != 0) return IROH_EIO;
    unsigned alpn_flags =
        GNUTLS_ALPN_MANDATORY | (peer->server ? GNUTLS_ALPN_SERVER_PRECEDENCE : 0);
    int rc = gnutls_priority_set(s, ctx->priorities);
    if (rc == 0) rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, ctx->cred);
    if (rc == 0) rc = gnutls_alpn_set_protocols(s, protos, (unsigned)n_alpns, alpn_flags);
    if (rc == 0)
        rc = gnutls_session_ext_register(
            s, "QUIC Transport Parameters", TLSEXT_QUIC_TRANSPORT_PARAMETERS, GNUTLS_EXT_TLS,
            on_peer_params, send_our_params, NULL, NULL, NULL,
            GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_EE);
    if (rc != 0) {
        log_error("quic", "%s: TLS session setup failed: %s", peer->log_name, gnutls_strerror(rc));
        gnutls_deinit(s);
        return IROH_EIO;
    }
    if (peer->server) gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_function(s, verify_peer);
    gnutls_handshake_set_secret_function(s, on_secret);
    gnutls_handshake_set_read_function(s, on_handshake_data);
    gnutls_alert_set_read_function(s, on_alert);
    gnutls_session_set_ptr(s, peer);
    *out = s;
    return 0;
}

int quic_tls_selected_alpn(gnutls_session_t session, char *out, size_t out_cap)
{
    gnutls_datum_t proto;
    if (gnutls_alpn_get_selected_protocol(session, &proto) != 0 || proto.size == 0)
        return IROH_ENOTFOUND;
    if (proto.size >= out_cap) return IROH_EBUFFER;
    memcpy(out, proto.data, proto.size);
    out[proto.size] = '\0';
    return (int)proto.size;
}
