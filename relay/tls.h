/* relay/tls.h — the relay server's TLS (GnuTLS, X.509 certificate and key from PEM files) over
 * memory: ciphertext read from a socket is fed in, plaintext comes out through a callback;
 * plaintext to send goes in, ciphertext comes out through the push callback. Also the RFC 5705
 * exporter for the relay's keying-material authentication. Used by relay/server.c only. */
#ifndef IROH_RELAY_TLS_H
#define IROH_RELAY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct relay_tls_creds;
struct relay_tls;

/* Receives ciphertext to send. Must take all of it (queue it); returns 0, or <0 on failure. */
typedef int relay_tls_push_fn(void *ctx, const uint8_t *data, size_t len);
/* Receives decrypted application data; returns 0 to go on, <0 to stop (the connection is
 * closing). */
typedef int relay_tls_plain_fn(void *ctx, uint8_t *data, size_t len);

/* Loads a PEM certificate chain and key. Returns IROH_OK or IROH_EINVAL with a message. */
int relay_tls_creds_load(const char *cert_path, const char *key_path, struct relay_tls_creds **out,
                         char *err, size_t err_cap);
void relay_tls_creds_free(struct relay_tls_creds *creds);

/* A server session on creds (borrowed; must outlive it). */
int relay_tls_new(struct relay_tls_creds *creds, relay_tls_push_fn *push, void *ctx,
                  struct relay_tls **out);
void relay_tls_free(struct relay_tls *tls);

/* Feeds ciphertext; drives the handshake and hands every decrypted chunk to plain (using
 * scratch[0..scratch_cap) as the buffer). Returns IROH_OK, IROH_ECLOSED on close_notify,
 * IROH_EPROTO on a TLS error, or what plain returned if negative. */
int relay_tls_feed(struct relay_tls *tls, const uint8_t *data, size_t len, uint8_t *scratch,
                   size_t scratch_cap, relay_tls_plain_fn *plain, void *plain_ctx);

/* True once the handshake is complete. */
bool relay_tls_ready(const struct relay_tls *tls);

/* Encrypts the concatenation of the n pieces as one record sequence. Returns IROH_OK or
 * IROH_EIO. */
int relay_tls_send(struct relay_tls *tls, const uint8_t *const *pieces, const size_t *lens,
                   size_t n);

/* The TLS exporter (label, context, 32 bytes) into out. Returns IROH_OK or IROH_EPROTO. */
int relay_tls_export(struct relay_tls *tls, const char *label, const uint8_t *context,
                     size_t context_len, uint8_t out[32]);

#endif
