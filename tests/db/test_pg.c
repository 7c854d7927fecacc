/* PostgreSQL only: error mapping, wire formats, deep pipelines, and a server restart with
 * batches flowing. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chopin/error.h"
#include "dbtest.h"

extern char **environ;

/* Every column of row 0 as text, plus the SQLSTATE. */
struct texts {
    int calls, err, cols;
    char sqlstate[8];
    char col[12][64];
    int null[12];
    int64_t ints[12];
};

static void on_texts(void *arg, const struct ch_db_result *res)
{
    struct texts *t = arg;
    t->calls++;
    t->err = ch_db_error(res);
    snprintf(t->sqlstate, sizeof(t->sqlstate), "%s", ch_db_sqlstate(res));
    t->cols = ch_db_cols(res);
    for (int c = 0; c < t->cols && c < 12 && ch_db_rows(res) > 0; c++) {
        struct ch_str s = ch_db_text(res, 0, c);
        snprintf(t->col[c], sizeof(t->col[c]), "%.*s", (int)s.len, s.ptr);
        t->null[c] = ch_db_is_null(res, 0, c);
        t->ints[c] = ch_db_int(res, 0, c);
    }
}

TEST(pg_division_by_zero_maps_to_einval)
{
    struct dbt_env e;
    dbt_env_open(&e, dbt_pg_url, NULL);
    int div = dbt_env_stmt(&e, "div", "SELECT 1 / $1", NULL);
    dbt_env_start(&e);
    struct texts t = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    ASSERT_EQ(ch_db_batch_add(b, div, (struct ch_db_param[]){ch_db_param_int(0)}, 1, on_texts, &t),
              0);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(t.err, CH_EINVAL);
    ASSERT_CSTR_EQ(t.sqlstate, "22012");
    ASSERT_EQ(d.err, CH_EINVAL);
    dbt_env_close(&e);
}

TEST(pg_parameter_and_result_types)
{
    struct dbt_env e;
    dbt_env_open(&e, dbt_pg_url, NULL);
    int types = dbt_env_stmt(
        &e, "types",
        "SELECT $1::int2, $2::int4, $3::int8, $4::text, $5::numeric, $6::bool, $7::int4,"
        " '2024-01-02 03:04:05.678+00'::timestamptz, '2024-01-02'::date, 2.5::float8,"
        " (-0.0012)::numeric(10,4), 123456789.000100::numeric",
        NULL);
    int arr = dbt_env_stmt(&e, "arr", "SELECT array_length($1::int8[], 1), ($1::int8[])[2]", NULL);
    int small = dbt_env_stmt(&e, "small", "SELECT $1::int4", NULL);
    dbt_env_start(&e);
    struct texts t = {0}, a = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    char stack_text[] = "h\xc3\xa9llo 'q' \"x\"";
    int64_t arrv[3] = {INT64_C(1) << 40, -5, 7};
    struct ch_db_param p[7] = {
        ch_db_param_int(-32768),    ch_db_param_int(INT32_MAX),
        ch_db_param_int(INT64_MIN), ch_db_param_text(ch_str_cstr(stack_text)),
        ch_db_param_int(42),        ch_db_param_int(1),
        ch_db_param_null(),
    };
    ASSERT_EQ(ch_db_batch_add(b, types, p, 7, on_texts, &t), 0);
    memset(stack_text, 'X', sizeof(stack_text) - 1); /* the batch holds its own copy */
    struct ch_db_param ap = ch_db_param_ints(arrv, 3);
    ASSERT_EQ(ch_db_batch_add(b, arr, &ap, 1, on_texts, &a), 0);
    /* An int that does not fit the parameter's type is refused synchronously. */
    struct ch_db_param big = ch_db_param_int(INT64_C(1) << 40);
    ASSERT_EQ(ch_db_batch_add(b, small, &big, 1, on_texts, &a), CH_ERANGE);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(d.err, 0);
    ASSERT_EQ(t.cols, 12);
    ASSERT_CSTR_EQ(t.col[0], "-32768");
    ASSERT_EQ(t.ints[0], -32768);
    ASSERT_CSTR_EQ(t.col[1], "2147483647");
    ASSERT_EQ(t.ints[2], INT64_MIN);
    ASSERT_CSTR_EQ(t.col[3], "h\xc3\xa9llo 'q' \"x\"");
    ASSERT_CSTR_EQ(t.col[4], "42");
    ASSERT_EQ(t.ints[4], 42);
    ASSERT_CSTR_EQ(t.col[5], "true");
    ASSERT_EQ(t.ints[5], 1);
    ASSERT_EQ(t.null[6], 1);
    ASSERT_CSTR_EQ(t.col[6], "");
    ASSERT_CSTR_EQ(t.col[7], "2024-01-02T03:04:05.678Z");
    ASSERT_CSTR_EQ(t.col[8], "2024-01-02");
    ASSERT_CSTR_EQ(t.col[9], "2.5");
    ASSERT_CSTR_EQ(t.col[10], "-0.0012");
    ASSERT_CSTR_EQ(t.col[11], "123456789.000100");
    ASSERT_EQ(t.ints[11], 123456789);
    ASSERT_EQ(a.ints[0], 3);
    ASSERT_EQ(a.ints[1], -5);
    dbt_env_close(&e);
}

