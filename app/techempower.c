/* The TechEmpower database tests, per its rules:
 *   GET /db                    one random World row as {"id":N,"randomNumber":M}
 *   GET /queries?queries=N     N rows, each its own query (pipelined in one batch)
 *   GET /fortunes              all Fortune rows plus one added at request time, sorted by
 *                              message here (not in SQL), rendered as escaped HTML
 *   GET /updates?queries=N     N rows read, given new random numbers, written back with one
 *                              batched UPDATE; the updated rows are returned
 *   GET /cached-queries?count=N  N rows from each worker's in-memory World cache
 * Every handler holds its request while the database works and answers from the batch's
 * callbacks; a database that cannot be reached gives the 503 envelope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <chopin/chopin.h>

#include "techempower.h"

enum { WORLD_ROWS = 10000, MAX_QUERIES = 500, MAX_WORKERS = 1024 };

struct world_cache {
    int32_t numbers[WORLD_ROWS + 1]; /* randomNumber by id; loaded once per worker */
    int loaded;                      /* 0 loading, 1 ready, -1 failed */
    struct ch_request *waiting[64];  /* requests that arrived while it loaded */
    int nwaiting;
};

static struct ch_app *the_app;
static int world_by_id_stmt, fortunes_stmt, world_update_stmt, world_all_stmt;
static struct world_cache *caches[MAX_WORKERS];

/* xorshift64* per worker thread: fast, and good enough for picking rows. */
static _Thread_local uint64_t rng;

static int random_id(void)
{
    if (!rng) {
        if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng) || !rng) rng = 0x9E3779B97F4A7C15ull;
    }
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (int)((rng * 2685821657736338717ull >> 33) % WORLD_ROWS) + 1;
}

int techempower_clamp(struct ch_request *req, const char *key)
{
    /* TechEmpower's rule: a missing, malformed or out-of-range count is clamped, never
     * refused. */
    return (int)ch_query_int_clamp(req, key, 1, 1, MAX_QUERIES);
}

static void write_world(struct ch_json_writer *w, int64_t id, int64_t number)
{
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, id);
    ch_json_key(w, "randomNumber");
    ch_json_int(w, number);
    ch_json_object_end(w);
}

/* Shared ending of every database handler: answer unless a result already failed the
 * request, then let the request go. */
static void finish(struct ch_request *req, int err)
{
    if (err == CH_EUNAVAILABLE)
        ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable");
    else if (err)
        ch_error(req, CH_ERR_DATABASE, "query failed: %s", ch_strerror(err));
    else
        ch_respond(req, 200);
    ch_request_release(req);
}

static struct ch_db_batch *batch_for(struct ch_request *req)
{
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (b) ch_request_hold(req);
    return b;
}

/* GET /db and /queries: rows go into the JSON as their results arrive, in order. */
static void on_world_row(void *arg, const struct ch_db_result *res)
{
    struct ch_request *req = arg;
    if (ch_db_error(res) || ch_db_rows(res) != 1) return; /* the done callback reports it */
    write_world(req->user, ch_db_int(res, 0, 0), ch_db_int(res, 0, 1));
}

static void on_single_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    finish(arg, err);
}

static void on_queries_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct ch_request *req = arg;
    if (!err) ch_json_array_end(req->user);
    finish(req, err);
}

static int query_worlds(struct ch_request *req, int n, int array)
{
    struct ch_db_batch *b = batch_for(req);
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable");
    struct ch_json_writer *w = ch_json_begin(req);
    req->user = w;
    if (array) ch_json_array_begin(w);
    for (int i = 0; i < n; i++) {
        struct ch_db_param p = ch_db_param_int(random_id());
        ch_db_batch_add(b, world_by_id_stmt, &p, 1, on_world_row, req);
    }
    ch_db_batch_submit(b, array ? on_queries_done : on_single_done, req);
    return 0;
}

static int db_handler(struct ch_request *req)
{
    return query_worlds(req, 1, 0);
}

static int queries_handler(struct ch_request *req)
{
    return query_worlds(req, techempower_clamp(req, "queries"), 1);
}

/* GET /fortunes */
struct fortune {
    int64_t id;
    struct ch_str message;
};

struct fortunes {
    struct ch_request *req;
    struct fortune *items;
    size_t count;
};

static void on_fortunes(void *arg, const struct ch_db_result *res)
{
    struct fortunes *f = arg;
    int rows = ch_db_error(res) ? 0 : ch_db_rows(res);
    f->items = ch_arena_alloc(&f->req->arena, ((size_t)rows + 1) * sizeof(*f->items));
    if (!f->items) return;
    for (int i = 0; i < rows; i++) {
        struct ch_str m = ch_db_text(res, i, 1);
        /* Results live only during this call; the arena lives until the answer is sent. */
        char *copy = ch_arena_strndup(&f->req->arena, m.ptr, m.len);
        if (!copy) continue;
        f->items[f->count++] = (struct fortune){ch_db_int(res, i, 0), ch_str_make(copy, m.len)};
    }
}

