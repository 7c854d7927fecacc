/* A database-backed resource in one file: the schema as migrations, one portable statement,
 * and a handler answering from its result. Runs on SQLite (default ./chopin.db, or
 * DATABASE_URL=sqlite::memory:) and on PostgreSQL (DATABASE_URL=postgres://...).
 *
 *   curl localhost:3000/greetings/1     {"success":true,"data":{"id":1,"text":"Hello, World!"}}
 *   ./db_hello --migrate-status         the migrations and their state */
// smoke: GET /greetings/1 -> 200 Hello, World!
// smoke: GET /greetings/3 -> 404 NOT_FOUND
// smoke: GET /greetings/x -> 400 BAD_REQUEST
#include <chopin/chopin.h>
#include <chopin/db.h>

static const struct ch_migration migrations[] = {
    {.version = 1,
     .name = "create_greetings",
     .sql = "CREATE TABLE greetings (id integer PRIMARY KEY, text varchar(200) NOT NULL)",
     .down = "DROP TABLE greetings"},
    {.version = 2,
     .name = "seed_greetings",
     .sql = "INSERT INTO greetings (id, text) VALUES (1, 'Hello, World!'), (2, 'Bonjour !')",
     .down = "DELETE FROM greetings"},
};

static int greeting_by_id; /* statement id, known at declaration */

static void on_row(void *arg, const struct ch_db_result *res)
{
    struct ch_request *req = arg;
    if (ch_db_error(res) || ch_db_rows(res) == 0) return; /* on_done answers */
    struct ch_str text = ch_db_text(res, 0, 1);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, ch_db_int(res, 0, 0));
    ch_json_key(w, "text");
    ch_json_str(w, text);
    ch_json_object_end(w);
    ch_respond(req, 200);
}

static void on_done(void *arg, const struct ch_db_outcome *out)
{
    struct ch_request *req = arg;
    if (out->err) ch_db_respond_error(req, out); /* 503, or 500 DATABASE_ERROR */
    else ch_error(req, CH_ERR_NOT_FOUND, "no such greeting"); /* ignored if on_row answered */
    ch_request_release(req);                                  /* the request may now end */
}

static int get_greeting(struct ch_request *req)
{
    int64_t id;
    if (ch_str_to_i64(ch_param(req, "id"), &id) != 0)
        return ch_error(req, CH_ERR_BAD_REQUEST, "id must be an integer");
    struct ch_db_batch *b = ch_db_batch_new(ch_request_db(req), &req->arena);
    if (!b) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "database unavailable");
    struct ch_db_param p = ch_db_param_int(id);
    ch_db_batch_add(b, greeting_by_id, &p, 1, on_row, req); /* add more: one round trip */
    ch_request_hold(req); /* keep it alive until on_done */
    ch_db_batch_submit(b, on_done, req);
    return 0;
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    ch_app_use_defaults(app);
    ch_app_use_database(app, NULL); /* DATABASE_URL, DB_POOL_SIZE, WORKERS */
    ch_app_migrations(app, "app", migrations, sizeof(migrations) / sizeof(migrations[0]));
    greeting_by_id =
        ch_app_statement(app, "greeting_by_id", "SELECT id, text FROM greetings WHERE id = $1", NULL);
    ch_get(app, "/greetings/:id", get_greeting);
    return ch_app_run(app, argc, argv);
}
