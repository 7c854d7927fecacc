/* Connection I/O: buffered reads and writes on a non-blocking socket. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chopin/error.h"
#include "core/conn.h"
#include "core/worker.h"
#include "tls/tls.h"

static int take_block(struct ch__conn *c, struct ch_buf *b)
{
    b->ptr = ch__worker_block_get(c->worker);
    if (!b->ptr) return CH_ENOMEM;
    b->cap = CH__BLOCK_SIZE;
    b->len = 0;
    return 0;
}

static void give_back(struct ch__conn *c, struct ch_buf *b)
{
    if (b->ptr) ch__worker_block_put(c->worker, b->ptr, b->cap);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

ssize_t ch__conn_read(struct ch__conn *c, size_t limit)
{
    struct ch_buf *b = &c->rbuf;
    if (!b->ptr && take_block(c, b) != 0) return CH_ENOMEM;
    if (b->len == b->cap) {
        if (b->cap >= limit) return CH_EBUSY;
        size_t want = b->cap * 2 < limit ? b->cap * 2 : limit;
        char *p = realloc(b->ptr, want);
        if (!p) return CH_ENOMEM;
        b->ptr = p;
        b->cap = want;
    }
    size_t room = b->cap - b->len;
    if (room > limit - b->len) room = limit - b->len;
    if (c->tls) {
        /* TLS keeps the flags itself: one record is not one read(2). */
        ssize_t t = ch__tls_read(c, b->ptr + b->len, room);
        if (t > 0) {
            b->len += (size_t)t;
            c->last_io = c->worker->loop.now;
        } else if (b->len == 0) {
            give_back(c, b);
        }
        return t;
    }
    ssize_t n = read(c->io.fd, b->ptr + b->len, room);
    /* Nothing came: a buffer that is still empty goes back to the cache, or every connection
     * accepted before its first byte would hold 8 KiB while it waits. */
    if (n <= 0 && b->len == 0) give_back(c, b);
    if (n > 0) {
        b->len += (size_t)n;
        c->last_io = c->worker->loop.now;
        c->worker->stats.bytes_in += (uint64_t)n;
        /* A short read drained the socket: with edge-triggered epoll the next arrival
         * brings a new edge, so we can skip the read that would only say EAGAIN. */
        if ((size_t)n < room) c->flags &= ~CH__CONN_READABLE;
        return n;
    }
    if (n == 0) {
        c->flags = (c->flags & ~CH__CONN_READABLE) | CH__CONN_PEER_SHUT;
        return 0;
    }
    if (errno == EAGAIN || errno == EINTR) {
        if (errno == EAGAIN) c->flags &= ~CH__CONN_READABLE;
        return CH_INCOMPLETE;
    }
    c->flags = (c->flags & ~CH__CONN_READABLE) | CH__CONN_PEER_SHUT;
    return CH_EIO;
}

void ch__conn_consume(struct ch__conn *c, size_t n)
{
    struct ch_buf *b = &c->rbuf;
    if (n >= b->len) {
        give_back(c, b);
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
}

int ch__conn_wbuf_prepare(struct ch__conn *c)
{
    return c->wbuf.ptr ? 0 : take_block(c, &c->wbuf);
}

int ch__conn_flush(struct ch__conn *c)
{
    struct ch_buf *b = &c->wbuf;
    while (c->wpos < b->len) {
        ssize_t n = c->tls ? ch__tls_send(c, b->ptr + c->wpos, b->len - c->wpos)
                           : write(c->io.fd, b->ptr + c->wpos, b->len - c->wpos);
        if (n > 0) {
            c->wpos += (size_t)n;
            c->last_io = c->worker->loop.now;
            c->worker->stats.bytes_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            c->flags &= ~CH__CONN_WRITABLE;
            /* Keep what is left at the front so the buffer does not creep. */
            if (c->wpos > b->cap / 2) {
                memmove(b->ptr, b->ptr + c->wpos, b->len - c->wpos);
                b->len -= c->wpos;
                c->wpos = 0;
            }
            return CH_INCOMPLETE;
        }
        return CH_EIO;
    }
    c->wpos = 0;
    give_back(c, b);
    return 0;
}

void ch__conn_shutdown_write(struct ch__conn *c)
{
    if (c->tls) ch__tls_shutdown_write(c);
    shutdown(c->io.fd, SHUT_WR);
}

void ch__conn_close(struct ch__conn *c)
{
    if (c->flags & CH__CONN_CLOSED) return;
    if (c->tls) ch__tls_close(c);
    c->flags |= CH__CONN_CLOSED | CH__CONN_PEER_SHUT;
    c->flags &= ~(CH__CONN_READABLE | CH__CONN_WRITABLE);
    /* close() also removes the descriptor from the epoll set: it is never duplicated. */
    close(c->io.fd);
    c->io.fd = -1;
    give_back(c, &c->wbuf);
    c->wpos = 0;
    ch__worker_conn_closed(c->worker, c);
}

void ch__conn_unref(struct ch__conn *c)
{
    c->refs--;
    if (c->refs == 0 && (c->flags & CH__CONN_CLOSED)) ch__worker_conn_closed(c->worker, c);
}
