/* quic_tls.h — the TLS 1.3 side of irohd's QUIC connections: GnuTLS with raw public keys
 * (RFC 7250) in both directions, our Ed25519 key as the certificate, the peer's key checked
 * (client: against the dialed id) or recorded (server: the remote id), mandatory ALPN, and
 * the QUIC glue that ngtcp2_crypto_gnutls_configure_*_session would install — written here
 * because its transport parameter extension must drop what ngtcp2 0.12 always adds and iroh
 * must not see (grease_quic_bit, a draft version_information; spec/endpoint.md §4.3).
 *
 * Profile (spec/endpoint.md §3, §9): TLS 1.3 only; AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305
 * in that order; X25519, P-256, P-384; signatures ed25519 only; no SNI; no session tickets
 * either way; a server requires a client certificate; ALPN mandatory.
 *
 * Used by daemon/quic_conn.c on the loop thread. A quic_tls_ctx belongs to one endpoint and
 * must outlive the sessions made from it. */
#ifndef IROHD_QUIC_TLS_H
#define IROHD_QUIC_TLS_H

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/keys.h"

/* GnuTLS 3.7 keeps at most 8 ALPNs per session, each shorter than 32 bytes (lib/ext/alpn.h);
 * iroh allows 255. Every ALPN of the iroh protocols is short. */
#define QUIC_ALPN_MAX 31
#define QUIC_TLS_MAX_ALPNS 8

struct quic_tls_ctx;

/* What the TLS hooks of one session share with its connection (owned by the connection;
 * gnutls_session_get_ptr points at it). */
struct quic_tls_peer {
    ngtcp2_conn *conn; /* set before the first handshake byte is processed */
    bool server;
    struct iroh_public_key expected; /* client: the id we dialed */
    struct iroh_public_key remote;   /* the peer's id, once remote_known */
    bool remote_known;
    const char *log_name; /* for log lines: "conn 3" */
};

/* Loads the endpoint key sk into GnuTLS credentials. Returns 0 and *out, or IROH_EIO (with err
 * saying why) or IROH_ENOMEM. */
int quic_tls_ctx_new(const struct iroh_secret_key *sk, struct quic_tls_ctx **out, char *err,
                     size_t errlen);
void quic_tls_ctx_free(struct quic_tls_ctx *ctx);

/* Makes a session for peer->server's role offering (client) or accepting (server) alpns
 * [0..n_alpns) (1 to QUIC_TLS_MAX_ALPNS non-empty strings of at most QUIC_ALPN_MAX bytes,
 * copied; a server prefers its own order). peer is borrowed and must outlive the session.
 * Returns 0 and *out (free it with gnutls_deinit), or IROH_EINVAL (bad ALPNs) or IROH_EIO. */
int quic_tls_session_new(struct quic_tls_ctx *ctx, struct quic_tls_peer *peer,
                         const char *const *alpns, size_t n_alpns, gnutls_session_t *out);

/* Copies the negotiated ALPN and a NUL to out (at least QUIC_ALPN_MAX + 1 bytes). Returns its
 * length, or IROH_ENOTFOUND if none was negotiated. */
int quic_tls_selected_alpn(gnutls_session_t session, char *out, size_t out_cap);

#endif
