/* How endpoints use the API: the TechEmpower /queries, /updates and /fortunes flows written
 * against a stand-in for struct ch_request (an arena, a hold count, a body), as a handler on a
 * worker would. The arena has no initial storage, so everything lives on the heap and is freed
 * by the "release" in the done callback: under ASan, any touch of a batch after its done
 * callback would be caught.
 *
 * The real handler differs only in names: ch_request_hold(req) before submitting,
 * ch_res_send(req) then ch_request_release(req) in the done callback, req->worker_id to find
 * the pool (ch_db_worker_get), &req->arena for the batch. */
#include <stdlib.h>
#include <string.h>

#include "chopin/buf.h"
#include "chopin/error.h"
#include "dbtest.h"

struct fake_req {
    struct ch_arena arena;
    struct ch_db_worker *dw;
    int holds, finished, status;
    struct ch_buf body; /* heap: outlives the arena, as the connection's output would */
};

static void req_release(struct fake_req *r)
{
    if (--r->holds == 0) {
        ch_arena_reset(&r->arena);
        r->finished++;
    }
}

static void respond_error(struct fake_req *r, int err)
{
    r->status = err == CH_EUNAVAILABLE ? 503 : 500;
    ch_buf_printf(&r->body, "{\"error\":\"%s\"}", ch_strerror(err));
}

/* ---- /queries?queries=N: N lookups in one batch, answered together. */

struct world {
    int64_t id, rn;
};

struct queries {
    struct fake_req *req;
    struct world *rows;
    int n;
};

static void on_world(void *arg, const struct ch_db_result *res)
{
    struct world *w = arg;
    if (ch_db_rows(res) == 1) {
        w->id = ch_db_int(res, 0, 0);
        w->rn = ch_db_int(res, 0, 1);
    }
}

static void write_worlds(struct ch_buf *out, const struct world *rows, int n)
{
    ch_buf_putc(out, '[');
    for (int i = 0; i < n; i++)
        ch_buf_printf(out, "%s{\"id\":%lld,\"randomNumber\":%lld}", i ? "," : "",
                      (long long)rows[i].id, (long long)rows[i].rn);
    ch_buf_putc(out, ']');
}

static void on_queries_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct queries *q = arg;
    struct fake_req *r = q->req;
    if (err) {
        respond_error(r, err);
    } else {
        r->status = 200;
        write_worlds(&r->body, q->rows, q->n);
    }
    req_release(r); /* frees q, the rows and the batch */
}

/* Adds n random lookups to b, results into rows[]. */
static int add_lookups(struct ch_db_batch *b, struct world *rows, int n)
{
    for (int i = 0; i < n; i++) {
        struct ch_db_param id = ch_db_param_int(1 + rand() % 10000);
        if (ch_db_batch_add(b, DBT_WORLD_BY_ID, &id, 1, on_world, &rows[i]) != 0) return -1;
    }
    return 0;
}

static void handle_queries(struct fake_req *r, int n)
{
    struct queries *q = ch_arena_alloc(&r->arena, sizeof(*q));
    struct ch_db_batch *b = ch_db_batch_new(r->dw, &r->arena);
    if (!q || !b || !(q->rows = ch_arena_calloc(&r->arena, (size_t)n * sizeof(*q->rows))) ||
        add_lookups(b, q->rows, n) != 0) {
        respond_error(r, CH_ENOMEM); /* an unsubmitted batch needs no cleanup */
        return;
    }
    q->req = r;
    q->n = n;
    r->holds++;
    ch_db_batch_submit(b, on_queries_done, q);
}

/* ---- /updates?queries=N: read N rows, then one statement updates them all. */

