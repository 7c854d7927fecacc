/* Shared between tls/context.c and tls/conn.c. */
#ifndef CH_TLS_INTERNAL_H
#define CH_TLS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "chopin/config.h"
#include "core/loop.h"
#include "tls/tls.h"

struct ch__tls_cert {
    SSL_CTX *ctx;
    X509 *x509;          /* for SNI matching */
    unsigned char *ocsp; /* DER response to staple, or NULL */
    size_t ocsp_len;
};

/* One set of certificates; the first context is where every handshake starts. Held by the
 * server while current, and by each connection that started under it. */
struct ch__tls_gen {
    _Atomic int refs;
    int ncerts;
    struct ch__tls_cert *certs;
};

struct ch__tls {
    const struct ch_config *cfg;
    pthread_mutex_t gen_lock; /* guards `gen` (swapped by reload, read at each accept) */
    struct ch__tls_gen *gen;
    pthread_mutex_t keys_lock;
    struct {
        unsigned char name[16];
        unsigned char aes[32];
        unsigned char hmac[32];
    } keys[2]; /* [0] current, [1] previous */
    int nkeys;
    uint64_t rotated_at; /* main thread only */
};

/* TLS_HTTP=redirect (tls/redirect.c): state of a plain connection being answered with 308. */
struct ch__tls_redirect;
struct ch__tls_redirect *ch__tls_redirect_new(struct ch__conn *c);
void ch__tls_redirect_start(struct ch__conn *c);
int ch__tls_redirect_expired(struct ch__tls_redirect *r, uint64_t now);
struct ch__tls_redirect *ch__tls_redirect_of(struct ch__conn *c);

/* Takes a reference on the current generation. */
struct ch__tls_gen *ch__tls_gen_get(struct ch__tls *t);
void ch__tls_gen_unref(struct ch__tls_gen *g);

#endif
