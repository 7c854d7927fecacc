/* HTTPS: TLS 1.2/1.3 termination with OpenSSL, hooked into the core's connections.
 *
 * A TLS connection is an ordinary struct ch__conn whose `tls` pointer is set; plain
 * connections leave it NULL and never reach this code. After accept, the connection belongs
 * to this module (CH__CONN_HANDSHAKE is set, its io callback is ours) until the handshake
 * completes; then it is handed to the protocol (on_open) and ch__conn_read/ch__conn_flush
 * route through SSL_read/SSL_write.
 *
 * Certificates and settings live in a "generation": one SSL_CTX per certificate (the first is
 * the default, the others are picked by SNI), shared by every worker. SIGHUP builds a new
 * generation and swaps it in; connections keep the generation they started with. Session
 * tickets are encrypted with keys held outside the generations and rotated on a timer, so
 * resumption works across workers and across reloads. */
#ifndef CH_TLS_TLS_H
#define CH_TLS_TLS_H

#include <sys/types.h>

#include "chopin/config.h"

struct ch__conn;
struct ch_worker;
struct ch__tls;

/* Builds the server's TLS state from cfg (certificates, keys, ciphers...). Returns NULL
 * after logging why when something is wrong (the server must not start). */
struct ch__tls *ch__tls_new(const struct ch_config *cfg);
void ch__tls_free(struct ch__tls *t);

/* Reloads certificates and keys from the configured files (SIGHUP). On any error the current
 * generation stays in use and the reason is logged. 0 or a CH_E* code. */
int ch__tls_reload(struct ch__tls *t);

/* Main thread, about twice a second: rotates session ticket keys when due. */
void ch__tls_main_tick(struct ch__tls *t);

/* Starts the handshake on a freshly accepted connection (already in the worker's live list
 * and registered with epoll). The protocol's on_open runs when it completes; on failure the
 * connection is closed. */
void ch__tls_accept(struct ch__tls *t, struct ch__conn *c);

/* TLS_HTTP=redirect: answers a plain connection's request with 308 to https:// and closes
 * it, without involving the protocol. */
void ch__tls_redirect_accept(struct ch__conn *c);

/* Periodic check of a connection still handshaking: cut at the handshake timeout. */
void ch__tls_conn_tick(struct ch__conn *c);

/* Reads up to `room` bytes of application data: the byte count, 0 at the end of the stream,
 * CH_INCOMPLETE when the socket has nothing (READABLE is then cleared), or CH_EIO on a bad
 * record, an alert or a socket error. It keeps reading records until the socket is drained or
 * `room` is full, so the connection's READABLE flag stays exact with edge-triggered epoll. */
ssize_t ch__tls_read(struct ch__conn *c, char *buf, size_t room);

/* Encrypts and sends some of buf, as write(2) would: the plaintext byte count taken, or -1
 * with errno EAGAIN (retry on the next edge, with the same bytes first) or EIO. */
ssize_t ch__tls_send(struct ch__conn *c, const char *buf, size_t len);

/* Sends close_notify before our half of the TCP connection is shut down. */
void ch__tls_shutdown_write(struct ch__conn *c);

/* Sends close_notify if it can without blocking, and frees the connection's TLS state. */
void ch__tls_close(struct ch__conn *c);

#endif
