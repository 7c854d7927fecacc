/* A test application for answering requests straight from queries (chopin/db_respond.h): one
 * table with unique, foreign-key, not-null and check constraints, a route for each kind of
 * answer and each error class, and one route on the batch API whose done callback maps the
 * error. The test creates the tables (tests/integration/test_db_respond.py); this program
 * registers statements on them. Public API only.
 *
 * DBAPP_MAX_QUEUED=n shrinks the pool (one connection, one batch in its pipeline, n queued)
 * so that a test can fill it and see 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chopin/chopin.h>

static struct ch_db *db;
static int s_list, s_get, s_create, s_rename, s_delete, s_fail, s_slow;

/* A string member as a parameter: absent or not a string is SQL NULL. */
static struct ch_db_param text_or_null(struct ch_request *req, const struct ch_json_value *in,
                                       const char *key)
{
    struct ch_json_check chk;
    ch_json_check_init(&chk, &req->arena);
    const char *s = ch_json_check_string(&chk, in, key, CH_JSON_OPTIONAL);
    return s ? ch_db_param_text(ch_str_cstr(s)) : ch_db_param_null();
}

static int64_t int_or(struct ch_request *req, const struct ch_json_value *in, const char *key,
                      int64_t def)
{
    struct ch_json_check chk;
    ch_json_check_init(&chk, &req->arena);
    return ch_json_check_int(&chk, in, key, CH_JSON_OPTIONAL, def);
}

static int list(struct ch_request *req)
{
    return ch_db_respond(req, CH_DB_ROWS, s_list, NULL, 0, NULL);
}

/* Reads :id; answers 400 and returns 0 when it is not an integer. */
static int item_id(struct ch_request *req, int64_t *id)
{
    if (ch_param_int(req, "id", id) == 0) return 1;
    ch_error(req, CH_ERR_BAD_REQUEST, "id must be an integer");
    return 0;
}

static int get_one(struct ch_request *req)
{
    int64_t id;
    if (!item_id(req, &id)) return 0;
    char msg[64];
    snprintf(msg, sizeof(msg), "Item %lld not found", (long long)id);
    struct ch_db_param p = ch_db_param_int(id);
    return ch_db_respond(req, CH_DB_ONE, s_get, &p, 1, msg);
}

/* No validation on purpose: the database's constraints answer (NULL name, negative qty,
 * missing parent, duplicate name). */
static int create(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_db_param p[3] = {ch_db_param_int(int_or(req, in, "parent_id", 1)),
                               text_or_null(req, in, "name"),
                               ch_db_param_int(int_or(req, in, "qty", 0))};
    return ch_db_respond(req, CH_DB_CREATED, s_create, p, 3, NULL);
}

static int rename_item(struct ch_request *req)
{
    int64_t id;
    if (!item_id(req, &id)) return 0;
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_db_param p[2] = {ch_db_param_int(id), text_or_null(req, in, "name")};
    return ch_db_respond(req, CH_DB_CHANGED, s_rename, p, 2, "No such item");
}

static int delete_item(struct ch_request *req)
{
    int64_t id;
    if (!item_id(req, &id)) return 0;
    struct ch_db_param p = ch_db_param_int(id);
    return ch_db_respond(req, CH_DB_CHANGED, s_delete, &p, 1, "No such item");
}

static int fail(struct ch_request *req)
{
    return ch_db_respond(req, CH_DB_ONE, s_fail, NULL, 0, NULL);
}

static int slow(struct ch_request *req)
{
    return ch_db_respond(req, CH_DB_ONE, s_slow, NULL, 0, NULL);
}

/* POST /pair {"a": name, "b": name}: two inserts in one batch, on the callback API. */
static void on_pair(void *arg, const struct ch_db_outcome *out)
{
    struct ch_request *req = arg;
    if (out->err) {
        ch_db_respond_error(req, out);
    } else {
        ch_json_int(ch_json_ok(req), 2);
        ch_respond(req, 201);
    }
    ch_request_release(req);
}

static int pair(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, NULL);
    const char *keys[2] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        struct ch_db_param p[3] = {ch_db_param_int(1), text_or_null(req, in, keys[i]),
                                   ch_db_param_int(0)};
        int rc = ch_db_batch_add(b, s_create, p, 3, NULL, NULL);
        if (rc) return rc;
    }
    ch_request_hold(req);
    ch_db_batch_submit(b, on_pair, req);
    return 0;
}

static int worker_start(struct ch_worker *w, void *arg)
{
    (void)arg;
    return ch_db_worker_start(db, w);
}

static void worker_stop(struct ch_worker *w, void *arg)
{
    (void)arg;
    ch_db_worker_stop(db, w);
}

static int stmt(int *id, const char *name, const char *pg, const char *sqlite)
{
    char err[512];
    *id = ch_db_stmt(db, name, pg, sqlite, err, sizeof(err));
    if (*id < 0) fprintf(stderr, "db-app: %s\n", err);
    return *id < 0;
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    int rc = ch_app_configure(app, argc, argv);
    if (rc != 0) {
        ch_app_free(app);
        return rc == 1 ? 0 : rc;
    }
    const struct ch_config *cfg = ch_app_config(app);
    struct ch_db_options opts = {.pool_size = cfg->db_pool_size, .workers = cfg->workers};
    const char *mq = getenv("DBAPP_MAX_QUEUED");
    if (mq && *mq) {
        opts.max_queued = atoi(mq);
        opts.pool_size = 1;
        opts.pipeline_depth = 1;
    }
    char err[512];
    db = ch_db_open(cfg->database_url, &opts, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "db-app: %s\n", err);
        ch_app_free(app);
        return 1;
    }
    if (stmt(&s_list, "list", "SELECT * FROM dbapp_item ORDER BY id",
             "SELECT * FROM dbapp_item ORDER BY id") ||
        stmt(&s_get, "get", "SELECT * FROM dbapp_item WHERE id = $1",
             "SELECT * FROM dbapp_item WHERE id = ?1") ||
        stmt(&s_create, "create",
             "INSERT INTO dbapp_item (parent_id, name, qty) VALUES ($1, $2, $3) RETURNING *",
             "INSERT INTO dbapp_item (parent_id, name, qty) VALUES (?1, ?2, ?3) RETURNING *") ||
        stmt(&s_rename, "rename",
             "UPDATE dbapp_item SET name = $2 WHERE id = $1 RETURNING id, name",
             "UPDATE dbapp_item SET name = ?2 WHERE id = ?1 RETURNING id, name") ||
        stmt(&s_delete, "delete", "DELETE FROM dbapp_item WHERE id = $1",
             "DELETE FROM dbapp_item WHERE id = ?1") ||
        stmt(&s_fail, "fail", "SELECT dbapp_fail() AS x", "SELECT json('{') AS x") ||
        stmt(&s_slow, "slow", "SELECT 1 AS slept FROM pg_sleep(1.5)",
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)"
             " SELECT max(x) AS slept FROM c")) {
        ch_db_free(db);
        ch_app_free(app);
        return 1;
    }
    ch_app_set_db(app, db);
    ch_app_on_worker(app, worker_start, worker_stop, NULL);
    ch_app_use_defaults(app);
    ch_get(app, "/items", list);
    ch_post(app, "/items", create);
    ch_get(app, "/items/:id", get_one);
    ch_put(app, "/items/:id", rename_item);
    ch_delete(app, "/items/:id", delete_item);
    ch_get(app, "/fail", fail);
    ch_get(app, "/slow", slow);
    ch_post(app, "/pair", pair);
    rc = ch_app_serve(app);
    ch_app_free(app);
    ch_db_free(db);
    return rc;
}