TEST(pg_deep_pipelines_and_queueing)
{
    /* 2 connections x 8 batches in flight; the other 484 wait their turn in order. */
    struct ch_db_options o = {.pool_size = 2, .pipeline_depth = 8};
    struct dbt_env e;
    dbt_env_open(&e, dbt_pg_url, &o);
    dbt_env_start(&e);
    enum { N = 500 };
    static struct dbt_call calls[N];
    static struct dbt_done done[N];
    memset(calls, 0, sizeof(calls));
    memset(done, 0, sizeof(done));
    int total = 0;
    for (int i = 0; i < N; i++) {
        struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
        dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){1 + i % 10000}, 1, &calls[i]);
        done[i].counter = &total;
        dbt_submit(b, &done[i]);
    }
    struct ch_db_stats st;
    ch_db_worker_stats(e.dw, &st);
    ASSERT_EQ(st.queued, N); /* held until the end of the pass */
    ch__loop_run_once(&e.tw.w.loop, 0);
    ch_db_worker_stats(e.dw, &st);
    ASSERT_EQ(st.in_flight, 16);
    ASSERT_EQ(st.queued, N - 16);
    ASSERT(dbt_run_until(&e.tw.w, &total, N, 10000));
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(done[i].calls, 1);
        ASSERT_EQ(done[i].err, 0);
        ASSERT_EQ(calls[i].ints[0][0], 1 + i % 10000);
    }
    dbt_env_close(&e);
}

/* Batches kept flowing through a restart: 16 request-like slots, each with its own arena,
 * reset by the done callback as a finished request would be. */
enum { SLOTS = 16 };

struct slot {
    struct ch_arena arena;
    int busy;
};

struct flow {
    struct slot slots[SLOTS];
    struct ch_db_worker *dw;
    int ok, unavailable, other, outstanding;
    uint64_t back_ms; /* when pg_ctl reported the server up again; 0 before */
    uint64_t first_ok_after_back, last_unavailable;
    char other_msg[160];
};

static struct flow flow;

static void flow_result(void *arg, const struct ch_db_result *res)
{
    (void)arg;
    int err = ch_db_error(res);
    if (err && err != CH_EUNAVAILABLE && !flow.other_msg[0]) {
        struct ch_str m = ch_db_error_message(res);
        snprintf(flow.other_msg, sizeof(flow.other_msg), "%d %.*s", err, (int)m.len, m.ptr);
    }
}

static void flow_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct slot *s = arg;
    uint64_t now = ch__now_ms();
    if (err == 0) {
        flow.ok++;
        if (flow.back_ms && !flow.first_ok_after_back) flow.first_ok_after_back = now;
    } else if (err == CH_EUNAVAILABLE) {
        flow.unavailable++;
        flow.last_unavailable = now;
    } else {
        flow.other++;
    }
    flow.outstanding--;
    s->busy = 0;
    ch_arena_reset(&s->arena); /* the request is over: the batch's memory is gone */
}

static void flow_top_up(void)
{
    for (int i = 0; i < SLOTS; i++) {
        struct slot *s = &flow.slots[i];
        if (s->busy) continue;
        struct ch_db_batch *b = ch_db_batch_new(flow.dw, &s->arena);
        ASSERT(b != NULL);
        struct ch_db_param p = ch_db_param_int(1 + rand() % 10000);
        ASSERT_EQ(ch_db_batch_add(b, DBT_WORLD_BY_ID, &p, 1, flow_result, NULL), 0);
        ASSERT_EQ(ch_db_batch_add(b, DBT_WORLD_BY_ID, &p, 1, flow_result, NULL), 0);
        s->busy = 1;
        flow.outstanding++;
        ch_db_batch_submit(b, flow_done, s);
    }
}