static int by_id(const void *a, const void *b)
{
    const struct world *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static void on_updated(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct queries *q = arg;
    struct fake_req *r = q->req;
    if (err) {
        respond_error(r, err);
    } else {
        r->status = 200;
        write_worlds(&r->body, q->rows, q->n);
    }
    req_release(r);
}

static void on_read_for_update(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct queries *q = arg;
    struct fake_req *r = q->req;
    if (err) {
        on_updated(q, o);
        return;
    }
    /* New numbers, ids sorted and distinct (the statement's contract: no deadlocks between
     * concurrent updates, one well-defined value per row). */
    qsort(q->rows, (size_t)q->n, sizeof(*q->rows), by_id);
    int m = 0;
    for (int i = 0; i < q->n; i++)
        if (m == 0 || q->rows[i].id != q->rows[m - 1].id) q->rows[m++] = q->rows[i];
    q->n = m;
    int64_t *ids = ch_arena_alloc(&r->arena, (size_t)m * sizeof(*ids));
    int64_t *nums = ch_arena_alloc(&r->arena, (size_t)m * sizeof(*nums));
    struct ch_db_batch *b = ch_db_batch_new(r->dw, &r->arena);
    if (!ids || !nums || !b) {
        on_updated(q, &(struct ch_db_outcome){.err = CH_ENOMEM, .query = -1});
        return;
    }
    for (int i = 0; i < m; i++) {
        ids[i] = q->rows[i].id;
        nums[i] = q->rows[i].rn = 1 + rand() % 10000;
    }
    struct ch_db_param p[2] = {ch_db_param_ints(ids, (size_t)m), ch_db_param_ints(nums, (size_t)m)};
    if (ch_db_batch_add(b, DBT_WORLD_UPDATE, p, 2, NULL, NULL) != 0) {
        on_updated(q, &(struct ch_db_outcome){.err = CH_ENOMEM, .query = -1});
        return;
    }
    /* The request is still held: the second batch's done callback releases it. */
    ch_db_batch_submit(b, on_updated, q);
}

static void handle_updates(struct fake_req *r, int n)
{
    struct queries *q = ch_arena_alloc(&r->arena, sizeof(*q));
    struct ch_db_batch *b = ch_db_batch_new(r->dw, &r->arena);
    if (!q || !b || !(q->rows = ch_arena_calloc(&r->arena, (size_t)n * sizeof(*q->rows))) ||
        add_lookups(b, q->rows, n) != 0) {
        respond_error(r, CH_ENOMEM);
        return;
    }
    q->req = r;
    q->n = n;
    r->holds++;
    ch_db_batch_submit(b, on_read_for_update, q);
}

/* ---- /fortunes: all rows, one more added at request time, sorted, HTML-escaped. */

struct fortune {
    int64_t id;
    struct ch_str msg; /* copied into the arena: the result view dies with the callback */
};

struct fortunes {
    struct fake_req *req;
    struct fortune *rows;
    int n;
};

static void on_fortune_rows(void *arg, const struct ch_db_result *res)
{
    struct fortunes *f = arg;
    int n = ch_db_rows(res);
    f->rows = ch_arena_alloc(&f->req->arena, (size_t)(n + 1) * sizeof(*f->rows));
    if (!f->rows) return;
    for (int i = 0; i < n; i++) {
        struct ch_str m = ch_db_text(res, i, 1);
        f->rows[i].id = ch_db_int(res, i, 0);
        f->rows[i].msg = ch_str_make(ch_arena_strndup(&f->req->arena, m.ptr, m.len), m.len);
    }
    f->rows[n] = (struct fortune){0, CH_STR("Additional fortune added at request time.")};
    f->n = n + 1;
}

static int by_message(const void *a, const void *b)
{
    const struct fortune *x = a, *y = b;
    size_t n = x->msg.len < y->msg.len ? x->msg.len : y->msg.len;
    int c = memcmp(x->msg.ptr, y->msg.ptr, n);
    return c ? c : (x->msg.len > y->msg.len) - (x->msg.len < y->msg.len);
}

static void html_escape(struct ch_buf *out, struct ch_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        switch (s.ptr[i]) {
        case '<': ch_buf_append_cstr(out, "&lt;"); break;
        case '>': ch_buf_append_cstr(out, "&gt;"); break;
        case '&': ch_buf_append_cstr(out, "&amp;"); break;
        case '"': ch_buf_append_cstr(out, "&quot;"); break;
        case '\'': ch_buf_append_cstr(out, "&#39;"); break;
        default: ch_buf_putc(out, s.ptr[i]);
        }
    }
}

static void on_fortunes_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct fortunes *f = arg;
    struct fake_req *r = f->req;
    if (err || !f->rows) {
        respond_error(r, err ? err : CH_ENOMEM);
    } else {
        qsort(f->rows, (size_t)f->n, sizeof(*f->rows), by_message);
        r->status = 200;
        ch_buf_append_cstr(&r->body, "<table>");
        for (int i = 0; i < f->n; i++) {
            ch_buf_printf(&r->body, "<tr><td>%lld</td><td>", (long long)f->rows[i].id);
            html_escape(&r->body, f->rows[i].msg);
            ch_buf_append_cstr(&r->body, "</td></tr>");
        }
        ch_buf_append_cstr(&r->body, "</table>");
    }
    req_release(r);
}

