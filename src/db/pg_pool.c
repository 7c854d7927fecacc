/* PostgreSQL pools: per worker, non-blocking libpq connections in pipeline mode.
 *
 * Each connection carries many batches at once: a batch's statements go out back to back
 * followed by one Sync, and the next batch follows without waiting for the first to answer.
 * The server runs each Sync-delimited group as its own implicit transaction, so a failing
 * statement aborts only its own batch. Results come back in order, so the in-flight batches
 * form a FIFO and the PGresults of the head batch are held until its Sync arrives; its
 * callbacks then run in one go and the batch is never touched again.
 *
 * Connections open with PQconnectStartParams/PQconnectPoll under our own timer, prepare every
 * statement at once (PQsendPrepare, pipelined ahead of the first queries), and come back with
 * exponential backoff and jitter after a failure. While no connection is usable after a
 * failure, batches are refused at once with CH_EUNAVAILABLE rather than queued. */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chopin/error.h"
#include "core/worker.h"
#include "db/pg.h"
#include "chopin/log.h"

enum conn_state { C_DOWN, C_CONNECTING, C_READY };

/* Reconnect delays double from 25 ms up to 500 ms, halved at random. While the pool is down
 * only one connection probes at a time, so the cap can stay low (fast recovery once the server
 * is back) without hammering a server that is still starting or refusing. */
enum { BACKOFF_MIN_MS = 25, BACKOFF_MAX_MS = 500 };

struct pool;

struct conn {
    struct ch__io io;
    struct pool *pool;
    PGconn *pg;
    enum conn_state state;
    uint32_t events;       /* registered with the loop; 0 when not */
    struct ch__timer timer; /* backoff, connect timeout or stall check, by state */
    unsigned failures;     /* consecutive, for the backoff */
    unsigned gen;          /* bumped on every reset, to notice one from inside a callback */
    struct ch_db_batch *head, *tail; /* in flight, oldest first */
    struct ch__db_query *cur;        /* next query of `head` to receive a result */
    int await_null;                  /* the current query's result is in; NULL comes next */
    int inflight;                    /* user batches in flight */
    uint64_t last_read;
    struct ch_db_batch prep;     /* the PREPAREs sent at connect, as a pseudo-batch */
    struct ch__db_query *prep_q; /* its queries, one per statement */
    uint64_t sent_pass;          /* the pool's pass of the last send */
    int corked;                  /* TCP_CORK is on until the end of the pass */
    int nocork;                  /* not TCP (a Unix socket): never cork */
};

struct pool {
    struct ch_db_worker *dw;
    const struct ch_db *db;
    const struct ch__pg_db *p;
    int n;
    struct conn *conns;
    struct ch_db_batch *wait_head, *wait_tail; /* batches waiting for a free pipeline slot */
    int nwait;
    int nready;
    int down;        /* a failure left no usable connection: refuse rather than queue */
    int prep_logged; /* a PREPARE failure was logged during this outage */
    uint64_t pass;   /* loop passes that sent something, counted by the uncork timer */
    struct conn *current; /* the connection this pass sends on (see pick) */
    struct ch_db_batch *pending_head, *pending_tail; /* submitted in this pass, not yet sent */
    int npending;
    struct ch__timer uncork;
};

static void conn_start(struct conn *c);
static void conn_fail(struct conn *c, const char *why);
static void pump(struct pool *p);

static struct conn *conn_of_io(struct ch__io *io)
{
    return (struct conn *)((char *)io - offsetof(struct conn, io));
}

static struct conn *conn_of_timer(struct ch__timer *t)
{
    return (struct conn *)((char *)t - offsetof(struct conn, timer));
}

/* Watches libpq's current socket for `events`. libpq may replace the socket while connecting
 * (another address, SSL fallback); a closed descriptor has already left the epoll set. */
static int watch(struct conn *c, uint32_t events)
{
    struct ch__loop *loop = c->pool->dw->loop;
    int fd = PQsocket(c->pg);
    if (fd < 0) return -1;
    if (c->events && fd == c->io.fd) {
        if (c->events == events) return 0;
        int rc = ch__loop_mod(loop, &c->io, events);
        if (rc == 0) {
            c->events = events;
            return 0;
        }
        if (rc != -ENOENT) return -1;
    } else if (c->events) {
        ch__loop_del(loop, &c->io);
    }
    c->io.fd = fd;
    c->events = 0;
    if (ch__loop_add(loop, &c->io, events) != 0) return -1;
    c->events = events;
    return 0;
}

