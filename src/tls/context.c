/* TLS contexts: certificates, protocol settings, SNI, ALPN, OCSP stapling, session tickets
 * and reload. Everything here runs at startup, on SIGHUP or inside OpenSSL's callbacks; the
 * per-connection code is in tls/conn.c. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "chopin/error.h"
#include "chopin/log.h"
#include "tls/internal.h"

enum { MAX_CERTS = 16 };

/* ALPN protocols we speak, in our order of preference (wire format). An HTTP/2 engine would
 * put "\x02h2" first and read the choice with SSL_get0_alpn_selected() after the handshake. */
static const unsigned char alpn_protos[] = "\x08http/1.1";

/* Session ticket keys: the current one encrypts, the previous one still decrypts (and asks
 * for a fresh ticket), so a ticket lives between one and two rotation periods. They live here
 * rather than in the SSL_CTX so that a reload keeps resumption working. */
struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};
_Static_assert(sizeof(struct ticket_key) == sizeof(((struct ch__tls *)0)->keys[0]),
               "ticket key layout");

/* Names OpenSSL's last error, and empties the queue so the next operation starts clean. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, len, "%s", errno ? strerror(errno) : "unknown error");
    } else {
        ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

/* Splits the i-th entry of a comma-separated list into out (empty if there is none). */
static int list_item(const char *list, int i, char *out, size_t cap)
{
    const char *p = list;
    for (; i > 0 && p; i--) {
        p = strchr(p, ',');
        if (p) p++;
    }
    out[0] = '\0';
    if (!p || !*p) return 0;
    size_t n = strcspn(p, ",");
    while (n && (*p == ' ')) p++, n--;
    while (n && p[n - 1] == ' ') n--;
    if (n >= cap) return CH_EINVAL;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int list_count(const char *list)
{
    if (!*list) return 0;
    int n = 1;
    for (const char *p = list; *p; p++) n += *p == ',';
    return n;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, alpn_protos, sizeof(alpn_protos) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol, as RFC 7301 asks */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int on_ocsp(SSL *ssl, void *arg)
{
    const struct ch__tls_cert *cert = arg;
    if (!cert->ocsp_len) return SSL_TLSEXT_ERR_NOACK;
    unsigned char *copy = OPENSSL_memdup(cert->ocsp, cert->ocsp_len);
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    /* OpenSSL takes ownership of the copy. */
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)cert->ocsp_len);
    return SSL_TLSEXT_ERR_OK;
}

/* SNI: the first certificate whose names (SAN, or CN without SANs) match the requested host
 * serves the handshake; the default (first) one serves everything else. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
    struct ch__tls_gen *g = arg;
    (void)alert;
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!host || g->ncerts < 2) return SSL_TLSEXT_ERR_OK;
    for (int i = 0; i < g->ncerts; i++) {
        if (X509_check_host(g->certs[i].x509, host, 0, 0, NULL) == 1) {
            if (i > 0) SSL_set_SSL_CTX(ssl, g->certs[i].ctx);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

static int on_ticket(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct ch__tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    struct ticket_key k;
    int rc = 1;
    pthread_mutex_lock(&t->keys_lock);
    if (enc) {
        memcpy(&k, &t->keys[0], sizeof(k));
    } else if (memcmp(key_name, t->keys[0].name, 16) == 0) {
        memcpy(&k, &t->keys[0], sizeof(k));
        /* TLS 1.3: a fresh ticket after every resumption. Clients use a ticket once (RFC
         * 8446, C.4), and the ticket is the server's answer to the client's Finished: without
         * it a client that has Nagle on holds its first request until our delayed ACK, 40 ms
         * per resumed connection. */
        if (SSL_version(ssl) == TLS1_3_VERSION) rc = 2;
    } else if (t->nkeys > 1 && memcmp(key_name, t->keys[1].name, 16) == 0) {
        memcpy(&k, &t->keys[1], sizeof(k));
        rc = 2; /* valid, but issue a ticket under the current key */
    } else {
        rc = 0; /* unknown or expired: a full handshake */
    }
    pthread_mutex_unlock(&t->keys_lock);
    if (rc == 0) return 0;
    if (enc) {
        memcpy(key_name, k.name, 16);
        if (RAND_bytes(iv, 16) != 1) return -1;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    int ok = enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv)
                 : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv);
    OPENSSL_cleanse(&k, sizeof(k));
    if (ok != 1 || EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
    return rc;
}

