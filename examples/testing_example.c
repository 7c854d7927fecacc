// smoke: POST /todos {"title":"write tests"} -> 201 "title":"write tests"
// smoke: POST /todos {"title":""} -> 422 VALIDATION_ERROR
/* Testing an application's handlers with the test client (chopin/testing.h).
 *
 * The app below is a tiny to-do list. `./todos` serves it as usual; `./todos test` instead
 * serves it in-process on a free port and checks its answers, as an app's test program would,
 * printing one line per failed check and "N passed, N failed". Build (after make install):
 *     cc examples/testing_example.c $(pkg-config --cflags --libs --static chopin) -o todos */
#include <stdio.h>
#include <string.h>

#include <chopin/chopin.h>

/* ---- the application ---------------------------------------------------------------------- */

static int next_id = 1;

static int create_todo(struct ch_request *req)
{
    const struct ch_json_value *in = ch_json_body(req);
    if (!in) return 0; /* 415 or 422 already sent */
    struct ch_json_check c;
    ch_json_check_init(&c, &req->arena);
    struct ch_str title = ch_json_check_str(&c, in, "title", CH_JSON_REQUIRED);
    if (ch_json_check_result(&c) == 0 && title.len == 0)
        ch_json_check_fail(&c, in, "title", "must not be empty");
    if (ch_json_check_result(&c) != 0) return ch_error_fields(req, &c);

    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, next_id++);
    ch_json_key(w, "title");
    ch_json_str(w, title);
    ch_json_object_end(w);
    return ch_respond(req, 201);
}

static void register_routes(struct ch_app *app)
{
    ch_app_use_defaults(app);
    ch_post(app, "/todos", create_todo);
}

/* ---- its tests ---------------------------------------------------------------------------- */

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok)
        passed++;
    else
        failed++, fprintf(stderr, "FAIL: %s\n", what);
}

static int str_is(const struct ch_json_value *v, const char *s)
{
    struct ch_str got = ch_json_value_str(v);
    return got.len == strlen(s) && memcmp(got.ptr, s, got.len) == 0;
}

static int run_tests(void)
{
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    ch_app_config(app)->workers = 1;
    register_routes(app);
    struct ch_test *t = ch_test_start(app);
    if (!t) return 1;
    struct ch_test_response res;

    int status = ch_test_request(t, "POST", "/todos", NULL, "{\"title\":\"write tests\"}", &res);
    check(status == 201, "create answers 201");
    check(ch_json_value_int(ch_test_json_at(res.json, "data.id")) == 1, "the first id is 1");
    check(str_is(ch_test_json_at(res.json, "data.title"), "write tests"), "the title is kept");

    status = ch_test_request(t, "POST", "/todos", NULL, "{\"title\":\"\"}", &res);
    check(status == 422, "an empty title is refused");
    check(str_is(ch_test_json_at(res.json, "error.fields.0.field"), "title"), "...naming it");

    status = ch_test_request(t, "POST", "/todos", NULL, "not json", &res);
    check(status == 422 && str_is(ch_test_json_at(res.json, "error.code"), "VALIDATION_ERROR"),
          "malformed JSON is a validation error");

    status = ch_test_request(t, "GET", "/todos", NULL, NULL, &res);
    check(status == 405 && ch_test_header(&res, "Allow").len > 0, "GET is not allowed");

    check(ch_test_stop(t) == 0, "the server shuts down cleanly");
    ch_app_free(app);
    printf("testing_example: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "test") == 0) return run_tests();
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    register_routes(app);
    return ch_app_run(app, argc, argv);
}
