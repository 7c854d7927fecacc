/* Behaviour both drivers share: data seeded by migrations, single and multi-query batches, the
 * count of statements really executed, per-batch failure isolation, updates, the bounded queue, and
 * stopping a pool with work in flight. Each DB_TEST runs once on SQLite, once on PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "dbtest.h"

static char fortunes[13][256];

static void on_fortunes(void *arg, const struct ch_db_result *res)
{
    struct dbt_call *c = arg;
    dbt_on_result(arg, res);
    for (int r = 0; r < ch_db_rows(res); r++) {
        int64_t id = ch_db_int(res, r, 0);
        struct ch_str m = ch_db_text(res, r, 1);
        if (id >= 1 && id <= 12)
            snprintf(fortunes[id], sizeof(fortunes[id]), "%.*s", (int)m.len, m.ptr);
        else
            c->err = -999;
    }
}

DB_TEST(restart_applies_nothing_twice)
{
    /* The fixture's migrations run once: a changed row survives restarts, nothing is seeded
     * again, and each migration is recorded once. */
    ch_db_free(dbt_open(url, NULL));
    dbt_exec(url, "UPDATE world SET randomnumber = 4242 WHERE id = 1");
    ch_db_free(dbt_open(url, NULL));

    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    int counts = dbt_env_stmt(&e, "counts",
                              "SELECT count(*), count(*) FILTER (WHERE randomnumber BETWEEN 1 AND "
                              "10000 OR id = 1) FROM world",
                              "SELECT count(*), sum(randomnumber BETWEEN 1 AND 10000 OR id = 1) "
                              "FROM world");
    int range = dbt_env_stmt(&e, "range", "SELECT min(id), max(id) FROM world",
                             "SELECT min(id), max(id) FROM world");
    int notes = dbt_env_stmt(&e, "recorded",
                             "SELECT count(*), count(DISTINCT version) FROM chopin_migrations "
                             "WHERE set_name = 'techempower'",
                             NULL);
    dbt_env_start(&e);
    struct dbt_call f = {0}, c = {0}, r = {0}, n = {0}, w = {0};
    struct dbt_done d = {0};
    memset(fortunes, 0, sizeof(fortunes));
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    ASSERT_EQ(ch_db_batch_add(b, DBT_FORTUNES, NULL, 0, on_fortunes, &f), 0);
    dbt_add(b, counts, NULL, 0, &c);
    dbt_add(b, range, NULL, 0, &r);
    dbt_add(b, notes, NULL, 0, &n);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){1}, 1, &w);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(d.err, 0);
    ASSERT_EQ(f.rows, 12);
    ASSERT_EQ(f.err, 0);
    ASSERT_CSTR_EQ(fortunes[1], "fortune: No such file or directory");
    ASSERT_CSTR_EQ(fortunes[6], "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom "
                                "Christaensen");
    ASSERT_CSTR_EQ(fortunes[11], "<script>alert(\"This should not be displayed in a browser alert "
                                 "box.\");</script>");
    ASSERT_CSTR_EQ(fortunes[12], "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3"
                                 "\u30c1\u30de\u30fc\u30af");
    ASSERT_EQ(c.ints[0][0], 10000);
    ASSERT_EQ(c.ints[0][1], 10000);
    ASSERT_EQ(r.ints[0][0], 1);
    ASSERT_EQ(r.ints[0][1], 10000);
    ASSERT_EQ(n.err, 0);
    ASSERT_EQ(n.ints[0][0], 3);
    ASSERT_EQ(n.ints[0][1], 3);
    ASSERT_EQ(w.ints[0][1], 4242);
    ASSERT_EQ(f.calls + c.calls + r.calls + n.calls + w.calls, 5);
    dbt_env_close(&e);
}

