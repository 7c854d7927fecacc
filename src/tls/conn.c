/* TLS connections: the non-blocking handshake, record I/O, kernel TLS and close. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "chopin/error.h"
#include "chopin/log.h"
#include "core/conn.h"
#include "core/server.h"
#include "core/worker.h"
#include "tls/internal.h"

struct ch__tls_conn {
    SSL *ssl;
    struct ch__tls_gen *gen;           /* the certificates this connection started with */
    struct ch__tls_redirect *redirect; /* a plain connection answered with 308 (no ssl) */
    uint64_t deadline;                 /* end of the handshake */
    unsigned read_wants_write : 1;     /* SSL_read needs the socket writable (e.g. a KeyUpdate) */
    unsigned write_wants_read : 1;
    unsigned failed : 1; /* a fatal error: no close_notify may follow */
    unsigned shut : 1;   /* close_notify sent */
};

static struct ch__tls_conn *tls_of(struct ch__conn *c)
{
    return c->tls;
}

/* Why a handshake or a record failed, for the debug log; empties the error queue, which must
 * be empty before the next SSL call on this thread. */
static void log_failure(struct ch__conn *c, const char *what, int err)
{
    unsigned long e = ERR_peek_error();
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        ch_log(CH_LOG_DEBUG, "tls: fd %d: %s failed: %s", c->io.fd, what, buf);
    } else {
        ch_log(CH_LOG_DEBUG, "tls: fd %d: %s failed (SSL error %d, %s)", c->io.fd, what, err,
               errno ? strerror(errno) : "peer closed");
    }
    ERR_clear_error();
}

/* Once per process, what OpenSSL did with the first established session's records under
 * TLS_KTLS=on: handed to kernel TLS, or kept in user space because the kernel refused. */
