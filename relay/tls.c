/* relay/tls.c — GnuTLS server sessions over memory buffers (see tls.h). */
#include "relay/tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iroh/error.h"

struct relay_tls_creds {
    gnutls_certificate_credentials_t cert;
    gnutls_priority_t priority;
};

struct relay_tls {
    gnutls_session_t session;
    relay_tls_push_fn *push;
    void *ctx;
    const uint8_t *in; /* the ciphertext being fed, consumed by pull */
    size_t in_len;
    bool ready;
};

int relay_tls_creds_load(const char *cert_path, const char *key_path, struct relay_tls_creds **out,
                         char *err, size_t err_cap)
{
    struct relay_tls_creds *c = calloc(1, sizeof *c);
    if (!c) return IROH_ENOMEM;
    int rc = gnutls_certificate_allocate_credentials(&c->cert);
    if (rc == 0)
        rc =
            gnutls_certificate_set_x509_key_file(c->cert, cert_path, key_path, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        snprintf(err, err_cap, "cannot load %s / %s: %s", cert_path, key_path, gnutls_strerror(rc));
        if (c->cert) gnutls_certificate_free_credentials(c->cert);
        free(c);
        return IROH_EINVAL;
    }
    /* TLS 1.2 and 1.3, as upstream (rustls safe defaults). */
    rc = gnutls_priority_init(&c->priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL);
    if (rc < 0) {
        snprintf(err, err_cap, "TLS priorities: %s", gnutls_strerror(rc));
        gnutls_certificate_free_credentials(c->cert);
        free(c);
        return IROH_EINVAL;
    }
    *out = c;
    return IROH_OK;
}

void relay_tls_creds_free(struct relay_tls_creds *creds)
{
    if (!creds) return;
    gnutls_priority_deinit(creds->priority);
    gnutls_certificate_free_credentials(creds->cert);
    free(creds);
}

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
    struct relay_tls *t = p;
    if (t->in_len == 0) {
        gnutls_transport_set_errno(t->session, EAGAIN);
        return -1;
    }
    size_t n = len < t->in_len ? len : t->in_len;
    memcpy(buf, t->in, n);
    t->in += n;
    t->in_len -= n;
    return (ssize_t)n;
}

static ssize_t push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
    struct relay_tls *t = p;
    if (t->push(t->ctx, buf, len) < 0) {
        gnutls_transport_set_errno(t->session, EIO);
        return -1;
    }
    return (ssize_t)len;
}

int relay_tls_new(struct relay_tls_creds *creds, relay_tls_push_fn *push_fn, void *ctx,
                  struct relay_tls **out)
{
    struct relay_tls *t = calloc(1, sizeof *t);
    if (!t) return IROH_ENOMEM;
    if (gnutls_init(&t->session, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
        free(t);
        return IROH_ENOMEM;
    }
    gnutls_priority_set(t->session, creds->priority);
    gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, creds->cert);
    gnutls_certificate_server_set_request(t->session, GNUTLS_CERT_IGNORE);
    gnutls_transport_set_ptr(t->session, t);
    gnutls_transport_set_pull_function(t->session, pull);
    gnutls_transport_set_push_function(t->session, push);
    t->push = push_fn;
    t->ctx = ctx;
    *out = t;
    return IROH_OK;
}

void relay_tls_free(struct relay_tls *tls)
{
    if (!tls) return;
    gnutls_deinit(tls->session);
    free(tls);
}

bool relay_tls_ready(const struct relay_tls *tls)
{
    return tls->ready;
}

int relay_tls_feed(struct relay_tls *t, const uint8_t *data, size_t len, uint8_t *scratch,
                   size_t scratch_cap, relay_tls_plain_fn *plain, void *plain_ctx)
{
    t->in = data;
    t->in_len = len;
    if (!t->ready) {
        int rc = gnutls_handshake(t->session);
        if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) return IROH_OK;
        if (rc < 0) return IROH_EPROTO;
        t->ready = true;
    }
    for (;;) {
        ssize_t n = gnutls_record_recv(t->session, scratch, scratch_cap);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) return IROH_OK;
        if (n == 0) return IROH_ECLOSED;
        if (n == GNUTLS_E_REHANDSHAKE) continue; /* ignore: TLS 1.2 renegotiation refused */
        if (n < 0) return gnutls_error_is_fatal((int)n) ? IROH_EPROTO : IROH_OK;
        int rc = plain(plain_ctx, scratch, (size_t)n);
        if (rc < 0) return rc;
    }
}

int relay_tls_send(struct relay_tls *t, const uint8_t *const *pieces, const size_t *lens, size_t n)
{
    gnutls_record_cork(t->session);
    for (size_t i = 0; i < n; i++)
        if (lens[i] && gnutls_record_send(t->session, pieces[i], lens[i]) < 0) return IROH_EIO;
    return gnutls_record_uncork(t->session, GNUTLS_RECORD_WAIT) < 0 ? IROH_EIO : IROH_OK;
}

int relay_tls_export(struct relay_tls *t, const char *label, const uint8_t *context,
                     size_t context_len, uint8_t out[32])
{
    int rc = gnutls_prf_rfc5705(t->session, strlen(label), label, context_len,
                                (const char *)context, 32, (char *)out);
    return rc < 0 ? IROH_EPROTO : IROH_OK;
}
