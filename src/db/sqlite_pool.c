/* SQLite: a small pool of query threads shared by all workers, one connection each, in WAL
 * mode.
 *
 * Why threads rather than running SQLite inline on each worker's loop: an inline query blocks
 * every HTTP connection of that worker while it runs, and SQLite's slow moments are not only
 * slow queries. A commit fsyncs, a checkpoint copies the WAL, a reader page-faults on a cold
 * file, and a writer waits (busy_timeout) for another worker's write lock: inline, each of
 * those would freeze a whole worker, for longer than the query itself. On the pool, a slow
 * batch occupies one thread; the loop only hands batches over (a mutex and a condition
 * variable) and receives them back through an eventfd, and in WAL mode readers on the other
 * threads proceed while one thread writes. The cost is a thread hand-off per batch, small
 * next to SQLite's own work, and it buys a loop that never blocks on disk.
 *
 * Rows are copied into a per-batch result holder (cells plus a byte heap) on the query
 * thread and delivered on the worker's loop. Holders are recycled per worker, so the steady
 * state allocates nothing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "chopin/error.h"
#include "core/worker.h"
#include "db/sqlite.h"
#include "chopin/log.h"

enum { MAX_CACHED_HOLDERS = 64, MAX_CACHED_BYTES = 1 << 20 };

/* The rows of one batch: cells, and a heap for their text (offsets, so it can grow). */
struct holder {
    struct holder *next;
    struct ch__sq_cell *cells;
    size_t ncells, capcells;
    char *heap;
    size_t nheap, capheap;
};

struct sq_worker {
    struct ch__io io; /* eventfd: a thread finished one of our batches; first member */
    struct ch__sq_db *s;
    struct ch_db_batch *done_head, *done_tail; /* under s->mu */
    int running;                               /* under s->mu */
    pthread_cond_t idle;                       /* running dropped to 0 */
    int outstanding; /* submitted, not yet delivered (worker thread only) */
    struct holder *holders;
    int nholders;
};

/* Extended result codes (every connection enables them) tell constraints apart: uniqueness
 * and foreign keys conflict with data already there, as SQLSTATE 23505/23503 on PostgreSQL;
 * other constraints (NOT NULL, CHECK, STRICT types, RAISE in triggers) reject the input. A
 * file that cannot be opened, read, written or grown makes the database unavailable. */
int ch__sq_map_rc(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
    case SQLITE_CONSTRAINT_FOREIGNKEY: return CH_ECONFLICT;
    default: break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return CH_EBUSY;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL: return CH_EUNAVAILABLE;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE: return CH_EINVAL;
    case SQLITE_NOMEM: return CH_ENOMEM;
    case SQLITE_INTERRUPT: return CH_EUNAVAILABLE; /* only ch_db_worker_stop interrupts */
    default: return CH_EIO;
    }
}

/* Heap and cell storage of a holder; grown on the query thread, which owns it meanwhile. */
static int heap_put(struct holder *h, const void *p, size_t n, size_t *off)
{
    if (h->capheap - h->nheap < n) {
        size_t cap = h->capheap ? h->capheap : 1024;
        while (cap - h->nheap < n) cap *= 2;
        char *heap = realloc(h->heap, cap);
        if (!heap) return -1;
        h->heap = heap;
        h->capheap = cap;
    }
    if (n) memcpy(h->heap + h->nheap, p, n);
    *off = h->nheap;
    h->nheap += n;
    return 0;
}

static struct ch__sq_cell *cell_new(struct holder *h)
{
    if (h->ncells == h->capcells) {
        size_t cap = h->capcells ? h->capcells * 2 : 64;
        struct ch__sq_cell *c = realloc(h->cells, cap * sizeof(*c));
        if (!c) return NULL;
        h->cells = c;
        h->capcells = cap;
    }
    return &h->cells[h->ncells++];
}

