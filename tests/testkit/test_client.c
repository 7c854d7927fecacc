/* The framework's behaviour seen through the public test client (chopin/testing.h): envelopes,
 * 404/405, validation and body errors, middleware, keep-alive and reconnection, and SERVER_PORT=0
 * in both modes. Built on the public headers only, as an application's tests are. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chopin/chopin.h>

#include "test.h"

/* ---- the application under test ---------------------------------------------------------- */

static int hello(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "message");
    ch_json_string(w, "hello");
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

static int create_note(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0;
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str title = ch_json_check_str(&c, in, "title", CH_JSON_REQUIRED);
    int64_t stars = ch_json_check_int(&c, in, "stars", 0, 0);
    if (stars < 0 || stars > 5) ch_json_check_fail(&c, in, "stars", "must be between 0 and 5");
    if (ch_json_check_result(&c) != 0) return ch_error_fields(req, &c);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "title");
    ch_json_str(w, title);
    ch_json_key(w, "stars");
    ch_json_int(w, stars);
    ch_json_object_end(w);
    return ch_respond(req, 201);
}

static int get_note(struct ch_request *req)
{
    int64_t id;
    if (ch_param_int(req, "id", &id) != 0) return ch_error(req, CH_ERR_BAD_REQUEST, "bad id");
    if (id != 7) return ch_error(req, CH_ERR_NOT_FOUND, "note %lld not found", (long long)id);
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, id);
    ch_json_key(w, "q");
    ch_json_str(w, ch_query(req, "q"));
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

static int failing(struct ch_request *req)
{
    (void)req;
    return CH_EIO;
}

static int big(struct ch_request *req)
{
    struct ch_buf *b = ch_res_body(req);
    for (int i = 0; i < 3 * 1024 * 1024 / 16; i++) ch_buf_append(b, "0123456789abcdef", 16);
    ch_res_content_type(req, "application/octet-stream");
    ch_res_status(req, 200);
    return ch_res_send(req);
}

static int worker(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_int(w, req->worker_id);
    return ch_respond(req, 200);
}

static int whoami(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_str(w, ch_header(req, "Authorization"));
    return ch_respond(req, 200);
}

/* A bearer guard on a group, as an application would write one. */
static int guard(struct ch_request *req, void *arg)
{
    (void)arg;
    struct ch_str h = ch_header(req, "Authorization");
    if (h.len == 13 && !memcmp(h.ptr, "Bearer secret", 13)) return 0;
    ch_res_header(req, CH_STR("WWW-Authenticate"), CH_STR("Bearer"));
    return ch_error(req, CH_ERR_UNAUTHORIZED, "a bearer token is required");
}

static struct ch_app *make_app(void)
{
    struct ch_app *app = ch_app_new();
    ASSERT(app != NULL);
    ch_app_config(app)->workers = 1;
    ch_app_use(app, ch_mw_request_id());
    ch_app_use(app, ch_mw_recovery());
    ch_get(app, "/hello", hello);
    ch_post(app, "/notes", create_note);
    ch_get(app, "/notes/:id", get_note);
    ch_get(app, "/fail", failing);
    ch_get(app, "/big", big);
    ch_get(app, "/worker", worker);
    struct ch_group *g = ch_group_new(app, "/private");
    ch_group_use(g, (struct ch_middleware){.name = "guard", .before = guard});
    ch_group_route(g, CH_METHOD_BIT(CH_GET), "/me", whoami);
    return app;
}

/* One client for the whole file: a started app is reused by the cases that do not need their
 * own configuration. */
static struct ch_app *shared_app;
static struct ch_test *shared;

static struct ch_test *client(void)
{
    if (!shared) {
        shared_app = make_app();
        shared = ch_test_start(shared_app);
        ASSERT(shared != NULL);
    }
    ch_test_bearer(shared, NULL);
    return shared;
}

static int json_is_str(const struct ch_json_value *v, const char *s)
{
    struct ch_str got = ch_json_value_str(v);
    return ch_json_value_type(v) == CH_JSON_STRING && got.len == strlen(s) &&
           !memcmp(got.ptr, s, got.len);
}

#define ASSERT_JSON_STR(res, path, expect) \
    ASSERT(json_is_str(ch_test_json_at((res).json, path), expect))

/* ---- cases -------------------------------------------------------------------------------- */