static int by_message(const void *a, const void *b)
{
    const struct ch_str *x = &((const struct fortune *)a)->message;
    const struct ch_str *y = &((const struct fortune *)b)->message;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void html_escape(struct ch_buf *out, struct ch_str s)
{
    size_t start = 0;
    for (size_t i = 0; i < s.len; i++) {
        const char *rep;
        switch (s.ptr[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        ch_buf_append(out, s.ptr + start, i - start);
        ch_buf_append_cstr(out, rep);
        start = i + 1;
    }
    ch_buf_append(out, s.ptr + start, s.len - start);
}

static void on_fortunes_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct fortunes *f = arg;
    struct ch_request *req = f->req;
    if (err || !f->items) {
        finish(req, err ? err : CH_ENOMEM);
        return;
    }
    f->items[f->count++] = (struct fortune){0, CH_STR("Additional fortune added at request time.")};
    qsort(f->items, f->count, sizeof(*f->items), by_message);
    struct ch_buf *out = ch_res_body(req);
    ch_buf_append_cstr(out, "<!DOCTYPE html><html><head><title>Fortunes</title></head><body>"
                            "<table><tr><th>id</th><th>message</th></tr>");
    for (size_t i = 0; i < f->count; i++) {
        ch_buf_append_cstr(out, "<tr><td>");
        ch_buf_append_i64(out, f->items[i].id);
        ch_buf_append_cstr(out, "</td><td>");
        html_escape(out, f->items[i].message);
        ch_buf_append_cstr(out, "</td></tr>");
    }
    ch_buf_append_cstr(out, "</table></body></html>");
    ch_res_content_type(req, "text/html; charset=utf-8");
    finish(req, 0);
}

static int fortunes_handler(struct ch_request *req)
{
    struct fortunes *f = ch_arena_calloc(&req->arena, sizeof(*f));
    struct ch_db_batch *b = f ? batch_for(req) : NULL;
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable");
    f->req = req;
    ch_db_batch_add(b, fortunes_stmt, NULL, 0, on_fortunes, f);
    ch_db_batch_submit(b, on_fortunes_done, f);
    return 0;
}

/* GET /updates: read the rows, then one UPDATE for all of them. */
struct update {
    struct ch_request *req;
    int n, read;
    int64_t ids[MAX_QUERIES];
    int64_t numbers[MAX_QUERIES];
};

static void on_update_read(void *arg, const struct ch_db_result *res)
{
    struct update *u = arg;
    if (ch_db_error(res) || ch_db_rows(res) != 1) return;
    int i = u->read++;
    int64_t old = ch_db_int(res, 0, 1), next;
    /* A new number that really differs, so every row changes. */
    while ((next = random_id()) == old) {
    }
    u->numbers[i] = next;
}

static void on_update_written(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct update *u = arg;
    struct ch_request *req = u->req;
    if (!err) {
        struct ch_json_writer *w = ch_json_begin(req);
        ch_json_array_begin(w);
        for (int i = 0; i < u->n; i++) write_world(w, u->ids[i], u->numbers[i]);
        ch_json_array_end(w);
    }
    finish(req, err);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void on_update_read_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct update *u = arg;
    struct ch_request *req = u->req;
    if (!err && u->read != u->n) err = CH_EIO;
    struct ch_db_batch *b = err ? NULL : ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b) {
        finish(req, err ? err : CH_ENOMEM);
        return;
    }
    struct ch_db_param p[2] = {ch_db_param_ints(u->ids, (size_t)u->n),
                               ch_db_param_ints(u->numbers, (size_t)u->n)};
    ch_db_batch_add(b, world_update_stmt, p, 2, NULL, NULL);
    ch_db_batch_submit(b, on_update_written, u);
}

static int updates_handler(struct ch_request *req)
{
    struct update *u = ch_arena_calloc(&req->arena, sizeof(*u));
    struct ch_db_batch *b = u ? batch_for(req) : NULL;
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable");
    u->req = req;
    u->n = techempower_clamp(req, "queries");
    /* Distinct ids, sorted: one UPDATE then locks rows in a fixed order (no deadlock between
     * concurrent requests) and every returned row is the one persisted. */
    for (int i = 0; i < u->n; i++) {
        int64_t id;
        int dup;
        do {
            id = random_id();
            dup = 0;
            for (int j = 0; j < i && !dup; j++) dup = u->ids[j] == id;
        } while (dup);
        u->ids[i] = id;
    }
    qsort(u->ids, (size_t)u->n, sizeof(u->ids[0]), cmp_i64);
    for (int i = 0; i < u->n; i++) {
        struct ch_db_param p = ch_db_param_int(u->ids[i]);
        ch_db_batch_add(b, world_by_id_stmt, &p, 1, on_update_read, u);
    }
    ch_db_batch_submit(b, on_update_read_done, u);
    return 0;
}

/* GET /cached-queries: each worker loads the World table once, at start. */
static void serve_cached(struct ch_request *req, const struct world_cache *c)
{
    int n = techempower_clamp(req, "count");
    struct ch_json_writer *w = ch_json_begin(req);
    ch_json_array_begin(w);
    for (int i = 0; i < n; i++) {
        int id = random_id();
        write_world(w, id, c->numbers[id]);
    }
    ch_json_array_end(w);
    ch_respond(req, 200);
}

static int cached_handler(struct ch_request *req)
{
    struct world_cache *c = req->worker_id < MAX_WORKERS ? caches[req->worker_id] : NULL;
    if (c && c->loaded == 1) {
        serve_cached(req, c);
        return 0;
    }
    if (!c || c->loaded < 0 || c->nwaiting == 64)
        return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "cache not available");
    ch_request_hold(req);
    c->waiting[c->nwaiting++] = req;
    return 0;
}

