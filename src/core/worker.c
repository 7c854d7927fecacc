/* Worker threads: accepting, the connection pool, the block cache and the timeout sweep. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chopin/error.h"
#include "core/server.h"
#include "core/worker.h"
#include "tls/tls.h"
#include "util/asan.h"
#include "chopin/log.h"


enum {
    MIN_CACHED_BLOCKS = 256,
    MAX_CACHED_BLOCKS = 8192, /* 64 MiB: two per connection with a request in flight */
    MAX_CACHED_CONNS = 4096,
    ACCEPTS_PER_EVENT = 64,
    ACCEPT_RETRY_MS = 100,
};

static struct ch_worker *worker_of_loop(struct ch__loop *l)
{
    return l->data;
}

void *ch__worker_block_get(struct ch_worker *w)
{
    if (w->nblocks) {
        void *p = w->blocks[--w->nblocks];
        ch__decay_took(&w->blocks_decay, w->nblocks);
        CH__UNPOISON(p, CH__BLOCK_SIZE);
        return p;
    }
    ch__decay_took(&w->blocks_decay, 0);
    return malloc(CH__BLOCK_SIZE);
}

void ch__worker_block_put(struct ch_worker *w, void *p, size_t cap)
{
    if (cap == CH__BLOCK_SIZE && w->nblocks == w->capblocks && w->capblocks < MAX_CACHED_BLOCKS) {
        void **grown = realloc(w->blocks, 2 * w->capblocks * sizeof(void *));
        if (grown) {
            w->blocks = grown;
            w->capblocks *= 2;
        }
    }
    if (cap == CH__BLOCK_SIZE && w->nblocks < w->capblocks) {
        CH__POISON(p, CH__BLOCK_SIZE);
        w->blocks[w->nblocks++] = p;
        return;
    }
    free(p);
}

static void trim_blocks(struct ch_worker *w)
{
    size_t n = ch__decay_tick(&w->blocks_decay, w->nblocks, MIN_CACHED_BLOCKS, CH__TRIM_TICKS);
    for (; n; n--) {
        void *p = w->blocks[--w->nblocks];
        CH__UNPOISON(p, CH__BLOCK_SIZE);
        free(p);
    }
}

static struct ch__conn *conn_alloc(struct ch_worker *w)
{
    size_t size = w->server->proto->conn_size;
    struct ch__conn *c = w->free_conns;
    if (c) {
        CH__UNPOISON(c, size);
        w->free_conns = c->next;
        w->nfree_conns--;
    } else {
        c = malloc(size);
        if (!c) return NULL;
    }
    memset(c, 0, size);
    return c;
}

static void conn_release(struct ch_worker *w, struct ch__conn *c)
{
    if (c->rbuf.ptr) ch__worker_block_put(w, c->rbuf.ptr, c->rbuf.cap);
    if (c->wbuf.ptr) ch__worker_block_put(w, c->wbuf.ptr, c->wbuf.cap);
    if (w->nfree_conns < MAX_CACHED_CONNS) {
        c->next = w->free_conns;
        w->free_conns = c;
        w->nfree_conns++;
        /* Poison all but the link, so a stale pointer to a released connection faults. */
        CH__POISON((char *)c + sizeof(struct ch__conn), w->server->proto->conn_size -
                                                       sizeof(struct ch__conn));
        return;
    }
    free(c);
}

void ch__worker_conn_closed(struct ch_worker *w, struct ch__conn *c)
{
    if (c->prev) {
        c->prev->next = c->next;
        c->next->prev = c->prev;
        c->prev = c->next = NULL;
        w->nconns--;
    }
    if (c->refs == 0) {
        c->next = w->closing;
        w->closing = c;
    }
}

/* Responses copy the Date from the worker's own copy, refreshed once per wake-up: the shared
 * value changes twice a second, requests come by the million. */
static void after_wait(struct ch__loop *l)
{
    struct ch_worker *w = worker_of_loop(l);
    ch__date_sync(w->date, &w->date_slot);
    /* One precise clock read per wake-up, not one per request: every request of the batch
     * was waiting since then. */
    if (w->server->precise_wake) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        w->wake_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
}

static void after_batch(struct ch__loop *l)
{
    struct ch_worker *w = worker_of_loop(l);
    while (w->closing) {
        struct ch__conn *c = w->closing;
        w->closing = c->next;
        conn_release(w, c);
    }
}

