/* The server: configuration, listeners, worker threads, and the main thread's duties
 * (signals, the Date cache, graceful shutdown). */
#ifndef CH_CORE_SERVER_H
#define CH_CORE_SERVER_H

#include <stdatomic.h>

#include "chopin/config.h"
#include "core/worker.h"

struct ch__tls;

struct ch__server {
    const struct ch_config *cfg;
    const struct ch__proto *proto;
    void *proto_ctx; /* shared, read-only state of the protocol layer (e.g. the app) */
    /* Optional per-worker hooks, run on the worker's thread before it serves and after it
     * drained (e.g. to open and close database pools). init returns 0 or a CH_E* code. */
    int (*worker_init)(struct ch_worker *w);
    void (*worker_cleanup)(struct ch_worker *w);
    int precise_wake; /* workers read a precise clock on each wake-up (request timings) */
    /* Optional: runs on the serving thread once every worker started (embedding, tests). */
    void (*ready)(struct ch__server *s, void *arg);
    void *ready_arg;
    int port; /* the port bound: cfg->port, or the one the kernel chose for SERVER_PORT=0 */
    int nworkers;
    struct ch_worker *workers;
    int shared_fd; /* standard mode's single listening socket, else -1 */
    int tls_shared_fd; /* the same for HTTPS */
    struct ch__tls *tls; /* HTTPS certificates and settings, NULL when TLS_CERT is empty */
    _Atomic int stopping;
    _Atomic int draining;       /* SIGTERM received: /health says 503, responses close */
    _Atomic int ready_workers;  /* workers that finished their init hooks */
    _Atomic int unlistened;     /* workers that stopped watching the shared listener */
    _Atomic int failed_workers;
};

/* Prepares `s` for `cfg` and `proto`; nothing is opened yet. */
void ch__server_init(struct ch__server *s, const struct ch_config *cfg,
                    const struct ch__proto *proto, void *proto_ctx);

/* Opens the listeners, starts the workers and serves until SIGINT or SIGTERM, then drains
 * within cfg->shutdown_timeout_ms. Returns 0 after a clean shutdown, or a negative CH_E* code
 * after printing why the server could not start. */
int ch__server_run(struct ch__server *s);

/* Sends `state` ("READY=1", ...) to systemd's $NOTIFY_SOCKET, if set (core/notify.c). */
void ch__sd_notify(const char *state);

/* Asks a running server to shut down, as SIGTERM does (for embedding and tests). */
void ch__server_stop(struct ch__server *s);

#endif