static void set_error(struct holder *h, struct ch__db_query *q, int err, const char *msg)
{
    q->u.sq.err = err;
    q->u.sq.nrows = q->u.sq.ncols = 0;
    size_t len = strlen(msg);
    if (heap_put(h, msg, len, &q->u.sq.msg_off) == 0)
        q->u.sq.msg_len = len;
    else
        q->u.sq.msg_len = 0;
}

static sqlite3_stmt *stmt_get(struct ch__sq_thread *t, int id)
{
    if (!t->stmts) {
        t->stmts = calloc((size_t)t->s->db->nstmts, sizeof(*t->stmts));
        if (!t->stmts) return NULL;
    }
    if (!t->stmts[id])
        sqlite3_prepare_v3(t->conn, t->s->db->stmts[id].sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &t->stmts[id], NULL);
    return t->stmts[id];
}

/* Parameter i goes to index i + 1, or for $N statements to the index SQLite gave $i+1 (none
 * when the SQL does not use it). */
static int bind_all(sqlite3_stmt *st, const struct ch__db_query *q, const struct ch__db_stmt *def)
{
    for (int i = 0; i < def->nparams; i++) {
        const struct ch_db_param *p = &q->u.sq.params[i];
        int at = def->sq_index ? def->sq_index[i] : i + 1, rc;
        if (!at) continue;
        switch (p->type) {
        case CH_DB_PARAM_INT: rc = sqlite3_bind_int64(st, at, p->u.i); break;
        case CH_DB_PARAM_TEXT:
            rc = sqlite3_bind_text64(st, at, p->u.text.ptr ? p->u.text.ptr : "", p->u.text.len,
                                     SQLITE_STATIC, SQLITE_UTF8);
            break;
        default: rc = sqlite3_bind_null(st, at); break;
        }
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

static int copy_row(struct holder *h, sqlite3_stmt *st, int ncols)
{
    for (int c = 0; c < ncols; c++) {
        struct ch__sq_cell *cell = cell_new(h);
        if (!cell) return -1;
        cell->type = sqlite3_column_type(st, c);
        switch (cell->type) {
        case SQLITE_INTEGER: cell->u.i = sqlite3_column_int64(st, c); break;
        case SQLITE_FLOAT: cell->u.d = sqlite3_column_double(st, c); break;
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const void *p = cell->type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, c)
                                                      : sqlite3_column_blob(st, c);
            size_t len = (size_t)sqlite3_column_bytes(st, c);
            if (heap_put(h, p, len, &cell->u.bytes.off) != 0) return -1;
            cell->u.bytes.len = len;
            break;
        }
        default: break;
        }
    }
    return 0;
}

/* The column's kind from its declared type, as SQLite's affinity rules read it (section 3.1
 * of "Datatypes In SQLite"), after the types SQLite has no storage for: booleans and times,
 * stored as integers or text, typed here so that they print as on PostgreSQL. */
static enum ch_db_type decl_kind(const char *decl)
{
    if (!decl || !*decl) return CH_DB_TYPE_NULL;
    char up[64];
    size_t n = 0;
    for (; n < sizeof(up) - 1 && decl[n]; n++)
        up[n] = (char)(decl[n] >= 'a' && decl[n] <= 'z' ? decl[n] - 32 : decl[n]);
    up[n] = '\0';
    if (strncmp(up, "BOOL", 4) == 0) return CH_DB_TYPE_BOOL;
    if (strncmp(up, "TIMESTAMP", 9) == 0 || strncmp(up, "DATETIME", 8) == 0)
        return CH_DB_TYPE_TIMESTAMP;
    if (strcmp(up, "DATE") == 0) return CH_DB_TYPE_DATE;
    if (strncmp(up, "JSON", 4) == 0) return CH_DB_TYPE_JSON;
    if (strcmp(up, "BYTEA") == 0) return CH_DB_TYPE_BYTES; /* PostgreSQL's name, for one schema */
    if (strstr(up, "INT")) return CH_DB_TYPE_INT;
    if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT")) return CH_DB_TYPE_TEXT;
    if (strstr(up, "BLOB")) return CH_DB_TYPE_BYTES;
    if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB")) return CH_DB_TYPE_FLOAT;
    return CH_DB_TYPE_NUMERIC;
}