void ch__worker_conn_event(struct ch__io *io, uint32_t events)
{
    struct ch__conn *c = (struct ch__conn *)io;
    if (c->flags & CH__CONN_CLOSED) return;
    if (events & EPOLLIN) c->flags |= CH__CONN_READABLE;
    if (events & EPOLLOUT) c->flags |= CH__CONN_WRITABLE;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->flags |= CH__CONN_PEER_SHUT;
    /* After an error there may still be bytes to read (a request followed by RST is read in
     * full before the reset is seen), so reading is left to the protocol. */
    if (events & (EPOLLHUP | EPOLLERR)) c->flags |= CH__CONN_READABLE | CH__CONN_ERROR;
    c->worker->server->proto->on_event(c);
}

static void listen_register(struct ch_worker *w)
{
    uint32_t ev = EPOLLIN | (w->own_listener ? 0 : EPOLLEXCLUSIVE);
    if (!w->listening && w->listen_io.fd >= 0 && ch__loop_add(&w->loop, &w->listen_io, ev) == 0)
        w->listening = 1;
    if (!w->tls_listening && w->tls_listen_io.fd >= 0 &&
        ch__loop_add(&w->loop, &w->tls_listen_io, ev) == 0)
        w->tls_listening = 1;
}

static void listen_unregister(struct ch_worker *w)
{
    if (w->listening) ch__loop_del(&w->loop, &w->listen_io);
    w->listening = 0;
    if (w->tls_listening) ch__loop_del(&w->loop, &w->tls_listen_io);
    w->tls_listening = 0;
}

static void on_accept_retry(struct ch__timer *t)
{
    struct ch_worker *w = (struct ch_worker *)((char *)t - offsetof(struct ch_worker, accept_retry));
    if (!w->draining && !w->unlistened) listen_register(w);
}

/* Out of descriptors: a level-triggered listener would wake us forever, so stop watching it
 * for a while. Pending connections wait in the backlog and are served when fds free up. */
static void pause_accepting(struct ch_worker *w, int err)
{
    static _Atomic int warned;
    if (atomic_exchange(&warned, 1) == 0)
        ch_log(CH_LOG_WARN, "accept: %s; pausing accepts for %d ms (further warnings muted)",
               strerror(err), ACCEPT_RETRY_MS);
    listen_unregister(w);
    ch__timer_start(&w->loop, &w->accept_retry, ACCEPT_RETRY_MS, on_accept_retry);
}

/* The plain port answers with 308 to HTTPS (TLS_HTTP=redirect). */
static int plain_redirects(const struct ch_worker *w)
{
    return w->server->tls && w->server->cfg->tls_http == CH_TLS_HTTP_REDIRECT;
}

/* Accepts up to `batch` connections from listener `io`: `tls` for HTTPS, `redirect` for a
 * plain port answering with 308. */
static void accept_batch(struct ch_worker *w, struct ch__io *io, struct ch__tls *tls, int redirect,
                         int batch)
{
    for (int i = 0; i < batch; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EAGAIN || e == EINTR) return;
            if (e == ECONNABORTED || e == EPROTO || e == EPERM) continue;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) pause_accepting(w, e);
            else ch_log(CH_LOG_ERROR, "accept: %s", strerror(e));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct ch__conn *c = conn_alloc(w);
        if (!c) {
            close(fd);
            pause_accepting(w, ENOMEM);
            return;
        }
        c->io.fd = fd;
        c->io.cb = ch__worker_conn_event;
        c->worker = w;
        c->last_io = w->loop.now;
        c->flags = CH__CONN_WRITABLE;
        if (ch__loop_add(&w->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != 0) {
            close(fd);
            conn_release(w, c);
            continue;
        }
        c->next = w->live.next;
        c->prev = &w->live;
        w->live.next->prev = c;
        w->live.next = c;
        w->nconns++;
        w->stats.accepted++;
        if (tls) ch__tls_accept(tls, c);
        else if (redirect) ch__tls_redirect_accept(c);
        else w->server->proto->on_open(c);
    }
}