TEST(success_envelope)
{
    struct ch_test *t = client();
    ASSERT(ch_test_port(t) > 0);
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/hello", NULL, NULL, &res), 200);
    ASSERT(res.json != NULL);
    ASSERT_EQ(ch_json_value_bool(ch_test_json_at(res.json, "success")), 1);
    ASSERT_JSON_STR(res, "data.message", "hello");
    ASSERT_STR_EQ(ch_test_header(&res, "content-type"), "application/json");
    ASSERT_MEM_EQ(res.body.ptr, res.body.len,
                  "{\"success\":true,\"data\":{\"message\":\"hello\"}}");
    ASSERT(ch_test_header(&res, "X-Request-Id").len > 0);
}

TEST(created_with_json_body)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(
        ch_test_request(t, "POST", "/notes", NULL, "{\"title\":\"buy milk\",\"stars\":3}", &res),
        201);
    ASSERT_JSON_STR(res, "data.title", "buy milk");
    ASSERT_EQ(ch_json_value_int(ch_test_json_at(res.json, "data.stars")), 3);
}

TEST(validation_error_names_fields)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "POST", "/notes", NULL, "{\"stars\":9}", &res), 422);
    ASSERT_EQ(ch_json_value_bool(ch_test_json_at(res.json, "success")), 0);
    ASSERT_JSON_STR(res, "error.code", "VALIDATION_ERROR");
    ASSERT_EQ(ch_json_value_count(ch_test_json_at(res.json, "error.fields")), 2);
    ASSERT_JSON_STR(res, "error.fields.0.field", "title");
    ASSERT_JSON_STR(res, "error.fields.1.field", "stars");
}

TEST(invalid_json_and_media_type)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "POST", "/notes", NULL, "{\"title\":", &res), 422);
    ASSERT_JSON_STR(res, "error.code", "VALIDATION_ERROR");
    struct ch_str msg = ch_json_value_str(ch_test_json_at(res.json, "error.message"));
    ASSERT(msg.len >= 12 && !memcmp(msg.ptr, "Invalid JSON", 12));

    const char *text[] = {"Content-Type: text/plain", NULL};
    ASSERT_EQ(ch_test_request(t, "POST", "/notes", text, "{\"title\":\"x\"}", &res), 415);
    ASSERT_JSON_STR(res, "error.code", "UNSUPPORTED_MEDIA_TYPE");
}

TEST(not_found_and_method_not_allowed)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/nowhere", NULL, NULL, &res), 404);
    ASSERT_JSON_STR(res, "error.code", "NOT_FOUND");
    ASSERT_EQ(ch_test_request(t, "GET", "/notes/8", NULL, NULL, &res), 404);
    ASSERT_JSON_STR(res, "error.message", "note 8 not found");
    ASSERT_EQ(ch_test_request(t, "DELETE", "/hello", NULL, NULL, &res), 405);
    ASSERT_JSON_STR(res, "error.code", "METHOD_NOT_ALLOWED");
    struct ch_str allow = ch_test_header(&res, "Allow");
    ASSERT(allow.len > 0 && memmem(allow.ptr, allow.len, "GET", 3) != NULL);
}

TEST(params_and_query)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/notes/7?q=a%20b", NULL, NULL, &res), 200);
    ASSERT_EQ(ch_json_value_int(ch_test_json_at(res.json, "data.id")), 7);
    ASSERT_JSON_STR(res, "data.q", "a b");
    ASSERT_EQ(ch_test_request(t, "GET", "/notes/x", NULL, NULL, &res), 400);
}

TEST(handler_failure_is_500_and_connection_survives)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/fail", NULL, NULL, &res), 500);
    ASSERT_JSON_STR(res, "error.code", "INTERNAL_ERROR");
    ASSERT_EQ(ch_test_request(t, "GET", "/hello", NULL, NULL, &res), 200);
}

TEST(bearer_guard)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/private/me", NULL, NULL, &res), 401);
    ASSERT_STR_EQ(ch_test_header(&res, "WWW-Authenticate"), "Bearer");
    ASSERT_EQ(ch_test_bearer(t, "wrong"), 0);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/me", NULL, NULL, &res), 401);
    ASSERT_EQ(ch_test_bearer(t, "secret"), 0);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/me", NULL, NULL, &res), 200);
    ASSERT_JSON_STR(res, "data", "Bearer secret");
    /* An explicit header wins over the stored token. */
    const char *other[] = {"Authorization: Bearer other", NULL};
    ASSERT_EQ(ch_test_request(t, "GET", "/private/me", other, NULL, &res), 401);
    ASSERT_EQ(ch_test_bearer(t, NULL), 0);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/me", NULL, NULL, &res), 401);
}

