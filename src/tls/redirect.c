/* TLS_HTTP=redirect: the plain port answers every request with 308 to the same URL over
 * HTTPS, and closes. Only the request line and Host are read; nothing reaches the
 * application. The connection belongs to tls/ (CH__CONN_HANDSHAKE) for its whole life. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chopin/log.h"
#include "core/conn.h"
#include "core/server.h"
#include "core/worker.h"
#include "tls/internal.h"

enum { HEAD_MAX = 8192, LINGER_MS = 2000 };
enum { R_HEAD, R_SEND, R_LINGER };

struct ch__tls_redirect {
    char in[HEAD_MAX];
    size_t inlen;
    char out[HEAD_MAX + 512];
    size_t outlen, outpos;
    uint64_t deadline;
    int state;
};

/* Host as the client sent it, without a port; letters, digits, '-', '.', or an IPv6
 * literal in brackets. Anything else is refused rather than echoed into Location. */
static int host_ok(const char *h, size_t n, size_t *name_len)
{
    size_t i = 0;
    if (n && h[0] == '[') {
        for (i = 1; i < n && h[i] != ']'; i++)
            if (!strchr("0123456789abcdefABCDEF:.", h[i])) return 0;
        if (i == n) return 0;
        i++;
    } else {
        for (; i < n && h[i] != ':'; i++)
            if (!(h[i] == '-' || h[i] == '.' || (h[i] >= '0' && h[i] <= '9') ||
                  ((h[i] | 0x20) >= 'a' && (h[i] | 0x20) <= 'z')))
                return 0;
    }
    if (i == 0) return 0;
    *name_len = i;
    if (i == n) return 1;
    if (h[i] != ':') return 0;
    for (size_t k = i + 1; k < n; k++)
        if (h[k] < '0' || h[k] > '9') return 0;
    return 1;
}

/* Builds the answer for a complete head in r->in (`end` is the offset of the blank line). */
static void answer(struct ch__tls_redirect *r, const struct ch_config *cfg, size_t end)
{
    const char *p = r->in, *eol = memchr(p, '\r', end);
    const char *sp1 = eol ? memchr(p, ' ', (size_t)(eol - p)) : NULL;
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    const char *host = NULL;
    size_t hostlen = 0, name = 0;
    for (const char *line = eol ? eol + 2 : NULL; line && line < p + end;) {
        const char *le = memchr(line, '\r', (size_t)(p + end - line));
        if (!le) le = p + end;
        if ((size_t)(le - line) > 5 && !strncasecmp(line, "host:", 5)) {
            host = line + 5;
            while (host < le && (*host == ' ' || *host == '\t')) host++;
            hostlen = (size_t)(le - host);
            while (hostlen && (host[hostlen - 1] == ' ' || host[hostlen - 1] == '\t')) hostlen--;
        }
        line = le + 2;
    }
    int ok = sp1 && sp2 && sp1[1] == '/' && host && host_ok(host, hostlen, &name);
    for (const char *t = sp1 ? sp1 + 1 : NULL; ok && t < sp2; t++) ok = *t > 0x20 && *t < 0x7f;
    int n;
    if (!ok) {
        n = snprintf(r->out, sizeof(r->out),
                     "HTTP/1.1 400 Bad Request\r\nServer: chopin\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
    } else {
        char port[16] = "";
        if (cfg->tls_port != 443) snprintf(port, sizeof(port), ":%d", cfg->tls_port);
        n = snprintf(r->out, sizeof(r->out),
                     "HTTP/1.1 308 Permanent Redirect\r\nServer: chopin\r\n"
                     "Location: https://%.*s%s%.*s\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n",
                     (int)name, host, port, (int)(sp2 - sp1 - 1), sp1 + 1);
    }
    r->outlen = n > 0 && (size_t)n < sizeof(r->out) ? (size_t)n : 0;
    r->outpos = 0;
    r->state = R_SEND;
}

static void step(struct ch__conn *c)
{
    struct ch__tls_redirect *r = ch__tls_redirect_of(c);
    const struct ch_config *cfg = c->worker->server->cfg;
    while (r->state == R_HEAD) {
        ssize_t n = read(c->io.fd, r->in + r->inlen, sizeof(r->in) - 1 - r->inlen);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            ch__conn_close(c);
            return;
        }
        r->inlen += (size_t)n;
        r->in[r->inlen] = '\0';
        char *end = strstr(r->in, "\r\n\r\n");
        if (end)
            answer(r, cfg, (size_t)(end - r->in) + 2);
        else if (r->inlen == sizeof(r->in) - 1) {
            ch__conn_close(c); /* a head this large is not a request worth redirecting */
            return;
        }
    }
    while (r->state == R_SEND && r->outpos < r->outlen) {
        ssize_t n = write(c->io.fd, r->out + r->outpos, r->outlen - r->outpos);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            ch__conn_close(c);
            return;
        }
        r->outpos += (size_t)n;
    }
    if (r->state == R_SEND) {
        /* Read what the client still sends before closing, or the kernel would answer
         * unread input with RST, which may destroy the response in flight. */
        shutdown(c->io.fd, SHUT_WR);
        r->state = R_LINGER;
        r->deadline = c->worker->loop.now + LINGER_MS;
    }
    char sink[4096];
    for (;;) {
        ssize_t n = read(c->io.fd, sink, sizeof(sink));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        ch__conn_close(c);
        return;
    }
}

static void on_event(struct ch__io *io, uint32_t events)
{
    struct ch__conn *c = (struct ch__conn *)io;
    (void)events;
    if (!(c->flags & CH__CONN_CLOSED)) step(c);
}

struct ch__tls_redirect *ch__tls_redirect_new(struct ch__conn *c)
{
    struct ch__tls_redirect *r = malloc(sizeof(*r));
    if (!r) return NULL;
    r->inlen = r->outlen = r->outpos = 0;
    r->state = R_HEAD;
    r->deadline = c->worker->loop.now + c->worker->server->cfg->head_timeout_ms;
    return r;
}

void ch__tls_redirect_start(struct ch__conn *c)
{
    c->io.cb = on_event;
    step(c);
}

int ch__tls_redirect_expired(struct ch__tls_redirect *r, uint64_t now)
{
    return now >= r->deadline;
}