static void on_cache_rows(void *arg, const struct ch_db_result *res)
{
    struct world_cache *c = arg;
    if (ch_db_error(res)) return;
    for (int i = 0, rows = ch_db_rows(res); i < rows; i++) {
        int64_t id = ch_db_int(res, i, 0);
        if (id >= 1 && id <= WORLD_ROWS) c->numbers[id] = (int32_t)ch_db_int(res, i, 1);
    }
}

static void on_cache_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct world_cache *c = arg;
    c->loaded = err ? -1 : 1;
    while (c->nwaiting > 0) {
        struct ch_request *req = c->waiting[--c->nwaiting];
        if (err)
            ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "cache not available");
        else
            serve_cached(req, c);
        ch_request_release(req);
    }
}

/* Worker hooks: the cache load, whose batch lives in the cache's own arena. The app starts the
 * worker's pool before worker_start runs, and stops it before worker_stop runs (which answers
 * a cache load still in flight), so the cache can be freed there. */
static struct ch_arena cache_arenas[MAX_WORKERS];

static int worker_start(struct ch_worker *w, void *arg)
{
    (void)arg;
    int id = ch_worker_index(w);
    if (id >= MAX_WORKERS) return CH_ERANGE;
    struct world_cache *c = calloc(1, sizeof(*c));
    if (!c) return CH_ENOMEM;
    caches[id] = c;
    ch_arena_init(&cache_arenas[id], NULL, 0);
    struct ch_db_batch *b =
        ch_db_batch_new(ch_db_worker_get(ch_app_db(the_app), id), &cache_arenas[id]);
    if (!b) {
        c->loaded = -1;
        return 0;
    }
    ch_db_batch_add(b, world_all_stmt, NULL, 0, on_cache_rows, c);
    ch_db_batch_submit(b, on_cache_done, c);
    return 0;
}

static void worker_stop(struct ch_worker *w, void *arg)
{
    (void)arg;
    int id = ch_worker_index(w);
    if (id < MAX_WORKERS && caches[id]) {
        free(caches[id]);
        caches[id] = NULL;
        ch_arena_cleanup(&cache_arenas[id]);
    }
}

int techempower_register(struct ch_app *app, char *err, size_t errlen)
{
    the_app = app;
    int rc = ch_app_migrations(app, "techempower", techempower_migrations,
                               techempower_migration_count);
    if (rc) {
        snprintf(err, errlen, "cannot declare the TechEmpower migrations: %s", ch_strerror(rc));
        return rc;
    }
    const struct techempower_sql *s = techempower_statements;
    world_by_id_stmt = ch_app_statement(app, s[TE_WORLD_BY_ID].name, s[TE_WORLD_BY_ID].sql, NULL);
    fortunes_stmt = ch_app_statement(app, s[TE_FORTUNES].name, s[TE_FORTUNES].sql, NULL);
    world_update_stmt = ch_app_statement(app, s[TE_WORLD_UPDATE].name, s[TE_WORLD_UPDATE].sql,
                                         s[TE_WORLD_UPDATE].sql_sqlite);
    world_all_stmt = ch_app_statement(app, s[TE_WORLD_ALL].name, s[TE_WORLD_ALL].sql, NULL);
    if (world_by_id_stmt < 0 || fortunes_stmt < 0 || world_update_stmt < 0 || world_all_stmt < 0) {
        snprintf(err, errlen, "cannot declare the TechEmpower statements");
        return CH_ENOMEM;
    }
    ch_app_on_worker(app, worker_start, worker_stop, NULL);
    if ((rc = ch_get(app, "/db", db_handler)) || (rc = ch_get(app, "/queries", queries_handler)) ||
        (rc = ch_get(app, "/fortunes", fortunes_handler)) ||
        (rc = ch_get(app, "/updates", updates_handler)) ||
        (rc = ch_get(app, "/cached-queries", cached_handler))) {
        snprintf(err, errlen, "cannot register the database endpoints: %s", ch_strerror(rc));
        return rc;
    }
    return 0;
}