/* Runs the flow for `ms`, or until `child` exits when child > 0 (returns its exit time). */
static uint64_t flow_run(struct ch_worker *w, unsigned ms, pid_t child)
{
    uint64_t end = ch__now_ms() + ms;
    for (;;) {
        int before = flow.unavailable;
        flow_top_up();
        ch__loop_run_once(&w->loop, 1);
        /* While refusals come back at once, pace the retries like real clients would. */
        if (flow.unavailable != before) usleep(2000);
        if (child > 0) {
            int status;
            if (waitpid(child, &status, WNOHANG) == child) {
                ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                return ch__now_ms();
            }
        }
        if (ch__now_ms() >= end) return 0;
    }
}

TEST(pg_restart_recovers_and_never_hangs)
{
    if (!dbt_pg_dir) {
        fprintf(stderr, "    (restart test skipped: CHOPIN_PG_DIR not set)\n");
        return;
    }
    struct ch_db_options o = {.pool_size = 2, .pipeline_depth = 8};
    struct dbt_env e;
    dbt_env_open(&e, dbt_pg_url, &o);
    dbt_env_start(&e);
    memset(&flow, 0, sizeof(flow));
    flow.dw = e.dw;
    for (int i = 0; i < SLOTS; i++) ch_arena_init(&flow.slots[i].arena, NULL, 0);

    flow_run(&e.tw.w, 300, 0);
    ASSERT(flow.ok > 0);
    ASSERT_EQ(flow.unavailable, 0);

    const char *script = getenv("CHOPIN_PG_SCRIPT");
    if (!script) script = "tests/db/pg-test-cluster.sh";
    char *argv[] = {"/bin/sh", (char *)script, "restart", (char *)dbt_pg_dir, NULL};
    pid_t pid;
    uint64_t t_kill = ch__now_ms();
    ASSERT_EQ(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
    flow.back_ms = flow_run(&e.tw.w, 30000, pid);
    ASSERT(flow.back_ms > 0);
    uint64_t end = ch__now_ms() + 5000;
    while (!flow.first_ok_after_back && ch__now_ms() < end) flow_run(&e.tw.w, 10, 0);
    ASSERT(flow.first_ok_after_back > 0);
    int unavailable_during = flow.unavailable;
    flow_run(&e.tw.w, 300, 0); /* and it stays healthy */
    struct ch_db_stats st;
    ch_db_worker_stats(e.dw, &st);
    fprintf(stderr,
            "    restart: server down+up took %llu ms; first success %llu ms after it was back; "
            "%d batches refused during the outage, %d ok overall; %llu reconnects\n",
            (unsigned long long)(flow.back_ms - t_kill),
            (unsigned long long)(flow.first_ok_after_back - flow.back_ms), unavailable_during,
            flow.ok, (unsigned long long)st.reconnects);
    ASSERT(unavailable_during > 0);
    ASSERT_EQ(flow.unavailable, unavailable_during);
    ASSERT(flow.first_ok_after_back - flow.back_ms < 5000);
    if (flow.other) fprintf(stderr, "    unexpected error: %s\n", flow.other_msg);
    ASSERT_EQ(flow.other, 0);
    ASSERT_EQ(st.ready, 2);

    /* No hang: everything outstanding is answered. */
    end = ch__now_ms() + 5000;
    while (flow.outstanding > 0 && ch__now_ms() < end) ch__loop_run_once(&e.tw.w.loop, 5);
    ASSERT_EQ(flow.outstanding, 0);
    for (int i = 0; i < SLOTS; i++) ch_arena_cleanup(&flow.slots[i].arena);
    dbt_env_close(&e);
}

TEST(pg_unpreparable_statements_back_off)
{
    dbt_exec(dbt_pg_url, "DROP TABLE IF EXISTS chopin_test_drop");
    dbt_exec(dbt_pg_url, "CREATE TABLE chopin_test_drop (id integer)");
    struct ch_db_options o = {.pool_size = 1};
    struct dbt_env e;
    dbt_env_open(&e, dbt_pg_url, &o);
    int sel = dbt_env_stmt(&e, "drop_sel", "SELECT count(*) FROM chopin_test_drop", NULL);
    dbt_env_start(&e);

    /* The table goes away and the pool's connection with it: every reconnect now fails to
     * prepare. That must back off like any other failure, not spin. */
    dbt_exec(dbt_pg_url, "DROP TABLE chopin_test_drop");
    dbt_exec(dbt_pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE application_name = 'chopin'");
    dbt_run_for(&e.tw.w, 1000);
    struct ch_db_stats st;
    ch_db_worker_stats(e.dw, &st);
    fprintf(stderr, "    %llu failed attempts in the second after the table was dropped\n",
            (unsigned long long)st.conn_errors);
    ASSERT(st.conn_errors >= 2);
    ASSERT(st.conn_errors <= 10);

    struct dbt_call c = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, sel, NULL, 0, &c);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 2000));
    ASSERT_EQ(d.err, CH_EUNAVAILABLE);

    /* Back: the pool recovers by itself. */
    dbt_exec(dbt_pg_url, "CREATE TABLE chopin_test_drop (id integer)");
    uint64_t end = ch__now_ms() + 3000;
    do {
        dbt_run_for(&e.tw.w, 20);
        ch_db_worker_stats(e.dw, &st);
    } while (st.reconnects == 0 && ch__now_ms() < end);
    ASSERT_EQ(st.reconnects, 1);
    memset(&d, 0, sizeof(d));
    b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, sel, NULL, 0, &c);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 2000));
    ASSERT_EQ(d.err, 0);
    ASSERT_EQ(c.ints[0][0], 0);
    dbt_env_close(&e);
    dbt_exec(dbt_pg_url, "DROP TABLE chopin_test_drop");
}