/* One cell per column before the rows: the name (NUL-terminated in the heap) and the kind. */
static int copy_meta(struct holder *h, sqlite3_stmt *st, int ncols)
{
    for (int c = 0; c < ncols; c++) {
        struct ch__sq_cell *cell = cell_new(h);
        if (!cell) return -1;
        const char *name = sqlite3_column_name(st, c);
        if (!name) name = "";
        cell->type = (int)decl_kind(sqlite3_column_decltype(st, c));
        cell->u.bytes.len = strlen(name);
        if (heap_put(h, name, cell->u.bytes.len + 1, &cell->u.bytes.off) != 0) return -1;
    }
    return 0;
}

/* Runs one statement; 0 or the error stored in the query. */
static int run_query(struct ch__sq_thread *t, struct holder *h, struct ch__db_query *q)
{
    const struct ch__db_stmt *def = &t->s->db->stmts[q->stmt];
    sqlite3_stmt *st = stmt_get(t, q->stmt);
    if (!st) { /* preparing failed: the schema changed, out of memory, or interrupted */
        set_error(h, q, ch__sq_map_rc(sqlite3_errcode(t->conn)), sqlite3_errmsg(t->conn));
        return q->u.sq.err;
    }
    int rc = bind_all(st, q, def);
    int ncols = sqlite3_column_count(st), nrows = 0;
    size_t meta0 = h->ncells;
    if (rc == SQLITE_OK && copy_meta(h, st, ncols) != 0) rc = SQLITE_NOMEM;
    size_t cell0 = h->ncells;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) break;
        if (copy_row(h, st, ncols) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        nrows++;
    }
    if (rc == SQLITE_DONE) {
        q->u.sq.err = 0;
        q->u.sq.nrows = nrows;
        q->u.sq.ncols = ncols;
        q->u.sq.cell0 = cell0;
        q->u.sq.meta0 = meta0;
        q->u.sq.changes = def->readonly ? nrows : sqlite3_changes64(t->conn);
    } else {
        set_error(h, q, ch__sq_map_rc(rc),
                  rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(t->conn));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return q->u.sq.err;
}

/* A batch of several statements is one transaction, as on PostgreSQL: a failure rolls back the
 * earlier ones and aborts the rest. It takes the write lock up front when it will write, since
 * upgrading a read transaction in WAL mode can fail at once with SQLITE_BUSY. */
