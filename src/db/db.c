/* The database front end: picking the driver from the URL, the statement registry, the
 * per-worker handles, batches, deferred failures and the result accessors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "core/worker.h"
#include "db/internal.h"

void ch__db_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Decides the driver and what it opens: a file path (or ":memory:") for SQLite, the URL itself
 * for PostgreSQL, whose own parser (libpq's) then validates every parameter. */
static const struct ch__db_driver *classify(const char *url, const char **target, char *err,
                                            size_t errlen)
{
    if (!url || !*url) {
        *target = "chopin.db";
        return &ch__db_sqlite_driver;
    }
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://")) {
        *target = url;
        return &ch__db_pg_driver;
    }
    if (has_prefix(url, "sqlite:")) {
        const char *p = url + strlen("sqlite:");
        if (strcmp(p, ":memory:") == 0) {
            *target = ":memory:";
            return &ch__db_sqlite_driver;
        }
        if (has_prefix(p, "//")) p += 2; /* sqlite:///abs/path keeps its third slash */
        if (!*p || strcmp(p, "/") == 0) {
            ch__db_errf(err, errlen, "DATABASE_URL '%s' names no SQLite file", url);
            return NULL;
        }
        if (strpbrk(p, "?#")) {
            ch__db_errf(err, errlen, "DATABASE_URL '%s': SQLite URLs take no query string", url);
            return NULL;
        }
        *target = p;
        return &ch__db_sqlite_driver;
    }
    const char *scheme_end = strstr(url, "://");
    if (scheme_end) {
        ch__db_errf(err, errlen,
                    "unsupported DATABASE_URL scheme '%.*s' (use postgres://, postgresql://, "
                    "sqlite:// or sqlite::memory:)",
                    (int)(scheme_end - url > 32 ? 32 : scheme_end - url), url);
        return NULL;
    }
    if (strchr(url, '=')) { /* libpq's "host=... dbname=..." form */
        *target = url;
        return &ch__db_pg_driver;
    }
    ch__db_errf(err, errlen,
                "DATABASE_URL is neither a URL (postgres://, sqlite://) nor a libpq "
                "key=value string");
    return NULL;
}

static void stmt_free(struct ch__db_stmt *st)
{
    free(st->name);
    free(st->sql);
    free(st->ptypes);
    free(st->sq_index);
}

static int stmt_add(struct ch_db *db, const char *name, const char *sql, char *err, size_t errlen)
{
    if (!name || !sql) {
        ch__db_errf(err, errlen, "statement '%s' has no SQL for %s", name ? name : "(null)",
                    db->drv->name);
        return CH_EINVAL;
    }
    if (db->nstmts == db->capstmts) {
        int cap = db->capstmts ? db->capstmts * 2 : 16;
        struct ch__db_stmt *s = realloc(db->stmts, (size_t)cap * sizeof(*s));
        if (!s) return CH_ENOMEM;
        db->stmts = s;
        db->capstmts = cap;
    }
    struct ch__db_stmt *st = &db->stmts[db->nstmts];
    memset(st, 0, sizeof(*st));
    st->name = strdup(name);
    st->sql = strdup(sql);
    if (!st->name || !st->sql) {
        stmt_free(st);
        return CH_ENOMEM;
    }
    int rc = db->drv->stmt_check(db, st, db->nstmts, err, errlen);
    if (rc != 0) {
        stmt_free(st);
        return rc;
    }
    return db->nstmts++;
}

struct ch_db *ch_db_open(const char *url, const struct ch_db_options *opts, char *err,
                         size_t errlen)
{
    const char *target;
    const struct ch__db_driver *drv = classify(url, &target, err, errlen);
    if (!drv) return NULL;
    struct ch_db *db = calloc(1, sizeof(*db));
    if (!db) {
        ch__db_errf(err, errlen, "out of memory");
        return NULL;
    }
    db->drv = drv;
    if (opts) db->opt = *opts;
    if (db->opt.pool_size <= 0) {
        int workers = db->opt.workers > 0 ? db->opt.workers : 1;
        db->opt.pool_size = drv->pool_per_worker ? (16 + workers - 1) / workers : 16;
    }
    if (db->opt.pool_size > 1024) db->opt.pool_size = 1024;
    if (db->opt.pipeline_depth <= 0) db->opt.pipeline_depth = 64;
    if (db->opt.max_queued <= 0) db->opt.max_queued = 4096;
    if (db->opt.connect_timeout_ms == 0) db->opt.connect_timeout_ms = 5000;
    if (db->opt.stall_timeout_ms == 0) db->opt.stall_timeout_ms = 60000;
    pthread_mutex_init(&db->lock, NULL);
    if (drv->open(db, target, err, errlen) != 0) {
        pthread_mutex_destroy(&db->lock);
        free(db);
        return NULL;
    }
    return db;
}