static void on_accept(struct ch__io *io, uint32_t events)
{
    struct ch_worker *w = (struct ch_worker *)((char *)io - offsetof(struct ch_worker, listen_io));
    (void)events;
    /* An event from the batch in which we stopped listening: in performance mode the socket
     * is already closed, and its number may belong to someone else by now. */
    if (!w->listening) return;
    /* On the shared listener, take one connection per wake-up: EPOLLEXCLUSIVE then hands the
     * next one to another idle worker, so a burst of connects spreads over the workers
     * instead of landing on whichever woke first. */
    accept_batch(w, io, NULL, plain_redirects(w), w->own_listener ? ACCEPTS_PER_EVENT : 1);
}

static void on_accept_tls(struct ch__io *io, uint32_t events)
{
    struct ch_worker *w =
        (struct ch_worker *)((char *)io - offsetof(struct ch_worker, tls_listen_io));
    (void)events;
    if (!w->tls_listening) return;
    accept_batch(w, io, w->server->tls, 0, w->own_listener ? ACCEPTS_PER_EVENT : 1);
}

/* Stops accepting for good. Connections the kernel already queued on the listener would be
 * reset by its close(), so they are accepted (and served, with Connection: close) first; the
 * shared listener of standard mode is closed by the last worker to stop watching it. Closing
 * the socket rather than keeping it open until exit matters when another process shares the
 * port (REUSE_PORT): from then on the kernel sends every new connection to the new process.
 * The HTTPS listener goes the same way. */
static void stop_listening(struct ch_worker *w)
{
    struct ch__server *s = w->server;
    if (w->unlistened) return;
    w->unlistened = 1;
    listen_unregister(w);
    ch__timer_stop(&w->loop, &w->accept_retry);
    if (w->own_listener) {
        if (w->listen_io.fd >= 0) {
            accept_batch(w, &w->listen_io, NULL, plain_redirects(w), s->cfg->backlog);
            close(w->listen_io.fd);
        }
        if (w->tls_listen_io.fd >= 0) {
            accept_batch(w, &w->tls_listen_io, s->tls, 0, s->cfg->backlog);
            close(w->tls_listen_io.fd);
        }
        w->listen_io.fd = w->tls_listen_io.fd = -1;
        return;
    }
    if (atomic_fetch_add(&s->unlistened, 1) + 1 == s->nworkers) {
        if (s->shared_fd >= 0) {
            accept_batch(w, &w->listen_io, NULL, plain_redirects(w), s->cfg->backlog);
            close(s->shared_fd);
            s->shared_fd = -1;
        }
        if (s->tls_shared_fd >= 0) {
            accept_batch(w, &w->tls_listen_io, s->tls, 0, s->cfg->backlog);
            close(s->tls_shared_fd);
            s->tls_shared_fd = -1;
        }
    }
}

static void on_tick(struct ch__timer *t)
{
    struct ch_worker *w = (struct ch_worker *)((char *)t - offsetof(struct ch_worker, tick));
    const struct ch__proto *p = w->server->proto;
    struct ch__conn *c = w->live.next, *next;
    for (; c != &w->live; c = next) {
        next = c->next; /* on_tick may close c */
        if (c->flags & CH__CONN_HANDSHAKE) ch__tls_conn_tick(c);
        else p->on_tick(c);
    }
    trim_blocks(w);
    atomic_store_explicit(&w->heartbeat, w->loop.now, memory_order_relaxed);
    if (p->worker_tick) p->worker_tick(w);
    ch__timer_start(&w->loop, &w->tick, CH__TICK_MS, on_tick);
}

static void begin_drain(struct ch_worker *w)
{
    if (w->draining) return;
    w->draining = 1;
    w->announced = 1;
    w->drain_deadline = w->loop.now + w->server->cfg->shutdown_timeout_ms;
    stop_listening(w);
    const struct ch__proto *p = w->server->proto;
    struct ch__conn *c = w->live.next, *next;
    for (; c != &w->live; c = next) {
        next = c->next;
        /* A TLS handshake in progress may finish (within its timeout and the drain
         * deadline): its request is then served with Connection: close. */
        if (!(c->flags & CH__CONN_HANDSHAKE)) p->on_shutdown(c);
    }
}

/* SIGTERM with a DRAIN_DELAY or REUSE_PORT: keep serving, but every response closes its
 * connection (clients and balancers reconnect, elsewhere once the health check failed); with
 * REUSE_PORT a successor already shares the port, so stop accepting at once. */