TEST(head_has_no_body)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/hello", NULL, NULL, &res), 200);
    char length[24];
    snprintf(length, sizeof(length), "%zu", res.body.len);
    ASSERT_EQ(ch_test_request(t, "HEAD", "/hello", NULL, NULL, &res), 200);
    ASSERT_EQ(res.body.len, 0);
    ASSERT(res.json == NULL);
    ASSERT_STR_EQ(ch_test_header(&res, "Content-Length"), length);
    /* The connection is still in step: the next answer is the next request's. */
    ASSERT_EQ(ch_test_request(t, "GET", "/notes/7", NULL, NULL, &res), 200);
    ASSERT_EQ(ch_json_value_int(ch_test_json_at(res.json, "data.id")), 7);
}

TEST(large_body_read_whole)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/big", NULL, NULL, &res), 200);
    ASSERT_UEQ(res.body.len, 3 * 1024 * 1024);
    ASSERT(res.json == NULL);
    ASSERT(!memcmp(res.body.ptr + res.body.len - 16, "0123456789abcdef", 16));
    ASSERT_EQ(res.body.ptr[res.body.len], '\0');
}

TEST(connection_close_then_reconnect)
{
    struct ch_test *t = client();
    struct ch_test_response res;
    const char *close_hdr[] = {"Connection: close", NULL};
    ASSERT_EQ(ch_test_request(t, "GET", "/hello", close_hdr, NULL, &res), 200);
    ASSERT_STR_EQ(ch_test_header(&res, "Connection"), "close");
    ASSERT_EQ(ch_test_request(t, "GET", "/hello", NULL, NULL, &res), 200);
}

TEST(idle_connection_closed_by_server_is_reopened)
{
    struct ch_app *app = make_app();
    ch_app_config(app)->idle_timeout_ms = 300;
    struct ch_test *t = ch_test_start(app);
    ASSERT(t != NULL);
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/hello", NULL, NULL, &res), 200);
    usleep(1500 * 1000); /* the server's tick closes the idle connection meanwhile */
    ASSERT_EQ(ch_test_request(t, "POST", "/notes", NULL, "{\"title\":\"t\"}", &res), 201);
    ASSERT_EQ(ch_test_stop(t), 0);
    ch_app_free(app);
}

TEST(two_apps_at_once)
{
    struct ch_app *a = make_app(), *b = make_app();
    struct ch_test *ta = ch_test_start(a), *tb = ch_test_start(b);
    ASSERT(ta != NULL && tb != NULL);
    ASSERT_NE(ch_test_port(ta), ch_test_port(tb));
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(ta, "GET", "/hello", NULL, NULL, &res), 200);
    ASSERT_EQ(ch_test_request(tb, "GET", "/hello", NULL, NULL, &res), 200);
    ASSERT_EQ(ch_test_stop(ta), 0);
    ASSERT_EQ(ch_test_request(tb, "GET", "/hello", NULL, NULL, &res), 200);
    ASSERT_EQ(ch_test_stop(tb), 0);
    ch_app_free(a);
    ch_app_free(b);
}

/* Performance mode opens one SO_REUSEPORT listener per worker: with SERVER_PORT=0 they must
 * all share the port the first one got, or connections never reach the other workers. */
TEST(port_zero_shared_by_every_listener)
{
    struct ch_app *app = make_app();
    ch_app_config(app)->mode = CH_MODE_PERFORMANCE;
    ch_app_config(app)->workers = 2;
    struct ch_test *t = ch_test_start(app);
    ASSERT(t != NULL);
    const char *close_hdr[] = {"Connection: close", NULL};
    int seen[2] = {0, 0};
    for (int i = 0; i < 64 && !(seen[0] && seen[1]); i++) {
        struct ch_test_response res;
        ASSERT_EQ(ch_test_request(t, "GET", "/worker", close_hdr, NULL, &res), 200);
        int64_t w = ch_json_value_int(ch_test_json_at(res.json, "data"));
        ASSERT(w == 0 || w == 1);
        seen[w] = 1;
    }
    ASSERT(seen[0] && seen[1]);
    ASSERT_EQ(ch_test_stop(t), 0);
    ch_app_free(app);
}

TEST(start_fails_loudly)
{
    struct ch_app *app = ch_app_new();
    ch_get(app, "/bad/:", hello); /* a registration error: the app must not serve */
    ASSERT(ch_test_start(app) == NULL);
    ch_app_free(app);
}

/* The built-in account routes, signed into with the test client's helpers, guarding a route of
 * the app's own, as an application's tests would do it. */
static int auth_whoami(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "sub");
    ch_json_str(w, ch_auth(req)->sub);
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