static void handle_fortunes(struct fake_req *r)
{
    struct fortunes *f = ch_arena_calloc(&r->arena, sizeof(*f));
    struct ch_db_batch *b = ch_db_batch_new(r->dw, &r->arena);
    if (!f || !b || ch_db_batch_add(b, DBT_FORTUNES, NULL, 0, on_fortune_rows, f) != 0) {
        respond_error(r, CH_ENOMEM);
        return;
    }
    f->req = r;
    r->holds++;
    ch_db_batch_submit(b, on_fortunes_done, f);
}

/* ---- Driving the handlers. */

static void req_init(struct fake_req *r, struct ch_db_worker *dw)
{
    memset(r, 0, sizeof(*r));
    ch_arena_init(&r->arena, NULL, 0);
    ch_buf_init(&r->body);
    r->dw = dw;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

DB_TEST(example_handlers)
{
    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    dbt_env_start(&e);
    struct fake_req q, u, f;
    req_init(&q, e.dw);
    req_init(&u, e.dw);
    req_init(&f, e.dw);
    handle_queries(&q, 20);
    handle_updates(&u, 15);
    handle_fortunes(&f);
    int finished = 0;
    uint64_t end = ch__now_ms() + 5000;
    while ((finished = q.finished + u.finished + f.finished) < 3 && ch__now_ms() < end)
        ch__loop_run_once(&e.tw.w.loop, 5);
    ASSERT_EQ(finished, 3);

    ASSERT_EQ(q.status, 200);
    ch_buf_putc(&q.body, '\0');
    ASSERT_EQ(count(q.body.ptr, "\"randomNumber\":"), 20);
    ASSERT_EQ(count(q.body.ptr, "\"id\":0"), 0);

    ASSERT_EQ(u.status, 200);
    ch_buf_putc(&u.body, '\0');
    ASSERT(count(u.body.ptr, "\"randomNumber\":") >= 1);

    ASSERT_EQ(f.status, 200);
    ch_buf_putc(&f.body, '\0');
    ASSERT_EQ(count(f.body.ptr, "<tr>"), 13);
    ASSERT(strstr(f.body.ptr, "&lt;script&gt;alert(&quot;This should not be displayed") != NULL);
    ASSERT(strstr(f.body.ptr, "<script>") == NULL);
    ASSERT(strstr(f.body.ptr, "\xe3\x83\x95\xe3\x83\xac\xe3\x83\xbc\xe3\x83\xa0") != NULL);
    /* Sorted by message bytes: "<script>" (id 11) first, then "A bad random..." (id 4); the
     * Japanese row (UTF-8, high bytes) last. */
    ASSERT(strncmp(f.body.ptr, "<table><tr><td>11</td>", 22) == 0);
    ASSERT(strstr(f.body.ptr, "<tr><td>4</td>") < strstr(f.body.ptr, "<tr><td>5</td>"));
    ASSERT(strstr(f.body.ptr, "<tr><td>12</td>") > strstr(f.body.ptr, "<tr><td>0</td>"));

    /* The /updates response matches what is now in the table. */
    enum { MAXU = 15 };
    int64_t ids[MAXU], nums[MAXU];
    struct dbt_call rows[MAXU];
    memset(rows, 0, sizeof(rows));
    int n = 0;
    for (const char *p = u.body.ptr; n < MAXU && (p = strstr(p, "{\"id\":")); p++) {
        long long id, rn;
        ASSERT_EQ(sscanf(p, "{\"id\":%lld,\"randomNumber\":%lld}", &id, &rn), 2);
        ids[n] = id;
        nums[n++] = rn;
    }
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    for (int i = 0; i < n; i++) dbt_add(b, DBT_WORLD_BY_ID, &ids[i], 1, &rows[i]);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    for (int i = 0; i < n; i++) ASSERT_EQ(rows[i].ints[0][1], nums[i]);

    ch_buf_cleanup(&q.body);
    ch_buf_cleanup(&u.body);
    ch_buf_cleanup(&f.body);
    dbt_env_close(&e);
}
