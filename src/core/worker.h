/* Workers: one thread, one epoll loop, its connections and its caches.
 *
 * A worker accepts from its listener (its own SO_REUSEPORT socket in performance mode, or the
 * shared one in standard mode), runs the protocol's callbacks for its connections, and sweeps
 * them on a periodic tick for timeouts. Nothing in a worker is touched by another thread. */
#ifndef CH_CORE_WORKER_H
#define CH_CORE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/conn.h"
#include "core/loop.h"
#include "util/date.h"
#include "util/decay.h"

struct ch__server;

/* The protocol spoken on accepted connections (the http layer provides HTTP/1.1). */
struct ch__proto {
    size_t conn_size; /* the protocol's connection struct, starting with struct ch__conn */
    int (*worker_init)(struct ch_worker *w); /* per-worker state: 0 or a CH_E* code */
    void (*worker_cleanup)(struct ch_worker *w);
    void (*on_open)(struct ch__conn *c);
    void (*on_event)(struct ch__conn *c); /* flags were updated from an epoll edge */
    void (*on_tick)(struct ch__conn *c);  /* periodic: check timeouts against loop.now */
    void (*worker_tick)(struct ch_worker *w); /* periodic, once per worker: trim caches */
    void (*on_shutdown)(struct ch__conn *c); /* the server drains: close when idle */
};

/* Counters of one worker, written only by its own thread with plain stores; the metrics scrape
 * reads them from another thread (see framework/metrics.c). */
struct ch__worker_stats {
    uint64_t accepted;  /* connections accepted */
    uint64_t bytes_in;  /* bytes read from clients */
    uint64_t bytes_out; /* bytes written to clients */
    uint64_t active;    /* requests being handled (connections not idle) */
};

/* Caches are trimmed every CH__TRIM_TICKS ticks (10 s), see util/decay.h. */
enum { CH__BLOCK_SIZE = 8192, CH__TICK_MS = 250, CH__TRIM_TICKS = 10000 / CH__TICK_MS };

struct ch_worker {
    struct ch__loop loop;
    struct ch__server *server;
    int id;
    int cpu; /* pinned CPU, or -1 */
    pthread_t thread;
    struct ch__io listen_io;
    int listening;   /* listen_io is in the epoll set */
    int own_listener; /* listen_io.fd is this worker's (performance mode) */
    struct ch__io tls_listen_io; /* HTTPS, fd -1 when off; shared or own like listen_io */
    int tls_listening;
    struct ch__io wake_io; /* eventfd: the main thread asks us to drain */
    struct ch__timer tick;
    struct ch__timer accept_retry;
    struct ch__conn live;     /* sentinel of the live list */
    struct ch__conn *closing; /* closed, to release after the batch */
    size_t nconns;
    void **blocks; /* cache of CH__BLOCK_SIZE buffers, grown to the load */
    size_t nblocks, capblocks;
    struct ch__decay blocks_decay;
    struct ch__conn *free_conns;
    size_t nfree_conns;
    int draining;
    int announced; /* the server drains soon: every response says Connection: close */
    int unlistened; /* stopped accepting for good */
    uint64_t drain_deadline;
    struct ch__worker_stats stats;
    uint64_t wake_ns; /* CLOCK_MONOTONIC at the last wake-up, when server->precise_wake */
    _Atomic uint64_t heartbeat; /* loop time of the last tick, for the systemd watchdog */
    int date_slot;              /* which shared Date value `date` holds */
    char date[CH__DATE_LEN + 3]; /* this worker's copy of the Date header value */
    void *proto_data; /* per-worker state of the protocol layer */
    void *app_data;   /* per-worker state of the application (e.g. database pools) */
};

/* Takes an 8 KiB block from the worker's cache (or the heap); NULL when out of memory. */
void *ch__worker_block_get(struct ch_worker *w);

/* Gives a buffer back: CH__BLOCK_SIZE blocks return to the cache, anything else is freed. */
void ch__worker_block_put(struct ch_worker *w, void *p, size_t cap);

/* The io callback of an established connection: records what the epoll edge says in its
 * flags and runs the protocol (TLS connections pass through tls/ first). */
void ch__worker_conn_event(struct ch__io *io, uint32_t events);

/* Queues a closed connection for release at the end of the batch. */
void ch__worker_conn_closed(struct ch_worker *w, struct ch__conn *c);

/* Prepares worker `id` (loop, caches). 0 or a negative CH_E* code. */
int ch__worker_init(struct ch_worker *w, struct ch__server *s, int id);

/* The thread body: accepts and serves until drained. */
void *ch__worker_main(void *arg);

/* Asks the worker (from any thread) to stop accepting and drain. */
void ch__worker_wake(struct ch_worker *w);

#endif