void ch_db_free(struct ch_db *db)
{
    if (!db) return;
    db->drv->close(db);
    for (int i = 0; i < db->nstmts; i++) stmt_free(&db->stmts[i]);
    free(db->stmts);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

const char *ch_db_driver(const struct ch_db *db)
{
    return db->drv->name;
}

int ch_db_stmt(struct ch_db *db, const char *name, const char *sql, const char *sqlite_sql,
               char *err, size_t errlen)
{
    if (!name) name = "(unnamed)";
    pthread_mutex_lock(&db->lock);
    int sealed = db->sealed;
    pthread_mutex_unlock(&db->lock);
    if (sealed) {
        ch__db_errf(err, errlen, "statement '%s' registered after the workers started", name);
        return CH_EBUSY;
    }
    return stmt_add(db, name, db->drv == &ch__db_sqlite_driver && sqlite_sql ? sqlite_sql : sql,
                    err, errlen);
}

/* The deferred-failure timer: answers refused batches outside of the submit that refused
 * them. Callbacks may refuse more batches; the zero-delay timer then fires again in the same
 * timer pass of the loop. */
static void on_defer(struct ch__timer *t)
{
    struct ch_db_worker *dw =
        (struct ch_db_worker *)((char *)t - offsetof(struct ch_db_worker, defer));
    struct ch_db_batch *b = dw->failed;
    dw->failed = NULL;
    dw->failed_tail = &dw->failed;
    while (b) {
        struct ch_db_batch *next = b->next;
        ch__db_fail_now(b, b->err, NULL);
        b = next;
    }
}

void ch__db_defer_fail(struct ch_db_worker *dw, struct ch_db_batch *b, int err)
{
    b->err = err;
    b->next = NULL;
    *dw->failed_tail = b;
    dw->failed_tail = &b->next;
    if (!ch__timer_armed(&dw->defer)) ch__timer_start(dw->loop, &dw->defer, 0, on_defer);
}

static const char *default_message(int err)
{
    switch (err) {
    case CH_EUNAVAILABLE: return "database unavailable";
    case CH_ENOMEM: return "out of memory";
    default: return ch_strerror(err);
    }
}

void ch__db_fail_now(struct ch_db_batch *b, int err, const char *msg)
{
    struct ch_db_worker *dw = b->dw;
    if (err == CH_EUNAVAILABLE) dw->st.unavailable++;
    struct ch_db_result res = {
        .drv = dw->db->drv,
        .arena = b->arena,
        .err = err,
        .msg = ch_str_cstr(msg ? msg : default_message(err)),
        .sqlstate = "",
    };
    /* Everything needed after the last callback is read first: that callback may release
     * the request, and with it the arena holding the batch. */
    ch_db_done_fn done = b->done;
    void *done_arg = b->done_arg;
    struct ch__db_query *q = b->head;
    while (q) {
        struct ch__db_query *next = q->next;
        if (q->cb) q->cb(q->arg, &res);
        q = next;
    }
    struct ch_db_outcome out = {.err = err, .query = -1, .message = res.msg, .sqlstate = ""};
    if (!err) out.message = ch_str_make("", 0);
    if (done) done(done_arg, &out);
}

uint64_t ch__db_random(struct ch_db_worker *dw)
{
    uint64_t x = dw->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    dw->rng = x;
    return x;
}

int ch_db_worker_start(struct ch_db *db, struct ch_worker *w)
{
    if (w->id < 0 || w->id >= CH__DB_MAX_WORKERS) return CH_EINVAL;
    if (db->workers[w->id]) return CH_EBUSY;
    pthread_mutex_lock(&db->lock);
    if (!db->sealed) {
        db->drv->seal(db);
        db->sealed = 1;
    }
    pthread_mutex_unlock(&db->lock);
    struct ch_db_worker *dw = calloc(1, sizeof(*dw));
    if (!dw) return CH_ENOMEM;
    dw->db = db;
    dw->w = w;
    dw->loop = &w->loop;
    dw->failed_tail = &dw->failed;
    dw->rng = (ch__now_ms() << 16) ^ ((uint64_t)(uintptr_t)dw) ^ ((uint64_t)w->id << 40) ^ 1;
    int rc = db->drv->worker_start(dw);
    if (rc != 0) {
        free(dw);
        return rc;
    }
    db->workers[w->id] = dw;
    return 0;
}

void ch_db_worker_stop(struct ch_db *db, struct ch_worker *w)
{
    if (w->id < 0 || w->id >= CH__DB_MAX_WORKERS || !db->workers[w->id]) return;
    struct ch_db_worker *dw = db->workers[w->id];
    dw->stopping = 1;
    /* The driver answers its queues; callbacks that submit again are refused onto the
     * deferred list, which is drained until it stays empty. */
    db->drv->worker_stop(dw);
    while (dw->failed) on_defer(&dw->defer);
    ch__timer_stop(dw->loop, &dw->defer);
    db->workers[w->id] = NULL;
    free(dw);
}

struct ch_db_worker *ch_db_worker_get(const struct ch_db *db, int worker_id)
{
    if (!db || worker_id < 0 || worker_id >= CH__DB_MAX_WORKERS) return NULL;
    return db->workers[worker_id];
}

void ch_db_worker_stats(const struct ch_db_worker *dw, struct ch_db_stats *out)
{
    *out = dw->st;
    dw->db->drv->stats(dw, out);
}

struct ch_db_batch *ch_db_batch_new(struct ch_db_worker *dw, struct ch_arena *arena)
{
    if (!dw || !arena) return NULL;
    struct ch_db_batch *b = ch_arena_alloc(arena, sizeof(*b));
    if (!b) return NULL;
    memset(b, 0, sizeof(*b));
    b->dw = dw;
    b->arena = arena;
    b->tail = &b->head;
    return b;
}

int ch_db_batch_add(struct ch_db_batch *b, int stmt, const struct ch_db_param *params, int nparams,
                    ch_db_result_fn cb, void *arg)
{
    const struct ch_db *db = b->dw->db;
    if (stmt < 0 || stmt >= db->nstmts) return CH_EINVAL;
    const struct ch__db_stmt *st = &db->stmts[stmt];
    if (nparams != st->nparams || (nparams > 0 && !params)) return CH_EINVAL;
    struct ch__db_query *q = ch_arena_alloc(b->arena, sizeof(*q));
    if (!q) return CH_ENOMEM;
    memset(q, 0, sizeof(*q));
    q->stmt = stmt;
    q->cb = cb;
    q->arg = arg;
    int rc = db->drv->encode(b, q, st, params);
    if (rc != 0) return rc;
    if (!st->readonly) b->writes = 1;
    *b->tail = q;
    b->tail = &q->next;
    b->nqueries++;
    return 0;
}

void ch_db_batch_submit(struct ch_db_batch *b, ch_db_done_fn done, void *done_arg)
{
    struct ch_db_worker *dw = b->dw;
    b->done = done;
    b->done_arg = done_arg;
    b->next = NULL;
    dw->st.batches++;
    dw->st.queries += (uint64_t)b->nqueries;
    if (dw->stopping) {
        ch__db_defer_fail(dw, b, CH_EUNAVAILABLE);
        return;
    }
    dw->db->drv->submit(b);
}

/* Result accessors: errors and counts are in the view, values come from the driver. */

int ch_db_error(const struct ch_db_result *res)
{
    return res->err;
}

struct ch_str ch_db_error_message(const struct ch_db_result *res)
{
    return res->err ? res->msg : ch_str_make("", 0);
}

const char *ch_db_sqlstate(const struct ch_db_result *res)
{
    return res->sqlstate ? res->sqlstate : "";
}

int ch_db_rows(const struct ch_db_result *res)
{
    return res->err ? 0 : res->nrows;
}

int ch_db_cols(const struct ch_db_result *res)
{
    return res->err ? 0 : res->ncols;
}

int64_t ch_db_affected(const struct ch_db_result *res)
{
    return res->err ? 0 : res->affected;
}

static int in_range(const struct ch_db_result *res, int row, int col)
{
    return !res->err && row >= 0 && row < res->nrows && col >= 0 && col < res->ncols;
}

int ch_db_is_null(const struct ch_db_result *res, int row, int col)
{
    return !in_range(res, row, col) || res->drv->is_null(res, row, col);
}

int64_t ch_db_int(const struct ch_db_result *res, int row, int col)
{
    return in_range(res, row, col) ? res->drv->get_int(res, row, col) : 0;
}

struct ch_str ch_db_text(const struct ch_db_result *res, int row, int col)
{
    return in_range(res, row, col) ? res->drv->get_text(res, row, col) : ch_str_make("", 0);
}

double ch_db_float(const struct ch_db_result *res, int row, int col)
{
    return in_range(res, row, col) && !res->drv->is_null(res, row, col)
               ? res->drv->get_float(res, row, col)
               : 0;
}

int ch_db_bool(const struct ch_db_result *res, int row, int col)
{
    return in_range(res, row, col) && !res->drv->is_null(res, row, col)
               ? res->drv->get_bool(res, row, col)
               : 0;
}

const char *ch_db_col_name(const struct ch_db_result *res, int col)
{
    return !res->err && col >= 0 && col < res->ncols ? res->drv->col_name(res, col) : "";
}

enum ch_db_type ch_db_col_type(const struct ch_db_result *res, int col)
{
    return !res->err && col >= 0 && col < res->ncols ? res->drv->col_type(res, col)
                                                     : CH_DB_TYPE_NULL;
}

int ch_db_col(const struct ch_db_result *res, const char *name)
{
    if (res->err || !name) return -1;
    for (int c = 0; c < res->ncols; c++)
        if (strcmp(res->drv->col_name(res, c), name) == 0) return c;
    return -1;
}