TEST(signup_and_login_helpers)
{
    struct ch_auth_config cfg;
    ch_auth_config_defaults(&cfg);
    cfg.argon2.memory_kib = 64; /* cheap hashes: this is not a test of Argon2id */
    cfg.argon2.iterations = 1;
    const char *secret = "testkit-secret-0123456789-abcdefghijk";
    memcpy(cfg.jwt_secret, secret, strlen(secret));
    cfg.jwt_secret_len = strlen(secret);
    char err[256];
    struct ch_auth *auth = ch_auth_new(&cfg, err, sizeof(err));
    ASSERT(auth != NULL);
    struct ch_app *app = ch_app_new();
    ch_app_config(app)->workers = 1;
    struct ch_app_db_options db = {.url = "sqlite::memory:"};
    ASSERT_EQ(ch_app_use_database(app, &db), 0);
    ch_app_use_defaults(app);
    ASSERT_EQ(ch_auth_mount(app, auth, "/api/auth"), 0);
    struct ch_group *mine = ch_group_new(app, "/private");
    ASSERT_EQ(ch_group_use(mine, ch_auth_required(auth)), 0);
    ASSERT_EQ(ch_group_route(mine, CH_METHOD_BIT(CH_GET), "/whoami", auth_whoami), 0);
    struct ch_test *t = ch_test_start(app);
    ASSERT(t != NULL);
    struct ch_test_response res;

    ASSERT_EQ(ch_test_request(t, "GET", "/private/whoami", NULL, NULL, &res), 401);
    ASSERT_EQ(ch_test_signup(t, "kit@example.org", "kit", "testing \"pw\"", &res), 201);
    ASSERT_EQ(ch_json_value_str(ch_test_json_at(res.json, "data.refresh_token")).len, 43);
    int64_t id = ch_json_value_int(ch_test_json_at(res.json, "data.user.id"));
    ASSERT(id > 0);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/whoami", NULL, NULL, &res), 200);
    ASSERT_STR_EQ(ch_json_value_str(ch_test_json_at(res.json, "data.sub")), "1");
    ASSERT_EQ(ch_test_request(t, "GET", "/api/auth/me", NULL, NULL, &res), 200);
    ASSERT_STR_EQ(ch_json_value_str(ch_test_json_at(res.json, "data.username")), "kit");

    /* A failed signup leaves the bearer alone. */
    ASSERT_EQ(ch_test_signup(t, "KIT@example.org", "kit2", "password1", &res), 409);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/whoami", NULL, NULL, &res), 200);

    ASSERT_EQ(ch_test_bearer(t, NULL), 0);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/whoami", NULL, NULL, &res), 401);
    ASSERT_EQ(ch_test_login(t, "kit", "wrong password", NULL), 401);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/whoami", NULL, NULL, &res), 401);
    ASSERT_EQ(ch_test_login(t, "kit@example.org", "testing \"pw\"", NULL), 200);
    ASSERT_EQ(ch_test_request(t, "GET", "/private/whoami", NULL, NULL, &res), 200);

    ASSERT_EQ(ch_test_stop(t), 0);
    ch_app_free(app);
    ch_auth_free(auth);
}

TEST(json_at_paths)
{
    struct ch_arena arena;
    ch_arena_init(&arena, NULL, 0);
    const char *doc = "{\"a\":{\"b\":[10,{\"c\":\"x\"}]},\"a.b\":1}";
    const struct ch_json_value *root;
    ASSERT_EQ(ch_json_parse(doc, strlen(doc), &arena, &root, NULL), 0);
    ASSERT(ch_test_json_at(root, "") == root);
    ASSERT_EQ(ch_json_value_int(ch_test_json_at(root, "a.b.0")), 10);
    ASSERT(json_is_str(ch_test_json_at(root, "a.b.1.c"), "x"));
    ASSERT(ch_test_json_at(root, "a.b.2") == NULL);
    ASSERT(ch_test_json_at(root, "a.b.x") == NULL);
    ASSERT(ch_test_json_at(root, "a.b.-1") == NULL);
    ASSERT(ch_test_json_at(root, "a.z") == NULL);
    ASSERT(ch_test_json_at(NULL, "a") == NULL);
    ch_arena_cleanup(&arena);
}

int main(int argc, char **argv)
{
    struct ch_test_counts n = {0, 0, 0};
    ch_log_set_level(CH_LOG_WARN);
    ch_test_run(argc, argv, NULL, &n);
    if (shared && ch_test_stop(shared) != 0) {
        fprintf(stderr, "the shared app did not shut down cleanly\n");
        n.failed++;
    }
    ch_app_free(shared_app);
    printf("testkit: %d passed, %d failed\n", n.passed, n.failed);
    return n.failed ? 1 : 0;
}
