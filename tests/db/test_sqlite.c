/* SQLite only: a slow query does not hold up the others, the in-memory database, and how
 * values come back. */
#include <stdio.h>
#include <string.h>

#include "chopin/error.h"
#include "dbtest.h"

/* Counts to $1 the slow way: about a second for 3 million rows. */
static const char slow_sql[] = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                               "WHERE x < ?1) SELECT count(*), max(x) FROM c";

TEST(sqlite_slow_query_does_not_stall_others)
{
    struct ch_db_options o = {.pool_size = 4};
    struct dbt_env e;
    dbt_env_open(&e, dbt_sqlite_url, &o);
    int slow = dbt_env_stmt(&e, "slow", NULL, slow_sql);
    dbt_env_start(&e);

    struct dbt_call sc = {0};
    struct dbt_done sd = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, slow, (int64_t[]){3000000}, 1, &sc);
    uint64_t t0 = ch__now_ms();
    dbt_submit(b, &sd);

    enum { N = 50 };
    struct dbt_call fast[N];
    struct dbt_done fd[N];
    memset(fast, 0, sizeof(fast));
    memset(fd, 0, sizeof(fd));
    int total = 0;
    for (int i = 0; i < N; i++) {
        b = ch_db_batch_new(e.dw, &e.arena);
        dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){i + 1}, 1, &fast[i]);
        fd[i].counter = &total;
        dbt_submit(b, &fd[i]);
    }
    ASSERT(dbt_run_until(&e.tw.w, &total, N, 5000));
    uint64_t t_fast = ch__now_ms() - t0;
    ASSERT_EQ(sd.calls, 0); /* the slow one is still running */
    ASSERT(dbt_run_until(&e.tw.w, &sd.calls, 1, 30000));
    uint64_t t_slow = ch__now_ms() - t0;
    fprintf(stderr, "    sqlite: %d quick batches done after %llu ms, slow query after %llu ms\n",
            N, (unsigned long long)t_fast, (unsigned long long)t_slow);
    ASSERT_EQ(sc.err, 0);
    ASSERT_EQ(sc.ints[0][0], 3000000);
    ASSERT(t_fast * 4 < t_slow);
    for (int i = 0; i < N; i++) ASSERT_EQ(fast[i].ints[0][0], i + 1);
    dbt_env_close(&e);
}

TEST(sqlite_memory_database)
{
    /* An in-memory database lives in its one connection: the migrations and the pool's
     * queries must all see the same one. */
    static const struct ch_migration m[] = {
        {.version = 1,
         .name = "notes",
         .sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"},
    };
    struct dbt_env e;
    dbt_env_open(&e, "sqlite::memory:", NULL);
    char err[256] = "";
    struct ch_migrations *ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_add(ms, "app", m, 1, err, sizeof(err)), 0);
    ASSERT_EQ(ch_db_migrate(e.db, ms, err, sizeof(err)), 0);
    ch_migrations_free(ms);
    int ins =
        dbt_env_stmt(&e, "ins", NULL, "INSERT INTO notes (title) VALUES (?1) RETURNING id, title");
    dbt_env_start(&e);
    struct ch_db_stats st;
    ch_db_worker_stats(e.dw, &st);
    ASSERT_EQ(st.connections, 1);
    struct dbt_call c = {0}, w = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    struct ch_db_param p = ch_db_param_text(CH_STR("in memory"));
    ASSERT_EQ(ch_db_batch_add(b, ins, &p, 1, dbt_on_result, &c), 0);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){77}, 1, &w);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(d.err, 0);
    ASSERT_EQ(c.ints[0][0], 1);
    ASSERT_CSTR_EQ(c.text, "in memory");
    ASSERT_EQ(w.ints[0][0], 77);
    dbt_env_close(&e);
}

static void on_values(void *arg, const struct ch_db_result *res)
{
    char(*out)[64] = arg;
    for (int c = 0; c < ch_db_cols(res) && c < 6; c++) {
        struct ch_str s = ch_db_text(res, 0, c);
        snprintf(out[c], 64, "%.*s|%lld|%d", (int)s.len, s.ptr, (long long)ch_db_int(res, 0, c),
                 ch_db_is_null(res, 0, c));
    }
}

TEST(sqlite_value_conversions)
{
    struct dbt_env e;
    dbt_env_open(&e, "sqlite::memory:", NULL);
    int vals = dbt_env_stmt(&e, "vals", NULL, "SELECT ?1, ?2, 2.5, NULL, '17', x'414243'");
    dbt_env_start(&e);
    char out[6][64];
    memset(out, 0, sizeof(out));
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    struct ch_db_param p[2] = {ch_db_param_int(-9), ch_db_param_text(CH_STR("t\xc3\xa9xt"))};
    ASSERT_EQ(ch_db_batch_add(b, vals, p, 2, on_values, out), 0);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_CSTR_EQ(out[0], "-9|-9|0");
    ASSERT_CSTR_EQ(out[1], "t\xc3\xa9xt|0|0");
    ASSERT_CSTR_EQ(out[2], "2.5|2|0");
    ASSERT_CSTR_EQ(out[3], "|0|1");
    ASSERT_CSTR_EQ(out[4], "17|17|0");
    ASSERT_CSTR_EQ(out[5], "ABC|0|0");
    dbt_env_close(&e);
}