static void begin_announce(struct ch_worker *w)
{
    if (w->announced) return;
    w->announced = 1;
    if (w->server->cfg->reuse_port) stop_listening(w);
}

static void on_wake(struct ch__io *io, uint32_t events)
{
    struct ch_worker *w = (struct ch_worker *)((char *)io - offsetof(struct ch_worker, wake_io));
    uint64_t v;
    (void)events;
    if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN) ch_log(CH_LOG_WARN, "eventfd read");
    if (atomic_load(&w->server->stopping)) begin_drain(w);
    else if (atomic_load(&w->server->draining)) begin_announce(w);
}

void ch__worker_wake(struct ch_worker *w)
{
    uint64_t one = 1;
    if (write(w->wake_io.fd, &one, sizeof(one)) < 0) ch_log(CH_LOG_ERROR, "eventfd write");
}

int ch__worker_init(struct ch_worker *w, struct ch__server *s, int id)
{
    int rc;
    memset(w, 0, sizeof(*w));
    w->server = s;
    w->id = id;
    w->cpu = -1;
    w->listen_io.fd = -1;
    w->tls_listen_io.fd = -1;
    w->live.next = w->live.prev = &w->live;
    if ((rc = ch__loop_init(&w->loop)) != 0) return rc;
    w->loop.data = w;
    w->loop.after_batch = after_batch;
    w->loop.after_wait = after_wait;
    w->date_slot = -1;
    ch__date_sync(w->date, &w->date_slot);
    w->wake_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_io.fd < 0) return CH_EIO;
    w->wake_io.cb = on_wake;
    w->listen_io.cb = on_accept;
    w->tls_listen_io.cb = on_accept_tls;
    w->capblocks = MIN_CACHED_BLOCKS;
    w->blocks = calloc(w->capblocks, sizeof(void *));
    if (!w->blocks) return CH_ENOMEM;
    if (ch__loop_add(&w->loop, &w->wake_io, EPOLLIN) != 0) return CH_EIO;
    return 0;
}

static void worker_cleanup(struct ch_worker *w)
{
    after_batch(&w->loop);
    while (w->free_conns) {
        struct ch__conn *c = w->free_conns;
        CH__UNPOISON(c, w->server->proto->conn_size);
        w->free_conns = c->next;
        free(c);
    }
    for (size_t i = 0; i < w->nblocks; i++) {
        CH__UNPOISON(w->blocks[i], CH__BLOCK_SIZE);
        free(w->blocks[i]);
    }
    free(w->blocks);
    w->blocks = NULL;
    close(w->wake_io.fd);
    if (w->own_listener && w->listen_io.fd >= 0) close(w->listen_io.fd);
    if (w->own_listener && w->tls_listen_io.fd >= 0) close(w->tls_listen_io.fd);
    ch__loop_cleanup(&w->loop);
}

void *ch__worker_main(void *arg)
{
    struct ch_worker *w = arg;
    struct ch__server *s = w->server;
    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    if (s->proto->worker_init(w) != 0) {
        atomic_fetch_add(&s->failed_workers, 1);
        ch__server_stop(s);
        worker_cleanup(w);
        return NULL;
    }
    if (s->worker_init && s->worker_init(w) != 0) {
        atomic_fetch_add(&s->failed_workers, 1);
        ch__server_stop(s);
        s->proto->worker_cleanup(w);
        worker_cleanup(w);
        return NULL;
    }
    w->loop.now = ch__now_ms();
    atomic_store_explicit(&w->heartbeat, w->loop.now, memory_order_relaxed);
    ch__timer_start(&w->loop, &w->tick, CH__TICK_MS, on_tick);
    listen_register(w);
    atomic_fetch_add(&s->ready_workers, 1);
    if (atomic_load(&s->stopping)) begin_drain(w);
    else if (atomic_load(&s->draining)) begin_announce(w);

    while (!w->draining || (w->nconns > 0 && w->loop.now < w->drain_deadline))
        ch__loop_run_once(&w->loop, -1);

    /* Past the drain deadline: whatever is left is cut off. */
    while (w->live.next != &w->live) ch__conn_close(w->live.next);
    if (s->worker_cleanup) s->worker_cleanup(w);
    ch__timer_stop(&w->loop, &w->tick);
    after_batch(&w->loop);
    s->proto->worker_cleanup(w);
    worker_cleanup(w);
    return NULL;
}