static void unwatch(struct conn *c)
{
    if (c->events) ch__loop_del(c->pool->dw->loop, &c->io);
    c->events = 0;
}

/* After writing: wait for writability while libpq still holds unsent bytes. */
static int flushed(struct conn *c)
{
    int f = PQflush(c->pg);
    if (f < 0) return -1;
    return watch(c, f ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void append(struct conn *c, struct ch_db_batch *b)
{
    b->next = NULL;
    if (c->head) {
        c->tail->next = b;
    } else {
        c->head = b;
        c->cur = b->head;
    }
    c->tail = b;
    if (b != &c->prep) {
        c->inflight++;
        if (!ch__timer_armed(&c->timer)) {
            /* The stall clock starts when work is sent to an idle connection. */
            c->last_read = c->pool->dw->loop->now;
            ch__timer_start(c->pool->dw->loop, &c->timer, c->pool->db->opt.stall_timeout_ms,
                           c->timer.cb);
        }
    }
}

static int send_batch(struct conn *c, struct ch_db_batch *b)
{
    const struct ch_db *db = c->pool->db;
    for (struct ch__db_query *q = b->head; q; q = q->next) {
        const struct ch__db_stmt *st = &db->stmts[q->stmt];
        if (!PQsendQueryPrepared(c->pg, c->pool->p->names[q->stmt], st->nparams, q->u.pg.values,
                                 q->u.pg.lengths, q->u.pg.formats, 1))
            return -1;
    }
    if (!PQpipelineSync(c->pg)) return -1;
    append(c, b);
    return 0;
}

/* The connection that already sent in this pass of the loop, while it has room: the pass's
 * batches then share its cork, one packet and one wake-up of one server process, instead of
 * a packet per connection. Otherwise the ready connection with the fewest batches in flight
 * (so successive passes spread over the pool). */
static struct conn *pick(struct pool *p)
{
    struct conn *best = NULL;
    int depth = p->db->opt.pipeline_depth;
    struct conn *cur = p->current;
    if (cur && cur->state == C_READY && cur->sent_pass == p->pass && cur->inflight < depth)
        return cur;
    for (int i = 0; i < p->n; i++) {
        struct conn *c = &p->conns[i];
        if (c->state != C_READY || c->inflight >= depth) continue;
        if (!best || c->inflight < best->inflight) best = c;
        if (c->inflight == 0) break;
    }
    return best;
}

/* libpq 15's PQpipelineSync always flushes, so every batch costs a send(): a packet through
 * the network stack and, on the server, a wake-up. When a connection sends a second time in the
 * same pass of the loop, it is corked until the pass ends (the zero-delay uncork timer runs after
 * the pass's I/O), and the pass's later batches leave as one packet. The first batch of a pass
 * is never held back, so an idle server sees no added latency. */
static void dispatch(struct pool *p, struct ch_db_batch *b);

static void on_uncork(struct ch__timer *t)
{
    struct pool *p = (struct pool *)((char *)t - offsetof(struct pool, uncork));
    /* The batches submitted during this pass go out now, after the pass's events: corked
     * together (see before_send), they leave as one packet. */
    while (p->pending_head) {
        struct ch_db_batch *b = p->pending_head;
        p->pending_head = b->next;
        p->npending--;
        dispatch(p, b);
    }
    p->pending_tail = NULL;
    p->pass++;
    int off = 0;
    for (int i = 0; i < p->n; i++) {
        struct conn *c = &p->conns[i];
        if (!c->corked) continue;
        c->corked = 0;
        if (c->state == C_READY) setsockopt(c->io.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
    }
}

static void before_send(struct pool *p, struct conn *c)
{
    /* Cork when this connection already sent in this pass, or more batches follow now. */
    if ((c->sent_pass == p->pass || p->npending > 0) && !c->corked && !c->nocork) {
        int on = 1;
        c->corked = setsockopt(c->io.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0;
        c->nocork = !c->corked;
    }
    c->sent_pass = p->pass;
    p->current = c;
    if (!ch__timer_armed(&p->uncork)) ch__timer_start(p->dw->loop, &p->uncork, 0, on_uncork);
}

/* Sends `b` on some connection, or queues it, or refuses it (always asynchronously). */
static void dispatch(struct pool *p, struct ch_db_batch *b)
{
    struct conn *c = pick(p);
    if (c) {
        before_send(p, c);
        if (send_batch(c, b) == 0 && flushed(c) == 0) return;
        int appended = c->tail == b;
        conn_fail(c, PQerrorMessage(c->pg)); /* refuses everything in flight on c */
        if (!appended) ch__db_defer_fail(p->dw, b, CH_EUNAVAILABLE);
        return;
    }
    if (p->down || p->nwait >= p->db->opt.max_queued) {
        ch__db_defer_fail(p->dw, b, CH_EUNAVAILABLE);
        return;
    }
    b->next = NULL;
    if (p->wait_tail)
        p->wait_tail->next = b;
    else
        p->wait_head = b;
    p->wait_tail = b;
    p->nwait++;
}

/* Moves waiting batches into free pipeline slots. */
static void pump(struct pool *p)
{
    while (p->wait_head && pick(p)) {
        struct ch_db_batch *b = p->wait_head;
        p->wait_head = b->next;
        if (!p->wait_head) p->wait_tail = NULL;
        p->nwait--;
        dispatch(p, b);
    }
}

void ch__pg_submit(struct ch_db_batch *b)
{
    struct pool *p = b->dw->drv;
    if (b->nqueries == 0) {
        ch__db_defer_fail(b->dw, b, 0); /* nothing to run: answered "done" on the next pass */
        return;
    }
    /* Held until the end of the pass (the zero-delay timer runs after the pass's events), so
     * that all the batches the pass's requests submit share one cork and one packet. */
    b->next = NULL;
    if (p->pending_tail) p->pending_tail->next = b;
    else p->pending_head = b;
    p->pending_tail = b;
    p->npending++;
    if (!ch__timer_armed(&p->uncork)) ch__timer_start(p->dw->loop, &p->uncork, 0, on_uncork);
}

static void refuse_waiting(struct pool *p)
{
    while (p->wait_head) {
        struct ch_db_batch *b = p->wait_head;
        p->wait_head = b->next;
        ch__db_defer_fail(p->dw, b, CH_EUNAVAILABLE);
    }
    p->wait_tail = NULL;
    p->nwait = 0;
}

static void clear_held(struct ch_db_batch *b)
{
    for (struct ch__db_query *q = b->head; q; q = q->next) {
        if (q->u.pg.res) PQclear(q->u.pg.res);
        q->u.pg.res = NULL;
    }
}

static uint64_t backoff_ms(struct conn *c)
{
    unsigned f = c->failures > 8 ? 8 : c->failures;
    uint64_t base = (uint64_t)BACKOFF_MIN_MS << (f - (f > 0)); /* 1st failure: the minimum */
    /* cppcheck assumes few failures here; after several, base does pass the cap. */
    // cppcheck-suppress knownConditionTrueFalse
    if (base > BACKOFF_MAX_MS) base = BACKOFF_MAX_MS;
    /* Half fixed, half random: connections of all workers do not retry in lockstep. */
    return base / 2 + ch__db_random(c->pool->dw) % (base / 2 + 1);
}

static void on_timer(struct ch__timer *t);

/* Drops the connection: its batches are refused (asynchronously), a reconnect is scheduled.
 * Safe from anywhere on the worker thread, including inside this connection's callbacks. */
static void conn_fail(struct conn *c, const char *why)
{
    struct pool *p = c->pool;
    int was_ready = c->state == C_READY;
    /* `why` may be libpq's message buffer, gone with PQfinish: keep a copy. */
    char reason[256];
    snprintf(reason, sizeof(reason), "%.*s", (int)strcspn(why ? why : "", "\n"), why ? why : "");
    unwatch(c);
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
    c->gen++;
    struct ch_db_batch *b = c->head;
    c->head = c->tail = NULL;
    c->cur = NULL;
    c->await_null = 0;
    c->inflight = 0;
    c->state = C_DOWN;
    c->corked = c->nocork = 0;
    c->failures++;
    p->dw->st.conn_errors++;
    if (was_ready) p->nready--;
    while (b) {
        struct ch_db_batch *next = b->next;
        clear_held(b);
        if (b != &c->prep) ch__db_defer_fail(p->dw, b, CH_EUNAVAILABLE);
        b = next;
    }
    ch__timer_start(p->dw->loop, &c->timer, backoff_ms(c), on_timer);
    if (p->nready == 0) {
        if (!p->down)
            ch_log(CH_LOG_WARN, "database unavailable (worker %d): %s; retrying", p->dw->w->id,
                   reason);
        p->down = 1;
        refuse_waiting(p);
    } else {
        ch_log(CH_LOG_DEBUG, "database connection lost (worker %d): %s", p->dw->w->id, reason);
    }
}

/* Connected: switch to pipeline mode and send every PREPARE followed by one Sync. Batches may
 * follow right away; the server runs them after the PREPAREs. */
static void conn_ready(struct conn *c)
{
    struct pool *p = c->pool;
    if (PQsetnonblocking(c->pg, 1) != 0 || !PQenterPipelineMode(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    struct ch__db_query **tail = &c->prep.head;
    for (int i = 0; i < p->db->nstmts; i++) {
        const struct ch__db_stmt *st = &p->db->stmts[i];
        if (!PQsendPrepare(c->pg, p->p->names[i], st->sql, st->nparams, (const Oid *)st->ptypes)) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        struct ch__db_query *q = &c->prep_q[i];
        memset(q, 0, sizeof(*q));
        q->stmt = i;
        *tail = q;
        tail = &q->next;
    }
    *tail = NULL;
    if (!PQpipelineSync(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    ch__timer_stop(p->dw->loop, &c->timer);
    append(c, &c->prep);
    c->state = C_READY;
    p->nready++;
    if (flushed(c) != 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    pump(p);
}

static void connect_step(struct conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (watch(c, EPOLLIN) != 0) conn_fail(c, "cannot watch the socket");
        return;
    case PGRES_POLLING_WRITING:
        if (watch(c, EPOLLOUT) != 0) conn_fail(c, "cannot watch the socket");
        return;
    case PGRES_POLLING_OK: conn_ready(c); return;
    default: conn_fail(c, PQerrorMessage(c->pg)); return;
    }
}

static void conn_start(struct conn *c)
{
    struct pool *p = c->pool;
    c->pg = PQconnectStartParams(p->p->keys, p->p->vals, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    PQsetNoticeProcessor(c->pg, ch__pg_notice, NULL);
    c->state = C_CONNECTING;
    ch__timer_start(p->dw->loop, &c->timer, p->db->opt.connect_timeout_ms, on_timer);
    /* Before the first poll, libpq's documented starting point is "wait until writable". */
    if (watch(c, EPOLLOUT) != 0) conn_fail(c, "cannot watch the socket");
}

/* Runs the callbacks of a batch whose Sync arrived; the batch is already off the FIFO. */
static void deliver(struct ch_db_batch *b)
{
    struct ch_db_worker *dw = b->dw;
    struct ch_arena *arena = b->arena;
    ch_db_done_fn done = b->done;
    void *done_arg = b->done_arg;
    struct ch_db_outcome out = {.query = -1, .sqlstate = ""};
    PGresult *failed = NULL; /* holds the outcome's message until done returned */
    struct ch__db_query *q = b->head;
    for (int i = 0; q; i++) {
        /* Read everything before the callback: the last one may free the arena. */
        struct ch__db_query *next = q->next;
        PGresult *r = q->u.pg.res;
        ch_db_result_fn cb = q->cb;
        void *arg = q->arg;
        struct ch_db_result v;
        ch__pg_view(&v, arena, r);
        if (v.err) {
            if (!out.err) failed = r;
            ch__db_outcome_note(&out, i, &v);
            if (v.err != CH_EUNAVAILABLE) dw->st.failed++;
        }
        if (cb) cb(arg, &v);
        if (r != failed) PQclear(r);
        q = next;
    }
    if (out.err == CH_EUNAVAILABLE) dw->st.unavailable++; /* counted per batch, as documented */
    if (done) done(done_arg, &out);
    PQclear(failed);
}

/* The PREPAREs answered: all must have succeeded, or the connection is useless (say, the
 * tables were dropped). Only now does the connection count as a recovery: counting it at
 * connect time would reset the backoff and turn a schema problem into a reconnect storm. */
static int check_prep(struct conn *c)
{
    struct pool *p = c->pool;
    int ok = 1;
    for (struct ch__db_query *q = c->prep.head; q; q = q->next) {
        if (!q->u.pg.res || PQresultStatus(q->u.pg.res) != PGRES_COMMAND_OK) {
            if (ok && !p->prep_logged) {
                p->prep_logged = 1;
                const char *msg = q->u.pg.res ? PQresultErrorMessage(q->u.pg.res) : "no result";
                ch_log(CH_LOG_ERROR, "cannot prepare statement '%s': %.*s",
                       p->db->stmts[q->stmt].name, (int)strcspn(msg, "\n"), msg);
            }
            ok = 0;
        }
    }
    clear_held(&c->prep);
    if (!ok) return 0;
    if (c->failures || p->down) p->dw->st.reconnects++;
    c->failures = 0;
    if (p->down) {
        ch_log(CH_LOG_INFO, "database connection restored (worker %d)", p->dw->w->id);
        p->down = 0;
        p->prep_logged = 0;
        /* The server is back: the other connections retry now rather than at their backoff. */
        for (int i = 0; i < p->n; i++) {
            struct conn *o = &p->conns[i];
            if (o->state == C_DOWN)
                ch__timer_start(p->dw->loop, &o->timer, ch__db_random(p->dw) % 20, on_timer);
        }
    }
    return 1;
}

/* Takes every complete result libpq has parsed. Returns -1 if the connection was reset. */
static int process(struct conn *c)
{
    unsigned gen = c->gen;
    while (c->head && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            if (!c->await_null) break; /* nothing more parsed yet */
            c->await_null = 0;
            continue;
        }
        struct ch_db_batch *b = c->head;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            if (c->cur || c->await_null) {
                conn_fail(c, "protocol error: Sync before the batch's results");
                return -1;
            }
            c->head = b->next;
            if (!c->head) c->tail = NULL;
            c->cur = c->head ? c->head->head : NULL;
            if (b == &c->prep) {
                if (!check_prep(c)) {
                    conn_fail(c, "cannot prepare statements");
                    return -1;
                }
                continue;
            }
            c->inflight--;
            deliver(b);
            if (gen != c->gen) return -1;
            continue;
        }
        if (!c->cur || c->await_null) {
            PQclear(r);
            conn_fail(c, "protocol error: unexpected result");
            return -1;
        }
        c->cur->u.pg.res = r;
        c->cur = c->cur->next;
        c->await_null = 1;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, PQerrorMessage(c->pg));
        return -1;
    }
    return 0;
}

/* Reads what arrived. Over TLS, OpenSSL may keep decrypted bytes that libpq had no room for
 * (a record larger than its free buffer space, which servers that send large results without
 * their 8 KiB staging buffer produce): the socket is then no longer readable and the loop
 * would never look again, so reading goes on while OpenSSL's buffer shrinks. */
static int consume(struct conn *c)
{
    if (!PQconsumeInput(c->pg)) return -1;
    SSL *ssl = PQsslInUse(c->pg) ? PQsslStruct(c->pg, "OpenSSL") : NULL;
    for (int left = ssl ? SSL_pending(ssl) : 0; left > 0;) {
        if (!PQconsumeInput(c->pg)) return -1;
        int now = SSL_pending(ssl);
        if (now >= left) break; /* libpq took nothing: its buffer is full of unparsed input */
        left = now;
    }
    return 0;
}

static void on_io(struct ch__io *io, uint32_t events)
{
    struct conn *c = conn_of_io(io);
    if (c->state == C_CONNECTING) {
        connect_step(c);
        return;
    }
    if (c->state != C_READY) return;
    if ((events & EPOLLOUT) && flushed(c) != 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (consume(c) != 0) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        c->last_read = c->pool->dw->loop->now;
    }
    /* Also after a write: libpq reads while its output is blocked, so results may be parsed
     * without the socket being readable any more. */
    if (process(c) == 0) pump(c->pool);
}

static void on_timer(struct ch__timer *t)
{
    struct conn *c = conn_of_timer(t);
    struct pool *p = c->pool;
    switch (c->state) {
    case C_DOWN:
        for (int i = 0; p->down && i < p->n; i++) {
            if (p->conns[i].state == C_CONNECTING) {
                ch__timer_start(p->dw->loop, &c->timer, backoff_ms(c), on_timer);
                return; /* another connection is probing; conn_ready() will wake us */
            }
        }
        conn_start(c);
        return;
    case C_CONNECTING: conn_fail(c, "connection attempt timed out"); return;
    case C_READY: {
        if (!c->inflight) return; /* idle: re-armed by the next append */
        uint64_t limit = p->db->opt.stall_timeout_ms, idle = p->dw->loop->now - c->last_read;
        if (idle >= limit)
            conn_fail(c, "no response from the server; connection reset");
        else
            ch__timer_start(p->dw->loop, &c->timer, limit - idle, on_timer);
        return;
    }
    }
}

int ch__pg_worker_start(struct ch_db_worker *dw)
{
    struct pool *p = calloc(1, sizeof(*p));
    if (!p) return CH_ENOMEM;
    p->dw = dw;
    p->pass = 1; /* a connection's sent_pass starts at 0: its first send is never corked */
    p->db = dw->db;
    p->p = dw->db->drv_data;
    p->n = dw->db->opt.pool_size;
    p->conns = calloc((size_t)p->n, sizeof(*p->conns));
    if (!p->conns) {
        free(p);
        return CH_ENOMEM;
    }
    dw->drv = p;
    for (int i = 0; i < p->n; i++) {
        struct conn *c = &p->conns[i];
        c->pool = p;
        c->io.cb = on_io;
        c->io.fd = -1;
        c->timer.cb = on_timer;
        c->prep.dw = dw;
        c->prep_q = calloc((size_t)p->db->nstmts, sizeof(*c->prep_q));
        if (!c->prep_q) {
            ch__pg_worker_stop(dw);
            return CH_ENOMEM;
        }
    }
    for (int i = 0; i < p->n; i++) conn_start(&p->conns[i]);
    return 0;
}

void ch__pg_worker_stop(struct ch_db_worker *dw)
{
    struct pool *p = dw->drv;
    if (!p) return;
    /* Tear everything down first, then answer: callbacks then see a pool that is gone (the
     * front end refuses their new batches while stopping). */
    struct ch_db_batch *answer = p->wait_head,
                       **tail = p->wait_tail ? &p->wait_tail->next : &answer;
    p->wait_head = p->wait_tail = NULL;
    /* Batches of this pass that were not sent yet are answered too. */
    *tail = p->pending_head;
    if (p->pending_tail) tail = &p->pending_tail->next;
    p->pending_head = p->pending_tail = NULL;
    p->npending = 0;
    ch__timer_stop(dw->loop, &p->uncork);
    for (int i = 0; i < p->n; i++) {
        struct conn *c = &p->conns[i];
        ch__timer_stop(dw->loop, &c->timer);
        if (c->pg) {
            unwatch(c);
            PQfinish(c->pg);
            c->pg = NULL;
        }
        for (struct ch_db_batch *b = c->head, *next; b; b = next) {
            next = b->next;
            clear_held(b);
            if (b == &c->prep) continue;
            b->next = NULL;
            *tail = b;
            tail = &b->next;
        }
        c->head = c->tail = NULL;
        free(c->prep_q);
    }
    free(p->conns);
    free(p);
    dw->drv = NULL;
    while (answer) {
        struct ch_db_batch *next = answer->next;
        ch__db_fail_now(answer, CH_EUNAVAILABLE, "database pool stopped");
        answer = next;
    }
}

void ch__pg_stats(const struct ch_db_worker *dw, struct ch_db_stats *st)
{
    const struct pool *p = dw->drv;
    st->connections = p ? p->n : 0;
    st->ready = p ? p->nready : 0;
    st->in_flight = 0;
    for (int i = 0; p && i < p->n; i++) st->in_flight += p->conns[i].inflight;
    st->queued = p ? p->nwait + p->npending : 0;
}
