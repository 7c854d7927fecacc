/* A small app for tests/integration/test_migrations.py, on the public API only: migrations from
 * the directory $MIGRATIONS_DIR (set "app"), one statement $STATEMENT_SQL (default SELECT 1)
 * declared as "probe", and worker hooks next to the database wiring.
 *   GET /probe   the statement's first column of the first row, as {"data":"..."}
 *   GET /pool    {"data":{"connections":N,"ready":N,"hook_saw_pool":0|1,"driver":"..."}} */
#include <stdio.h>
#include <stdlib.h>

#include <chopin/chopin.h>
#include <chopin/db.h>

static struct ch_app *the_app;
static int probe_stmt;
static int hook_saw_pool[64];

static void on_probe(void *arg, const struct ch_db_result *res)
{
    struct ch_request *req = arg;
    struct ch_str t = ch_db_rows(res) > 0 ? ch_db_text(res, 0, 0) : CH_STR("");
    char *copy = ch_arena_strndup(&req->arena, t.ptr, t.len);
    req->user = copy;
}

static void on_probe_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct ch_request *req = arg;
    if (err) ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "query failed: %s", ch_strerror(err));
    else {
        ch_json_string(ch_json_ok(req), req->user ? (const char *)req->user : "");
        ch_respond(req, 200);
    }
    ch_request_release(req);
}

static int probe(struct ch_request *req)
{
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "no pool");
    req->user = NULL;
    ch_db_batch_add(b, probe_stmt, NULL, 0, on_probe, req);
    ch_request_hold(req);
    ch_db_batch_submit(b, on_probe_done, req);
    return 0;
}

static int pool(struct ch_request *req)
{
    struct ch_db_stats st;
    ch_db_worker_stats(ch_request_db(req), &st);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "connections");
    ch_json_int(w, st.connections);
    ch_json_key(w, "ready");
    ch_json_int(w, st.ready);
    ch_json_key(w, "hook_saw_pool");
    ch_json_int(w, req->worker_id < 64 ? hook_saw_pool[req->worker_id] : 0);
    ch_json_key(w, "driver");
    ch_json_string(w, ch_db_driver(ch_app_db(the_app)));
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

static int worker_start(struct ch_worker *w, void *arg)
{
    (void)arg;
    int id = ch_worker_index(w);
    if (id < 64) hook_saw_pool[id] = ch_db_worker_get(ch_app_db(the_app), id) != NULL;
    return 0;
}

static void worker_stop(struct ch_worker *w, void *arg)
{
    (void)arg;
    (void)w;
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    the_app = app;
    const char *dir = getenv("MIGRATIONS_DIR"), *sql = getenv("STATEMENT_SQL");
    ch_app_use_database(app, NULL);
    if (dir) ch_app_migrations_dir(app, "app", dir);
    probe_stmt = ch_app_statement(app, "probe", sql ? sql : "SELECT 1", NULL);
    ch_app_on_worker(app, worker_start, worker_stop, NULL);
    ch_get(app, "/probe", probe);
    ch_get(app, "/pool", pool);
    return ch_app_run(app, argc, argv);
}
