/* Workers: one thread, one epoll loop, its connections and its caches.
 *
 * A worker accepts from its listener (its own SO_REUSEPORT socket in performance mode, or the
 * shared one in standard mode), runs the protocol's callbacks for its connections, and sweeps
 * them on a periodic tick for timeouts. Nothing in a worker is touched by another thread. */
#ifndef CH_CORE_WORKER_H
#define CH_CORE_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "core/conn.h"
#include "core/loop.h"
#include "util/date.h"
#include "util/decay.h"

struct ch_server;

/* The protocol spoken on accepted connections (the http layer provides HTTP/1.1). */
struct ch_proto {
    size_t conn_size; /* the protocol's connection struct, starting with struct ch_conn */
    int (*worker_init)(struct ch_worker *w); /* per-worker state: 0 or a CH_E* code */
    void (*worker_cleanup)(struct ch_worker *w);
    void (*on_open)(struct ch_conn *c);
    void (*on_event)(struct ch_conn *c); /* flags were updated from an epoll edge */
    void (*on_tick)(struct ch_conn *c);  /* periodic: check timeouts against loop.now */
    void (*worker_tick)(struct ch_worker *w); /* periodic, once per worker: trim caches */
    void (*on_shutdown)(struct ch_conn *c); /* the server drains: close when idle */
};

/* Caches are trimmed every CH_TRIM_TICKS ticks (10 s), see util/decay.h. */
enum { CH_BLOCK_SIZE = 8192, CH_TICK_MS = 250, CH_TRIM_TICKS = 10000 / CH_TICK_MS };

struct ch_worker {
    struct ch_loop loop;
    struct ch_server *server;
    int id;
    int cpu; /* pinned CPU, or -1 */
    pthread_t thread;
    struct ch_io listen_io;
    int listening;   /* listen_io is in the epoll set */
    int own_listener; /* listen_io.fd is this worker's (performance mode) */
    struct ch_io wake_io; /* eventfd: the main thread asks us to drain */
    struct ch_timer tick;
    struct ch_timer accept_retry;
    struct ch_conn live;     /* sentinel of the live list */
    struct ch_conn *closing; /* closed, to release after the batch */
    size_t nconns;
    void **blocks; /* cache of CH_BLOCK_SIZE buffers, grown to the load */
    size_t nblocks, capblocks;
    struct ch_decay blocks_decay;
    struct ch_conn *free_conns;
    size_t nfree_conns;
    int draining;
    uint64_t drain_deadline;
    int date_slot;              /* which shared Date value `date` holds */
    char date[CH_DATE_LEN + 3]; /* this worker's copy of the Date header value */
    void *proto_data; /* per-worker state of the protocol layer */
    void *app_data;   /* per-worker state of the application (e.g. database pools) */
};

/* Takes an 8 KiB block from the worker's cache (or the heap); NULL when out of memory. */
void *ch_worker_block_get(struct ch_worker *w);

/* Gives a buffer back: CH_BLOCK_SIZE blocks return to the cache, anything else is freed. */
void ch_worker_block_put(struct ch_worker *w, void *p, size_t cap);

/* Queues a closed connection for release at the end of the batch. */
void ch__worker_conn_closed(struct ch_worker *w, struct ch_conn *c);

/* Prepares worker `id` (loop, caches). 0 or a negative CH_E* code. */
int ch_worker_init(struct ch_worker *w, struct ch_server *s, int id);

/* The thread body: accepts and serves until drained. */
void *ch_worker_main(void *arg);

/* Asks the worker (from any thread) to stop accepting and drain. */
void ch_worker_wake(struct ch_worker *w);

#endif