static void report_ktls(SSL *ssl)
{
    static _Atomic int reported;
    if (atomic_exchange(&reported, 1)) return;
    int tx = BIO_get_ktls_send(SSL_get_wbio(ssl));
    int rx = BIO_get_ktls_recv(SSL_get_rbio(ssl));
    if (tx || rx)
        ch_log(CH_LOG_INFO, "tls: kernel TLS in use: TX %s, RX %s", tx ? "kernel" : "user space",
               rx ? "kernel" : "user space");
    else
        ch_log(CH_LOG_WARN,
               "tls: the kernel refused kernel TLS for the first session (%s, %s): records are "
               "encrypted in user space (fallback)",
               SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

static void on_tls_event(struct ch__io *io, uint32_t events)
{
    struct ch__conn *c = (struct ch__conn *)io;
    struct ch__tls_conn *tc = tls_of(c);
    /* An edge the TLS layer waited for stands for the one the protocol waits for. */
    if (tc && tc->read_wants_write && (events & EPOLLOUT)) events |= EPOLLIN;
    if (tc && tc->write_wants_read && (events & EPOLLIN)) events |= EPOLLOUT;
    ch__worker_conn_event(io, events);
}

static void established(struct ch__conn *c)
{
    struct ch__tls_conn *tc = tls_of(c);
    struct ch_worker *w = c->worker;
    c->flags &= ~CH__CONN_HANDSHAKE;
    c->io.cb = on_tls_event;
    c->last_io = w->loop.now;
    if (w->server->cfg->tls_ktls) report_ktls(tc->ssl);
    w->server->proto->on_open(c);
}

static void handshake(struct ch__conn *c)
{
    struct ch__tls_conn *tc = tls_of(c);
    int rc = SSL_do_handshake(tc->ssl);
    if (rc == 1) {
        established(c);
        return;
    }
    int err = SSL_get_error(tc->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return; /* next edge */
    /* A bad ClientHello, an old protocol, an alert, a reset: only this connection ends. */
    tc->failed = 1;
    log_failure(c, "handshake", err);
    ch__conn_close(c);
}

static void on_handshake_event(struct ch__io *io, uint32_t events)
{
    struct ch__conn *c = (struct ch__conn *)io;
    (void)events;
    if (c->flags & CH__CONN_CLOSED) return;
    handshake(c);
}

void ch__tls_accept(struct ch__tls *t, struct ch__conn *c)
{
    struct ch__tls_conn *tc = calloc(1, sizeof(*tc));
    if (!tc) {
        ch__conn_close(c);
        return;
    }
    tc->gen = ch__tls_gen_get(t);
    tc->ssl = SSL_new(tc->gen->certs[0].ctx);
    c->tls = tc;
    if (!tc->ssl || SSL_set_fd(tc->ssl, c->io.fd) != 1) {
        tc->failed = 1;
        log_failure(c, "SSL_new", 0);
        ch__conn_close(c);
        return;
    }
    SSL_set_accept_state(tc->ssl);
    tc->deadline = c->worker->loop.now + t->cfg->tls_handshake_timeout_ms;
    c->flags |= CH__CONN_HANDSHAKE;
    c->io.cb = on_handshake_event;
    /* The ClientHello may be here already: its edge may have fired before registration. */
    handshake(c);
}

void ch__tls_redirect_accept(struct ch__conn *c)
{
    struct ch__tls_conn *tc = calloc(1, sizeof(*tc));
    if (tc) tc->redirect = ch__tls_redirect_new(c);
    if (!tc || !tc->redirect) {
        free(tc);
        ch__conn_close(c);
        return;
    }
    c->tls = tc;
    c->flags |= CH__CONN_HANDSHAKE;
    ch__tls_redirect_start(c);
}

struct ch__tls_redirect *ch__tls_redirect_of(struct ch__conn *c)
{
    return tls_of(c)->redirect;
}

void ch__tls_conn_tick(struct ch__conn *c)
{
    struct ch__tls_conn *tc = tls_of(c);
    if (tc->redirect) {
        if (ch__tls_redirect_expired(tc->redirect, c->worker->loop.now)) ch__conn_close(c);
        return;
    }
    if (c->worker->loop.now >= tc->deadline) {
        ch_log(CH_LOG_DEBUG, "tls: fd %d: handshake timed out", c->io.fd);
        tc->failed = 1;
        ch__conn_close(c);
    }
}

ssize_t ch__tls_read(struct ch__conn *c, char *buf, size_t room)
{
    struct ch__tls_conn *tc = tls_of(c);
    size_t got = 0;
    tc->read_wants_write = 0;
    while (got < room) {
        size_t n;
        int rc = SSL_read_ex(tc->ssl, buf + got, room - got, &n);
        if (rc == 1) {
            got += n;
            continue;
        }
        int err = SSL_get_error(tc->ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            tc->read_wants_write = err == SSL_ERROR_WANT_WRITE;
            c->flags &= ~CH__CONN_READABLE;
            return got ? (ssize_t)got : CH_INCOMPLETE;
        }
        /* The end (close_notify, or EOF) or an error: deliver what came before it first; the
         * next call sees the same condition again, READABLE still set. */
        if (got) return (ssize_t)got;
        c->flags = (c->flags & ~CH__CONN_READABLE) | CH__CONN_PEER_SHUT;
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        tc->failed = 1;
        log_failure(c, "read", err);
        return CH_EIO;
    }
    return (ssize_t)got;
}

ssize_t ch__tls_send(struct ch__conn *c, const char *buf, size_t len)
{
    struct ch__tls_conn *tc = tls_of(c);
    size_t n;
    tc->write_wants_read = 0;
    int rc = SSL_write_ex(tc->ssl, buf, len, &n);
    if (rc == 1) return (ssize_t)n;
    int err = SSL_get_error(tc->ssl, rc);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        tc->write_wants_read = err == SSL_ERROR_WANT_READ;
        errno = EAGAIN;
        return -1;
    }
    tc->failed = 1;
    log_failure(c, "write", err);
    errno = EIO;
    return -1;
}

void ch__tls_shutdown_write(struct ch__conn *c)
{
    struct ch__tls_conn *tc = tls_of(c);
    if (tc->failed || tc->shut || (c->flags & CH__CONN_HANDSHAKE)) return;
    tc->shut = 1;
    /* One attempt: the socket may be full, and a peer that will not read our close_notify
     * does not get to hold the connection open. */
    if (SSL_shutdown(tc->ssl) < 0) ERR_clear_error();
}

void ch__tls_close(struct ch__conn *c)
{
    struct ch__tls_conn *tc = tls_of(c);
    if (tc->ssl) {
        if (!(c->flags & CH__CONN_ERROR)) ch__tls_shutdown_write(c);
        SSL_free(tc->ssl);
    }
    if (tc->gen) ch__tls_gen_unref(tc->gen);
    free(tc->redirect);
    free(tc);
    c->tls = NULL;
}
