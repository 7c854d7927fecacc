/* A client connection: a non-blocking socket with an input and an output buffer.
 *
 * The socket is registered once, edge-triggered, for input, output and peer shutdown; the
 * flags remember what the last edges said so the protocol never needs epoll_ctl again.
 * Buffers take their storage from the worker's block cache when they need it and give it
 * back as soon as they are empty, so an idle connection holds no buffer memory. */
#ifndef CH_CORE_CONN_H
#define CH_CORE_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include "chopin/buf.h"
#include "core/loop.h"

struct ch_worker;
struct ch__tls_conn;

enum {
    CH__CONN_READABLE = 1u << 0,  /* an input edge arrived and the socket was not drained */
    CH__CONN_WRITABLE = 1u << 1,  /* the socket accepted our last write in full */
    CH__CONN_PEER_SHUT = 1u << 2, /* the peer will send nothing more (FIN, RST or error) */
    CH__CONN_CLOSED = 1u << 3,    /* our socket is closed; the struct awaits release */
    CH__CONN_ERROR = 1u << 4,     /* the socket reported an error or a hang-up (e.g. RST) */
    CH__CONN_HANDSHAKE = 1u << 5, /* TLS handshake in progress: tls/ owns the connection */
};

struct ch__conn {
    struct ch__io io;
    struct ch_worker *worker;
    struct ch__conn *prev, *next; /* the worker's list of live (or released) connections */
    struct ch_buf rbuf;          /* bytes read and not yet consumed by the protocol */
    struct ch_buf wbuf;          /* output; wbuf.ptr[wpos..len) is still to be sent */
    size_t wpos;
    uint64_t last_io; /* loop time of the last read or write progress */
    unsigned flags;
    unsigned refs; /* holders other than the socket, e.g. a request awaiting the database */
    struct ch__tls_conn *tls; /* NULL on plain connections; see tls/tls.h */
};

/* Reads into rbuf, growing it up to `limit` bytes. Returns the byte count; 0 when the peer
 * closed; CH_INCOMPLETE when nothing is available (READABLE is then cleared); CH_EBUSY when
 * rbuf already holds `limit` bytes; CH_EIO on a socket error. */
ssize_t ch__conn_read(struct ch__conn *c, size_t limit);

/* Drops the first `n` bytes of rbuf; frees its storage when it becomes empty. */
void ch__conn_consume(struct ch__conn *c, size_t n);

/* Makes sure wbuf has storage before the protocol appends to it. 0 or CH_ENOMEM. */
int ch__conn_wbuf_prepare(struct ch__conn *c);

/* Bytes of output still to send. */
static inline size_t ch__conn_pending(const struct ch__conn *c)
{
    return c->wbuf.len - c->wpos;
}

/* Writes pending output with one write(2). Returns 0 when everything is sent (wbuf storage is
 * then given back), CH_INCOMPLETE when the socket is full, CH_EIO when the peer is gone. */
int ch__conn_flush(struct ch__conn *c);

/* Ends our direction of the stream (TLS: close_notify first), keeping the read side open. */
void ch__conn_shutdown_write(struct ch__conn *c);

/* Closes the socket at once (pending output is dropped). The struct stays valid until the
 * end of the current loop batch, and while refs > 0. */
void ch__conn_close(struct ch__conn *c);

/* Releases one reference taken by a protocol for asynchronous work. */
void ch__conn_unref(struct ch__conn *c);

#endif