static void run_batch(struct ch__sq_thread *t, struct ch_db_batch *b)
{
    struct holder *h = b->drv;
    h->ncells = h->nheap = 0;
    int txn = b->nqueries > 1, failed = 0;
    if (txn) {
        int rc = sqlite3_exec(t->conn, b->writes ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            for (struct ch__db_query *q = b->head; q; q = q->next)
                set_error(h, q, ch__sq_map_rc(rc), sqlite3_errmsg(t->conn));
            return;
        }
    }
    for (struct ch__db_query *q = b->head; q; q = q->next) {
        if (failed)
            set_error(h, q, CH_EIO, "aborted: an earlier statement of the batch failed");
        else if (run_query(t, h, q) != 0)
            failed = 1;
    }
    if (!txn) return;
    if (!failed && sqlite3_exec(t->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int err = ch__sq_map_rc(sqlite3_errcode(t->conn));
        for (struct ch__db_query *q = b->head; q; q = q->next)
            set_error(h, q, err, sqlite3_errmsg(t->conn));
        failed = 1;
    }
    if (failed) sqlite3_exec(t->conn, "ROLLBACK", NULL, NULL, NULL);
}

void *ch__sq_thread_main(void *arg)
{
    struct ch__sq_thread *t = arg;
    struct ch__sq_db *s = t->s;
    /* These threads start before the server blocks SIGINT/SIGTERM/SIGHUP for its own threads
     * (the main thread takes them with sigtimedwait): one delivered here would kill the
     * process, e.g. a SIGHUP (certificate reload) while the main thread is busy. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->qhead && !s->quit) pthread_cond_wait(&s->cv, &s->mu);
        if (!s->qhead) break;
        struct ch_db_batch *b = s->qhead;
        s->qhead = b->next;
        if (!s->qhead) s->qtail = NULL;
        struct sq_worker *sw = b->dw->drv;
        sw->running++;
        t->running = b->dw;
        pthread_mutex_unlock(&s->mu);

        run_batch(t, b);

        pthread_mutex_lock(&s->mu);
        t->running = NULL;
        b->next = NULL;
        int was_empty = !sw->done_head;
        if (sw->done_tail)
            sw->done_tail->next = b;
        else
            sw->done_head = b;
        sw->done_tail = b;
        /* Signalled under the lock: once `running` drops to 0 the worker may free `sw`. */
        uint64_t one = 1;
        if (was_empty && write(sw->io.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            ch_log(CH_LOG_ERROR, "sqlite pool: eventfd write: %s", strerror(errno));
        if (--sw->running == 0) pthread_cond_broadcast(&sw->idle);
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; t->stmts && i < s->db->nstmts; i++) sqlite3_finalize(t->stmts[i]);
    free(t->stmts);
    t->stmts = NULL;
    return NULL;
}

static void holder_put(struct sq_worker *sw, struct holder *h)
{
    if (sw->nholders < MAX_CACHED_HOLDERS && h->capheap <= MAX_CACHED_BYTES &&
        h->capcells * sizeof(struct ch__sq_cell) <= MAX_CACHED_BYTES) {
        h->next = sw->holders;
        sw->holders = h;
        sw->nholders++;
        return;
    }
    free(h->cells);
    free(h->heap);
    free(h);
}

/* Runs a finished batch's callbacks on the worker's loop. */
static void deliver(struct sq_worker *sw, struct ch_db_batch *b)
{
    struct ch_db_worker *dw = b->dw;
    struct holder *h = b->drv;
    struct ch_arena *arena = b->arena;
    ch_db_done_fn done = b->done;
    void *done_arg = b->done_arg;
    struct ch_db_outcome out = {.query = -1, .sqlstate = ""};
    sw->outstanding--;
    struct ch__db_query *q = b->head;
    for (int i = 0; q; i++) {
        struct ch__db_query *next = q->next;
        struct ch_db_result v = {
            .drv = &ch__db_sqlite_driver,
            .arena = arena,
            .err = q->u.sq.err,
            .sqlstate = "",
            .heap = h->heap,
        };
        if (v.err) {
            v.msg = ch_str_make(h->heap + q->u.sq.msg_off, q->u.sq.msg_len);
            ch__db_outcome_note(&out, i, &v);
            if (v.err != CH_EUNAVAILABLE) dw->st.failed++;
        } else {
            v.nrows = q->u.sq.nrows;
            v.ncols = q->u.sq.ncols;
            v.affected = q->u.sq.changes;
            v.p = h->cells + q->u.sq.cell0;
            v.meta = h->cells + q->u.sq.meta0;
        }
        if (q->cb) q->cb(q->arg, &v);
        q = next;
    }
    if (out.err == CH_EUNAVAILABLE) dw->st.unavailable++;
    if (done) done(done_arg, &out);
    holder_put(sw, h);
}

static void on_done(struct ch__io *io, uint32_t events)
{
    struct sq_worker *sw = (struct sq_worker *)io;
    uint64_t n;
    (void)events;
    if (read(io->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        ch_log(CH_LOG_ERROR, "sqlite pool: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&sw->s->mu);
    struct ch_db_batch *b = sw->done_head;
    sw->done_head = sw->done_tail = NULL;
    pthread_mutex_unlock(&sw->s->mu);
    while (b) {
        struct ch_db_batch *next = b->next;
        deliver(sw, b);
        b = next;
    }
}

void ch__sq_submit(struct ch_db_batch *b)
{
    struct ch_db_worker *dw = b->dw;
    struct sq_worker *sw = dw->drv;
    if (b->nqueries == 0) {
        ch__db_defer_fail(dw, b, 0);
        return;
    }
    if (sw->outstanding >= dw->db->opt.max_queued) {
        ch__db_defer_fail(dw, b, CH_EUNAVAILABLE);
        return;
    }
    struct holder *h = sw->holders;
    if (h) {
        sw->holders = h->next;
        sw->nholders--;
    } else if (!(h = calloc(1, sizeof(*h)))) {
        ch__db_defer_fail(dw, b, CH_ENOMEM);
        return;
    }
    b->drv = h;
    b->next = NULL;
    sw->outstanding++;
    struct ch__sq_db *s = sw->s;
    pthread_mutex_lock(&s->mu);
    if (s->qtail)
        s->qtail->next = b;
    else
        s->qhead = b;
    s->qtail = b;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int ch__sq_worker_start(struct ch_db_worker *dw)
{
    struct sq_worker *sw = calloc(1, sizeof(*sw));
    if (!sw) return CH_ENOMEM;
    sw->s = dw->db->drv_data;
    sw->io.cb = on_done;
    sw->io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sw->io.fd < 0) {
        free(sw);
        return CH_EIO;
    }
    if (ch__loop_add(dw->loop, &sw->io, EPOLLIN) != 0) {
        close(sw->io.fd);
        free(sw);
        return CH_EIO;
    }
    pthread_cond_init(&sw->idle, NULL);
    dw->drv = sw;
    return 0;
}

/* Takes this worker's batches off the shared queue, interrupts and waits for the ones running,
 * then answers everything: finished batches normally, unstarted ones with CH_EUNAVAILABLE. */
void ch__sq_worker_stop(struct ch_db_worker *dw)
{
    struct sq_worker *sw = dw->drv;
    struct ch__sq_db *s = sw->s;
    struct ch_db_batch *mine = NULL, **tail = &mine;
    pthread_mutex_lock(&s->mu);
    struct ch_db_batch **pp = &s->qhead, *last = NULL;
    while (*pp) {
        struct ch_db_batch *b = *pp;
        if (b->dw == dw) {
            *pp = b->next;
            b->next = NULL;
            *tail = b;
            tail = &b->next;
        } else {
            last = b;
            pp = &b->next;
        }
    }
    s->qtail = last;
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].running == dw) sqlite3_interrupt(s->threads[i].conn);
    while (sw->running > 0) pthread_cond_wait(&sw->idle, &s->mu);
    struct ch_db_batch *done = sw->done_head;
    sw->done_head = sw->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);

    ch__loop_del(dw->loop, &sw->io);
    close(sw->io.fd);
    while (done) {
        struct ch_db_batch *next = done->next;
        deliver(sw, done);
        done = next;
    }
    while (mine) {
        struct ch_db_batch *next = mine->next;
        holder_put(sw, mine->drv);
        sw->outstanding--;
        ch__db_fail_now(mine, CH_EUNAVAILABLE, "database pool stopped");
        mine = next;
    }
    while (sw->holders) {
        struct holder *h = sw->holders;
        sw->holders = h->next;
        free(h->cells);
        free(h->heap);
        free(h);
    }
    pthread_cond_destroy(&sw->idle);
    free(sw);
    dw->drv = NULL;
}

void ch__sq_stats(const struct ch_db_worker *dw, struct ch_db_stats *st)
{
    const struct sq_worker *sw = dw->drv;
    st->connections = sw ? sw->s->nthreads : 0;
    st->ready = st->connections;
    st->in_flight = sw ? sw->outstanding : 0;
    st->queued = 0;
}