DB_TEST(single_and_multi_query_batches)
{
    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    dbt_env_start(&e);
    enum { N = 20 };
    struct dbt_call one = {0}, none = {0}, many[N];
    struct dbt_done d1 = {0}, d2 = {0}, d3 = {0};
    memset(many, 0, sizeof(many));
    int64_t ids[N];

    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){10000}, 1, &one);
    dbt_submit(b, &d1);
    b = ch_db_batch_new(e.dw, &e.arena);
    for (int i = 0; i < N; i++) {
        ids[i] = 1 + rand() % 10000;
        dbt_add(b, DBT_WORLD_BY_ID, &ids[i], 1, &many[i]);
    }
    dbt_submit(b, &d2);
    b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){10001}, 1, &none);
    dbt_submit(b, &d3);
    ASSERT_EQ(d1.calls + d2.calls + d3.calls, 0); /* nothing answered inside submit */

    int total = 0;
    d1.counter = d2.counter = d3.counter = &total;
    ASSERT(dbt_run_until(&e.tw.w, &total, 3, 5000));
    ASSERT_EQ(one.err, 0);
    ASSERT_EQ(one.rows, 1);
    ASSERT_EQ(one.cols, 2);
    ASSERT_EQ(one.ints[0][0], 10000);
    ASSERT(one.ints[0][1] >= 1 && one.ints[0][1] <= 10000);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(many[i].calls, 1);
        ASSERT_EQ(many[i].rows, 1);
        ASSERT_EQ(many[i].ints[0][0], ids[i]);
    }
    ASSERT_EQ(none.err, 0);
    ASSERT_EQ(none.rows, 0);
    ASSERT_EQ(d1.err + d2.err + d3.err, 0);

    /* An empty batch completes too, asynchronously. */
    struct dbt_done d4 = {0};
    dbt_submit(ch_db_batch_new(e.dw, &e.arena), &d4);
    ASSERT_EQ(d4.calls, 0);
    ASSERT(dbt_run_until(&e.tw.w, &d4.calls, 1, 1000));
    ASSERT_EQ(d4.err, 0);

    struct ch_db_stats st;
    ch_db_worker_stats(e.dw, &st);
    ASSERT_EQ(st.batches, 4);
    ASSERT_EQ(st.queries, N + 2);
    ASSERT_EQ(st.unavailable, 0);
    ASSERT_EQ(st.in_flight, 0);
    dbt_env_close(&e);
}

/* A counter row incremented by every statement that really runs, and a statement that always
 * violates the primary key. */
struct counter_env {
    struct dbt_env e;
    int incr, read, dup;
};

static void counter_open(struct counter_env *c, const char *url, int pool_size)
{
    dbt_exec(url, "DROP TABLE IF EXISTS chopin_test_counter");
    dbt_exec(url, "CREATE TABLE chopin_test_counter (id integer PRIMARY KEY, n integer NOT NULL)");
    dbt_exec(url, "INSERT INTO chopin_test_counter VALUES (1, 0)");
    struct ch_db_options o = {.pool_size = pool_size};
    dbt_env_open(&c->e, url, &o);
    c->incr = dbt_env_stmt(&c->e, "incr",
                           "UPDATE chopin_test_counter SET n = n + 1 WHERE id = 1 RETURNING n, n",
                           "UPDATE chopin_test_counter SET n = n + 1 WHERE id = 1 RETURNING n, n");
    c->read = dbt_env_stmt(&c->e, "read", "SELECT n, n FROM chopin_test_counter WHERE id = 1",
                           "SELECT n, n FROM chopin_test_counter WHERE id = 1");
    c->dup = dbt_env_stmt(&c->e, "dup", "INSERT INTO chopin_test_counter (id, n) VALUES (1, 0)",
                          "INSERT INTO chopin_test_counter (id, n) VALUES (1, 0)");
    dbt_env_start(&c->e);
}

static int64_t counter_value(struct counter_env *c)
{
    struct dbt_call r = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(c->e.dw, &c->e.arena);
    dbt_add(b, c->read, NULL, 0, &r);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&c->e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(r.err, 0);
    return r.ints[0][0];
}

DB_TEST(statements_executed_are_counted)
{
    struct counter_env c;
    counter_open(&c, url, 2);
    enum { BATCHES = 10, PER = 5 };
    struct dbt_call calls[BATCHES][PER];
    struct dbt_done done[BATCHES];
    memset(calls, 0, sizeof(calls));
    memset(done, 0, sizeof(done));
    int total = 0;
    for (int i = 0; i < BATCHES; i++) {
        struct ch_db_batch *b = ch_db_batch_new(c.e.dw, &c.e.arena);
        for (int k = 0; k < PER; k++) dbt_add(b, c.incr, NULL, 0, &calls[i][k]);
        done[i].counter = &total;
        dbt_submit(b, &done[i]);
    }
    ASSERT(dbt_run_until(&c.e.tw.w, &total, BATCHES, 5000));
    for (int i = 0; i < BATCHES; i++) {
        ASSERT_EQ(done[i].err, 0);
        for (int k = 0; k < PER; k++) {
            ASSERT_EQ(calls[i][k].calls, 1);
            ASSERT_EQ(calls[i][k].affected, 1);
            /* One batch is one transaction: its statements see consecutive values. */
            if (k) ASSERT_EQ(calls[i][k].ints[0][0], calls[i][k - 1].ints[0][0] + 1);
        }
    }
    ASSERT_EQ(counter_value(&c), BATCHES * PER);
    dbt_env_close(&c.e);
}

