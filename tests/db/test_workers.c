/* Several workers on their own threads sharing one database, and the notes table with text
 * parameters, on both drivers. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "chopin/error.h"
#include "dbtest.h"

struct par {
    struct ch_db *db;
    int id, incr;
    int started, done, errors, calls;
    struct dbt_worker tw;
    struct ch_arena arena;
};

static void par_result(void *arg, const struct ch_db_result *res)
{
    struct par *p = arg;
    p->calls++;
    if (ch_db_error(res)) p->errors++;
}

static void par_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct par *p = arg;
    p->done++;
    if (err) p->errors++;
}

enum { PAR_BATCHES = 100, PAR_WORKERS = 3 };

/* A worker thread: its own loop and pool, 100 batches of two increments, 4 at a time. */
static void *par_main(void *arg)
{
    struct par *p = arg;
    ch_arena_init(&p->arena, NULL, 0);
    if (ch_db_worker_start(p->db, &p->tw.w) != 0) {
        p->errors = -1;
        return NULL;
    }
    struct ch_db_worker *dw = ch_db_worker_get(p->db, p->id);
    uint64_t end = ch__now_ms() + 20000;
    while (p->done < PAR_BATCHES && ch__now_ms() < end) {
        while (p->started < PAR_BATCHES && p->started - p->done < 4) {
            struct ch_db_batch *b = ch_db_batch_new(dw, &p->arena);
            ch_db_batch_add(b, p->incr, NULL, 0, par_result, p);
            ch_db_batch_add(b, p->incr, NULL, 0, par_result, p);
            ch_db_batch_submit(b, par_done, p);
            p->started++;
        }
        ch__loop_run_once(&p->tw.w.loop, 5);
    }
    ch_db_worker_stop(p->db, &p->tw.w);
    ch_arena_cleanup(&p->arena);
    return NULL;
}

DB_TEST(workers_in_parallel)
{
    dbt_exec(url, "DROP TABLE IF EXISTS chopin_test_par");
    dbt_exec(url, "CREATE TABLE chopin_test_par (id integer PRIMARY KEY, n integer NOT NULL)");
    dbt_exec(url, "INSERT INTO chopin_test_par VALUES (1, 0)");
    struct ch_db_options o = {.pool_size = 3};
    struct ch_db *db = dbt_open(url, &o);
    char err[256];
    int incr = ch_db_stmt(db, "incr", "UPDATE chopin_test_par SET n = n + 1 WHERE id = 1",
                          "UPDATE chopin_test_par SET n = n + 1 WHERE id = 1", err, sizeof(err));
    ASSERT(incr > 0);
    static struct par ps[PAR_WORKERS];
    pthread_t th[PAR_WORKERS];
    memset(ps, 0, sizeof(ps));
    for (int i = 0; i < PAR_WORKERS; i++) {
        ps[i].db = db;
        ps[i].id = i;
        ps[i].incr = incr;
        dbt_worker_init(&ps[i].tw, i);
    }
    for (int i = 0; i < PAR_WORKERS; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, par_main, &ps[i]), 0);
    for (int i = 0; i < PAR_WORKERS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < PAR_WORKERS; i++) {
        dbt_worker_cleanup(&ps[i].tw);
        ASSERT_EQ(ps[i].errors, 0);
        ASSERT_EQ(ps[i].done, PAR_BATCHES);
        ASSERT_EQ(ps[i].calls, 2 * PAR_BATCHES);
    }
    ch_db_free(db);

    /* Every increment ran exactly once. */
    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    int read =
        dbt_env_stmt(&e, "read", "SELECT n FROM chopin_test_par", "SELECT n FROM chopin_test_par");
    dbt_env_start(&e);
    struct dbt_call c = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, read, NULL, 0, &c);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(c.ints[0][0], PAR_WORKERS * PAR_BATCHES * 2);
    dbt_env_close(&e);
}

static int iso_time(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(s) != sizeof(shape) - 1) return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return 0;
    return 1;
}

DB_TEST(notes_round_trip_text)
{
    struct dbt_env e;
    dbt_env_open(&e, url, NULL);
    int ins =
        dbt_env_stmt(&e, "note_insert",
                     "INSERT INTO notes (title, body) VALUES ($1, $2) RETURNING id, created_at",
                     "INSERT INTO notes (title, body) VALUES (?1, ?2) RETURNING id, created_at");
    int get =
        dbt_env_stmt(&e, "note_get", "SELECT id, title || '|' || body FROM notes WHERE id = $1",
                     "SELECT id, title || '|' || body FROM notes WHERE id = ?1");
    dbt_env_start(&e);
    struct dbt_call c = {0}, g = {0};
    struct dbt_done d1 = {0}, d2 = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    struct ch_db_param p[2] = {ch_db_param_text(CH_STR("h\xc3\xa9llo 'quoted' \"x\"")),
                               ch_db_param_text(CH_STR("<b>\xe3\x83\x95</b>\n2nd line"))};
    ASSERT_EQ(ch_db_batch_add(b, ins, p, 2, dbt_on_result, &c), 0);
    dbt_submit(b, &d1);
    ASSERT(dbt_run_until(&e.tw.w, &d1.calls, 1, 5000));
    ASSERT_EQ(c.err, 0);
    ASSERT_EQ(c.rows, 1);
    ASSERT(c.ints[0][0] > 0);
    if (!iso_time(c.text)) ch_test_fail(__FILE__, __LINE__, "created_at '%s'", c.text);

    b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, get, &c.ints[0][0], 1, &g);
    dbt_submit(b, &d2);
    ASSERT(dbt_run_until(&e.tw.w, &d2.calls, 1, 5000));
    ASSERT_CSTR_EQ(g.text, "h\xc3\xa9llo 'quoted' \"x\"|<b>\xe3\x83\x95</b>\n2nd line");
    dbt_env_close(&e);
}