static int new_ticket_key(struct ticket_key *k)
{
    return RAND_bytes((unsigned char *)k, sizeof(*k)) == 1 ? 0 : CH_EIO;
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return CH_EIO;
    size_t cap = 4096, n = 0;
    unsigned char *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *q = cap < (1u << 20) ? realloc(p, cap * 2) : NULL;
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!p || err) {
        free(p);
        return CH_EIO;
    }
    *out = p;
    *len = n;
    return 0;
}

/* One context per certificate; all share the same protocol settings. */
static SSL_CTX *new_ctx(const struct ch_config *cfg, struct ch__tls *t, char *why, size_t wlen)
{
    char e[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(why, wlen, "SSL_CTX_new: %s", ssl_reason(e, sizeof(e)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    uint64_t opts = SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (cfg->tls_ktls) opts |= SSL_OP_ENABLE_KTLS;
    SSL_CTX_set_options(ctx, opts);
    /* Partial writes let a large response go out record by record as the socket accepts it;
     * the output buffer may move (it is compacted or grown) between retries. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* Read what the socket has in one read(2) instead of a record header first. */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
        snprintf(why, wlen, "TLS_CIPHERS '%s': %s", cfg->tls_ciphers, ssl_reason(e, sizeof(e)));
        goto fail;
    }
    if (SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
        snprintf(why, wlen, "TLS_CIPHERSUITES '%s': %s", cfg->tls_ciphersuites,
                 ssl_reason(e, sizeof(e)));
        goto fail;
    }
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1) {
        snprintf(why, wlen, "groups: %s", ssl_reason(e, sizeof(e)));
        goto fail;
    }
    SSL_CTX_set_dh_auto(ctx, 1);
    /* Stateless resumption only: tickets carry the session, so no cache is shared (and locked)
     * between workers, and any worker resumes any session. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(ctx, (long)(2 * (cfg->tls_ticket_rotate_ms / 1000) + 1));
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
    SSL_CTX_set_app_data(ctx, t);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static void gen_free(struct ch__tls_gen *g)
{
    for (int i = 0; i < g->ncerts; i++) {
        SSL_CTX_free(g->certs[i].ctx);
        X509_free(g->certs[i].x509);
        free(g->certs[i].ocsp);
    }
    free(g->certs);
    free(g);
}

void ch__tls_gen_unref(struct ch__tls_gen *g)
{
    if (atomic_fetch_sub(&g->refs, 1) == 1) gen_free(g);
}

struct ch__tls_gen *ch__tls_gen_get(struct ch__tls *t)
{
    pthread_mutex_lock(&t->gen_lock);
    struct ch__tls_gen *g = t->gen;
    atomic_fetch_add(&g->refs, 1);
    pthread_mutex_unlock(&t->gen_lock);
    return g;
}

/* Loads every configured certificate into a new generation, or says why it cannot. */
static struct ch__tls_gen *gen_load(struct ch__tls *t, char *why, size_t wlen)
{
    const struct ch_config *cfg = t->cfg;
    char e[256];
    int n = list_count(cfg->tls_cert);
    if (n != list_count(cfg->tls_key)) {
        snprintf(why, wlen, "TLS_CERT lists %d file(s) but TLS_KEY %d", n,
                 list_count(cfg->tls_key));
        return NULL;
    }
    if (n > MAX_CERTS) {
        snprintf(why, wlen, "at most %d certificates", MAX_CERTS);
        return NULL;
    }
    if (*cfg->tls_ocsp && list_count(cfg->tls_ocsp) > n) {
        snprintf(why, wlen, "TLS_OCSP lists more files than TLS_CERT");
        return NULL;
    }
    struct ch__tls_gen *g = calloc(1, sizeof(*g));
    if (g) g->certs = calloc((size_t)n, sizeof(*g->certs));
    if (!g || !g->certs) {
        free(g);
        snprintf(why, wlen, "out of memory");
        return NULL;
    }
    atomic_init(&g->refs, 1);
    for (int i = 0; i < n; i++) {
        char cert[1024], key[1024], ocsp[1024];
        struct ch__tls_cert *c = &g->certs[i];
        if (list_item(cfg->tls_cert, i, cert, sizeof(cert)) || !*cert ||
            list_item(cfg->tls_key, i, key, sizeof(key)) || !*key ||
            list_item(cfg->tls_ocsp, i, ocsp, sizeof(ocsp))) {
            snprintf(why, wlen, "certificate %d: empty or overlong path", i + 1);
            goto fail;
        }
        c->ctx = new_ctx(cfg, t, why, wlen);
        if (!c->ctx) goto fail;
        g->ncerts = i + 1;
        if (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1) {
            snprintf(why, wlen, "TLS_CERT %s: %s", cert, ssl_reason(e, sizeof(e)));
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1) {
            snprintf(why, wlen, "TLS_KEY %s: %s", key, ssl_reason(e, sizeof(e)));
            goto fail;
        }
        if (SSL_CTX_check_private_key(c->ctx) != 1) {
            snprintf(why, wlen, "TLS_KEY %s does not match TLS_CERT %s: %s", key, cert,
                     ssl_reason(e, sizeof(e)));
            goto fail;
        }
        c->x509 = SSL_CTX_get0_certificate(c->ctx);
        X509_up_ref(c->x509);
        if (*ocsp) {
            if (read_file(ocsp, &c->ocsp, &c->ocsp_len) != 0 || c->ocsp_len == 0) {
                snprintf(why, wlen, "TLS_OCSP %s: %s", ocsp,
                         c->ocsp ? "empty file" : strerror(errno));
                goto fail;
            }
            const unsigned char *p = c->ocsp;
            OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)c->ocsp_len);
            if (!r) {
                snprintf(why, wlen, "TLS_OCSP %s: not a DER OCSP response", ocsp);
                ERR_clear_error();
                goto fail;
            }
            OCSP_RESPONSE_free(r);
        }
        SSL_CTX_set_tlsext_status_cb(c->ctx, on_ocsp);
        SSL_CTX_set_tlsext_status_arg(c->ctx, c);
    }
    SSL_CTX_set_tlsext_servername_callback(g->certs[0].ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(g->certs[0].ctx, g);
    return g;
fail:
    gen_free(g);
    return NULL;
}

static void describe(const struct ch__tls_gen *g)
{
    for (int i = 0; i < g->ncerts; i++) {
        char name[256] = "?";
        X509_NAME_oneline(X509_get_subject_name(g->certs[i].x509), name, sizeof(name));
        ch_log(CH_LOG_INFO, "tls: certificate %d%s: %s%s", i + 1, i == 0 ? " (default)" : "", name,
               g->certs[i].ocsp_len ? " (OCSP stapled)" : "");
    }
}

/* Asks the kernel for the "tls" upper-layer protocol on a loopback connection of our own, as
 * OpenSSL will on each session: tcp_available_ulp lists only the loaded ULPs, and the kernel
 * may load the module on request. 0 when it accepts, else the errno of its refusal. */
static int probe_tls_ulp(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int err = 0, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd = -1, afd = -1;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        err = errno;
    if (!err && (cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) err = errno;
    if (!err && connect(cfd, (struct sockaddr *)&a, sizeof(a)) != 0) err = errno;
    if (!err && (afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) err = errno;
    if (!err && setsockopt(cfd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) != 0) err = errno;
    if (afd >= 0) close(afd);
    if (cfd >= 0) close(cfd);
    if (lfd >= 0) close(lfd);
    return err;
}

/* Without the kernel's "tls" ULP, OpenSSL quietly stays in user space: say so up front rather
 * than let the setting look active. The first established session then reports what OpenSSL
 * actually did (tls/conn.c). */
static void report_ktls(const struct ch_config *cfg)
{
    if (!cfg->tls_ktls) {
        ch_log(CH_LOG_INFO, "tls: record layer in user space (TLS_KTLS=off)");
        return;
    }
    char ulp[256] = "";
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
    if (f) {
        if (!fgets(ulp, sizeof(ulp), f)) ulp[0] = '\0';
        fclose(f);
    }
    ulp[strcspn(ulp, "\n")] = '\0';
    int err = probe_tls_ulp();
    if (!err)
        ch_log(CH_LOG_INFO, "tls: TLS_KTLS=on: the kernel accepts the 'tls' ULP; the first "
                            "session's log line says whether its records went to the kernel");
    else
        ch_log(CH_LOG_WARN,
               "tls: TLS_KTLS=on but the kernel refused kernel TLS (TCP_ULP \"tls\": %s; "
               "tcp_available_ulp: '%s'): falling back to user-space TLS",
               strerror(err), ulp);
}

struct ch__tls *ch__tls_new(const struct ch_config *cfg)
{
    struct ch__tls *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->cfg = cfg;
    pthread_mutex_init(&t->gen_lock, NULL);
    pthread_mutex_init(&t->keys_lock, NULL);
    if (RAND_bytes((unsigned char *)&t->keys[0], sizeof(t->keys[0])) != 1) {
        ch_log(CH_LOG_ERROR, "tls: no randomness for session ticket keys");
        ch__tls_free(t);
        return NULL;
    }
    t->nkeys = 1;
    t->rotated_at = ch__now_ms();
    char why[4096];
    t->gen = gen_load(t, why, sizeof(why));
    if (!t->gen) {
        ch_log(CH_LOG_ERROR, "tls: %s", why);
        ch__tls_free(t);
        return NULL;
    }
    describe(t->gen);
    report_ktls(cfg);
    return t;
}

void ch__tls_free(struct ch__tls *t)
{
    if (!t) return;
    if (t->gen) ch__tls_gen_unref(t->gen);
    OPENSSL_cleanse(t->keys, sizeof(t->keys));
    pthread_mutex_destroy(&t->gen_lock);
    pthread_mutex_destroy(&t->keys_lock);
    free(t);
}

int ch__tls_reload(struct ch__tls *t)
{
    char why[4096];
    struct ch__tls_gen *g = gen_load(t, why, sizeof(why));
    if (!g) {
        ch_log(CH_LOG_ERROR, "tls: reload failed, keeping the current certificates: %s", why);
        return CH_EINVAL;
    }
    pthread_mutex_lock(&t->gen_lock);
    struct ch__tls_gen *old = t->gen;
    t->gen = g;
    pthread_mutex_unlock(&t->gen_lock);
    /* Connections that started under the old certificates keep them until they close. */
    ch__tls_gen_unref(old);
    ch_log(CH_LOG_INFO, "tls: certificates reloaded");
    describe(g);
    return 0;
}

void ch__tls_main_tick(struct ch__tls *t)
{
    uint64_t now = ch__now_ms();
    if (now - t->rotated_at < t->cfg->tls_ticket_rotate_ms) return;
    struct ticket_key k;
    if (new_ticket_key(&k) != 0) return;
    pthread_mutex_lock(&t->keys_lock);
    t->keys[1] = t->keys[0];
    memcpy(&t->keys[0], &k, sizeof(k));
    t->nkeys = 2;
    pthread_mutex_unlock(&t->keys_lock);
    OPENSSL_cleanse(&k, sizeof(k));
    t->rotated_at = now;
    ch_log(CH_LOG_DEBUG, "tls: session ticket key rotated");
}