DB_TEST(a_failing_batch_does_not_affect_its_neighbours)
{
    /* One connection (PostgreSQL) so that the three batches share one pipeline. */
    struct counter_env c;
    counter_open(&c, url, 1);
    struct dbt_call x = {0}, y1 = {0}, y2 = {0}, y3 = {0}, z = {0};
    struct dbt_done dx = {0}, dy = {0}, dz = {0};
    int total = 0;
    dx.counter = dy.counter = dz.counter = &total;
    struct ch_db_batch *b = ch_db_batch_new(c.e.dw, &c.e.arena);
    dbt_add(b, c.incr, NULL, 0, &x);
    dbt_submit(b, &dx);
    b = ch_db_batch_new(c.e.dw, &c.e.arena);
    dbt_add(b, c.incr, NULL, 0, &y1);
    dbt_add(b, c.dup, NULL, 0, &y2);
    dbt_add(b, c.incr, NULL, 0, &y3);
    dbt_submit(b, &dy);
    b = ch_db_batch_new(c.e.dw, &c.e.arena);
    dbt_add(b, c.incr, NULL, 0, &z);
    dbt_submit(b, &dz);
    struct ch_db_stats st;
    ch_db_worker_stats(c.e.dw, &st);
    ASSERT_EQ(st.in_flight + st.queued, 3);
    /* Batches leave at the end of the loop pass that submitted them, together: none is left
     * waiting. (SQLite's threads may already have answered one within that pass.) */
    ch__loop_run_once(&c.e.tw.w.loop, 0);
    ch_db_worker_stats(c.e.dw, &st);
    ASSERT_EQ(st.queued, 0);
    ASSERT_EQ(st.in_flight + total, 3); /* all three are out at once, or done */

    ASSERT(dbt_run_until(&c.e.tw.w, &total, 3, 5000));
    ASSERT_EQ(dx.err, 0);
    ASSERT_EQ(x.err, 0);
    ASSERT_EQ(dz.err, 0);
    ASSERT_EQ(z.err, 0);
    ASSERT_EQ(y1.err, 0);            /* ran, then rolled back with its batch */
    ASSERT_EQ(y2.err, CH_ECONFLICT); /* a duplicate key */
    ASSERT(y2.msg[0] != '\0');
    ASSERT_EQ(y3.err, CH_EIO);
    ASSERT(strstr(y3.msg, "aborted") != NULL);
    /* The done callback gets the failing query's own error, not the "aborted" after it. */
    ASSERT_EQ(dy.err, CH_ECONFLICT);
    ASSERT_EQ(dy.query, 1);
    ASSERT_CSTR_EQ(dy.msg, y2.msg);
    ASSERT(strstr(dy.msg, "aborted") == NULL);
    ASSERT_EQ(dx.query, -1);
    ASSERT_CSTR_EQ(dx.msg, "");
    ASSERT_EQ(x.calls + y1.calls + y2.calls + y3.calls + z.calls, 5);
    /* y's increment was rolled back: x and z saw 1 and 2, in either order (on SQLite the
     * batches may run on different threads). */
    ASSERT_EQ(x.ints[0][0] + z.ints[0][0], 3);
    ASSERT_EQ(x.ints[0][0] * z.ints[0][0], 2);
    ASSERT_EQ(counter_value(&c), 2);
    ch_db_worker_stats(c.e.dw, &st);
    ASSERT_EQ(st.failed, 2);
    ASSERT_EQ(st.unavailable, 0);
    dbt_env_close(&c.e);
}

DB_TEST(world_update_changes_rows)
{
    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    dbt_env_start(&e);
    enum { N = 20 };
    int64_t ids[N], vals[N];
    for (int i = 0; i < N; i++) {
        ids[i] = 100 + 7 * i; /* sorted, unique */
        vals[i] = 1 + rand() % 10000;
    }
    struct dbt_call up = {0}, empty = {0}, rows[N];
    struct dbt_done d1 = {0}, d2 = {0};
    memset(rows, 0, sizeof(rows));
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    struct ch_db_param p[2] = {ch_db_param_ints(ids, N), ch_db_param_ints(vals, N)};
    ASSERT_EQ(ch_db_batch_add(b, DBT_WORLD_UPDATE, p, 2, dbt_on_result, &up), 0);
    p[0] = ch_db_param_ints(ids, 0);
    p[1] = ch_db_param_ints(vals, 0);
    ASSERT_EQ(ch_db_batch_add(b, DBT_WORLD_UPDATE, p, 2, dbt_on_result, &empty), 0);
    dbt_submit(b, &d1);
    ASSERT(dbt_run_until(&e.tw.w, &d1.calls, 1, 5000));
    ASSERT_EQ(d1.err, 0);
    ASSERT_EQ(up.affected, N);
    ASSERT_EQ(empty.affected, 0);

    b = ch_db_batch_new(e.dw, &e.arena);
    for (int i = 0; i < N; i++) dbt_add(b, DBT_WORLD_BY_ID, &ids[i], 1, &rows[i]);
    dbt_submit(b, &d2);
    ASSERT(dbt_run_until(&e.tw.w, &d2.calls, 1, 5000));
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(rows[i].ints[0][0], ids[i]);
        ASSERT_EQ(rows[i].ints[0][1], vals[i]);
    }
    dbt_env_close(&e);
}