TEST(pg_stalled_backend_is_reset)
{
    /* A backend that stops answering (its process frozen; the kernel still acknowledges
     * TCP, so keepalives cannot tell): the stall timer resets the connection and the batch
     * gets CH_EUNAVAILABLE instead of hanging; the pool then reconnects. */
    struct ch_db_options o = {.pool_size = 1, .stall_timeout_ms = 300};
    struct dbt_env e;
    dbt_env_open(&e, dbt_pg_url, &o);
    int pid_stmt = dbt_env_stmt(&e, "pid", "SELECT pg_backend_pid(), 0", NULL);
    dbt_env_start(&e);
    struct dbt_call c = {0};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, pid_stmt, NULL, 0, &c);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    pid_t pid = (pid_t)c.ints[0][0];
    ASSERT(pid > 0);
    if (kill(pid, SIGSTOP) != 0) {
        fprintf(stderr, "    (stall test skipped: cannot stop the backend: %s)\n", strerror(errno));
        dbt_env_close(&e);
        return;
    }
    memset(&d, 0, sizeof(d));
    memset(&c, 0, sizeof(c));
    b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){1}, 1, &c);
    uint64_t t0 = ch__now_ms();
    dbt_submit(b, &d);
    int answered = dbt_run_until(&e.tw.w, &d.calls, 1, 3000);
    uint64_t waited = ch__now_ms() - t0;
    kill(pid, SIGCONT);
    ASSERT(answered);
    ASSERT_EQ(d.err, CH_EUNAVAILABLE);
    ASSERT(waited >= 250 && waited < 1500);

    struct ch_db_stats st;
    uint64_t end = ch__now_ms() + 3000;
    do {
        dbt_run_for(&e.tw.w, 10);
        ch_db_worker_stats(e.dw, &st);
    } while (st.reconnects == 0 && ch__now_ms() < end);
    ASSERT_EQ(st.reconnects, 1);
    memset(&d, 0, sizeof(d));
    b = ch_db_batch_new(e.dw, &e.arena);
    dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){2}, 1, &c);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 3000));
    ASSERT_EQ(d.err, 0);
    dbt_env_close(&e);
}

TEST(pg_unix_socket_connection)
{
    if (!dbt_pg_dir) return;
    char path[600], url[700];
    snprintf(path, sizeof(path), "%s/port", dbt_pg_dir);
    FILE *f = fopen(path, "r");
    int port = 0;
    if (!f || fscanf(f, "%d", &port) != 1) {
        if (f) fclose(f);
        fprintf(stderr, "    (unix socket test skipped: no %s)\n", path);
        return;
    }
    fclose(f);
    snprintf(url, sizeof(url), "host=%s/sock port=%d dbname=chopin user=chopin", dbt_pg_dir, port);
    struct ch_db_options o = {.pool_size = 2};
    struct dbt_env e;
    dbt_env_open(&e, url, &o);
    dbt_env_start(&e);
    enum { N = 200 };
    static struct dbt_call calls[N];
    static struct dbt_done done[N];
    memset(calls, 0, sizeof(calls));
    memset(done, 0, sizeof(done));
    int total = 0;
    for (int i = 0; i < N; i++) {
        struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
        dbt_add(b, DBT_WORLD_BY_ID, (int64_t[]){i + 1}, 1, &calls[i]);
        done[i].counter = &total;
        dbt_submit(b, &done[i]);
    }
    ASSERT(dbt_run_until(&e.tw.w, &total, N, 5000));
    for (int i = 0; i < N; i++) ASSERT_EQ(calls[i].ints[0][0], i + 1);
    dbt_env_close(&e);
}