DB_TEST(queue_full_is_refused_at_once)
{
    struct ch_db_options o = {.pool_size = 1, .pipeline_depth = 1, .max_queued = 2};
    struct dbt_env e;
    dbt_env_open(&e, url, &o);
    dbt_env_start(&e);
    enum { N = 10 };
    struct dbt_call calls[N];
    struct dbt_done done[N];
    memset(calls, 0, sizeof(calls));
    memset(done, 0, sizeof(done));
    int total = 0;
    for (int i = 0; i < N; i++) {
        struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
        dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){i + 1}, 1, &calls[i]);
        done[i].counter = &total;
        dbt_submit(b, &done[i]);
    }
    ASSERT_EQ(total, 0);
    /* The refusals come on the very next pass of the loop, without waiting for the server. */
    ch__loop_run_once(&e.tw.w.loop, 0);
    int refused = 0;
    for (int i = 0; i < N; i++) refused += done[i].calls && done[i].err == CH_EUNAVAILABLE;
    ASSERT(refused >= N - 3);
    ASSERT(dbt_run_until(&e.tw.w, &total, N, 5000));
    int ok = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(done[i].calls, 1);
        ASSERT_EQ(calls[i].calls, 1);
        ASSERT_EQ(calls[i].err, done[i].err);
        ok += done[i].err == 0;
    }
    ASSERT_EQ(ok + refused, N);
    ASSERT(ok >= 2);
    struct ch_db_stats st;
    ch_db_worker_stats(e.dw, &st);
    ASSERT_EQ(st.unavailable, (uint64_t)refused);
    dbt_env_close(&e);
}

/* A done callback that submits another batch while the pool is stopping. */
struct resubmit {
    struct dbt_done d;
    struct dbt_env *e;
    struct dbt_call call;
    struct dbt_done inner;
};

static void on_done_resubmit(void *arg, const struct ch_db_outcome *o)
{
    struct resubmit *r = arg;
    dbt_on_done(&r->d, o);
    struct ch_db_batch *b = ch_db_batch_new(r->e->dw, &r->e->arena);
    ch_db_batch_add(b, DBT_WORLD_BY_ID, (struct ch_db_param[]){ch_db_param_int(1)}, 1,
                    dbt_on_result, &r->call);
    ch_db_batch_submit(b, dbt_on_done, &r->inner);
}

DB_TEST(stop_answers_everything_in_flight)
{
    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    dbt_env_start(&e);
    enum { N = 20 };
    struct dbt_call calls[N];
    struct dbt_done done[N];
    memset(calls, 0, sizeof(calls));
    memset(done, 0, sizeof(done));
    for (int i = 0; i < N; i++) {
        struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
        dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){i + 1}, 1, &calls[i]);
        dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){i + 2}, 1, &calls[i]);
        dbt_submit(b, &done[i]);
    }
    struct resubmit r = {.e = &e};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){1}, 1, &r.call);
    ch_db_batch_submit(b, on_done_resubmit, &r);

    /* Stop without running the loop: every callback runs before ch_db_worker_stop returns. */
    ch_db_worker_stop(e.db, &e.tw.w);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(done[i].calls, 1);
        ASSERT_EQ(calls[i].calls, 2);
        if (done[i].err != 0 && done[i].err != CH_EUNAVAILABLE)
            ch_test_fail(__FILE__, __LINE__, "batch %d: error %d (%s)", i, done[i].err,
                         calls[i].msg);
    }
    ASSERT_EQ(r.d.calls, 1);
    ASSERT_EQ(r.inner.calls, 1);
    ASSERT_EQ(r.inner.err, CH_EUNAVAILABLE);
    ASSERT_EQ(r.call.calls, 2);
    dbt_worker_cleanup(&e.tw);
    e.dw = NULL;
    dbt_env_close(&e);
}
