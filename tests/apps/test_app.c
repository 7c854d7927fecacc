/* A test application exercising framework paths the shipped binary never takes: failing
 * handlers, handlers that forget to answer, answers that come late, group middleware, guards,
 * typed query parameters, declared routes and raw routes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <chopin/chopin.h>

static int fail(struct ch_request *req)
{
    (void)req;
    return CH_EIO;
}

static int silent(struct ch_request *req)
{
    (void)req;
    return 0;
}

/* Held requests wait here until /release (use WORKERS=1 so both land on one worker). */
enum { MAX_HELD = 256 };
static struct ch_request *held[MAX_HELD];
static int nheld;

static int hold(struct ch_request *req)
{
    if (nheld == MAX_HELD) return ch_error(req, CH_ERR_SERVICE_UNAVAILABLE, "too many held");
    ch_request_hold(req);
    held[nheld++] = req;
    return 0;
}

static int release(struct ch_request *req)
{
    int n = nheld;
    while (nheld > 0) {
        struct ch_request *h = held[--nheld];
        /* The late answer is dropped if a timeout already answered. */
        ch_respond_text(h, 200, "text/plain", CH_STR("late"));
        ch_request_release(h);
    }
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_int(w, n);
    return ch_respond(req, 200);
}

static int count_held(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_int(w, nheld);
    return ch_respond(req, 200);
}

static int order_before(struct ch_request *req, void *arg)
{
    struct ch_buf *b = &req->res.body;
    ch_buf_append_cstr(b, arg);
    ch_buf_append_cstr(b, ">");
    return 0;
}

static void order_after(struct ch_request *req, void *arg)
{
    char *tag = arg;
    struct ch_header *h = ch_res_find_header(req, "X-Order");
    char v[256];
    snprintf(v, sizeof(v), "%.*s<%s", h ? (int)h->value.len : 0, h ? h->value.ptr : "", tag);
    if (h) h->value = ch_str_make(ch_arena_strndup(&req->arena, v, strlen(v)), strlen(v));
    else ch_res_header(req, CH_STR("X-Order"), ch_str_cstr(v));
}

static int order(struct ch_request *req)
{
    ch_buf_append_cstr(&req->res.body, "handler");
    req->res.status = 200;
    req->res.content_type = CH_STR("text/plain");
    return ch_res_send(req) == 0 ? 0 : CH_EIO;
}

static int stop_early(struct ch_request *req, void *arg)
{
    (void)arg;
    if (ch_header(req, "X-Stop").ptr) return ch_error(req, CH_ERR_FORBIDDEN, "stopped by middleware");
    return 0;
}

/* A global middleware that uses req->user, as request.h allows: the framework must not read
 * it (it once kept the 405 mask there). */
static char user_tag[] = "user-set-by-middleware";

static int set_user(struct ch_request *req, void *arg)
{
    (void)arg;
    req->user = user_tag;
    return 0;
}

static int whoami(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_string(w, req->user == user_tag ? "middleware" : "other");
    return ch_respond(req, 200);
}

/* ---- Typed query parameters and pagination ---- */

static int q_int(struct ch_request *req)
{
    int64_t n;
    if (ch_query_int(req, "n", 10, 1, 100, &n) != 0) return 0;
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_int(w, n);
    return ch_respond(req, 200);
}

static int q_float(struct ch_request *req)
{
    double x;
    if (ch_query_float(req, "x", 0.5, 0, 1, &x) != 0) return 0;
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_double(w, x);
    return ch_respond(req, 200);
}

static int q_bool(struct ch_request *req)
{
    int b;
    if (ch_query_bool(req, "flag", 1, &b) != 0) return 0;
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_bool(w, b);
    return ch_respond(req, 200);
}

static int q_clamp(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_int(w, ch_query_int_clamp(req, "queries", 1, 1, 500));
    return ch_respond(req, 200);
}

static int page(struct ch_request *req)
{
    struct ch_page p;
    if (ch_paginate(req, &p, 20, 100) != 0) return 0;
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "limit");
    ch_json_int(w, p.limit);
    ch_json_key(w, "offset");
    ch_json_int(w, p.offset);
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

/* ---- Declared routes ---- */

static const struct ch_field thing_fields[] = {
    {"name", CH_STRING, .required = 1, .min_len = 2, .max_len = 5, .description = "short name"},
    {"count", CH_INT, .required = 1, .min = 1, .max = 10},
    {"ratio", CH_FLOAT, .min = 0, .max = 1},
    {"active", CH_BOOL, .required = 0},
    {"sku", CH_STRING, .prefix = "SKU-"},
    {"level", CH_STRING, .one_of = "low|normal|high"},
    {"meta", CH_OBJECT, .description = "anything"},
    {"tags", CH_ARRAY, .max_len = 3},
};

static const struct ch_route_spec create_thing = {
    .summary = "Create a thing",
    .body = CH_FIELDS(thing_fields),
    .statuses = {201, 409},
};

static const struct ch_route_spec create_strict = {
    .body = CH_FIELDS(thing_fields),
    .reject_unknown = 1,
    .statuses = {201},
};

static int thing_created(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "name");
    ch_json_str(w, ch_body_str(req, "name"));
    ch_json_key(w, "count");
    ch_json_int(w, ch_body_int(req, "count", -1));
    ch_json_key(w, "ratio");
    ch_json_double(w, ch_body_float(req, "ratio", -1));
    ch_json_key(w, "active");
    ch_json_bool(w, ch_body_bool(req, "active", 0));
    ch_json_key(w, "has_sku");
    ch_json_bool(w, ch_body_has(req, "sku"));
    ch_json_object_end(w);
    return ch_respond(req, 201);
}

static const struct ch_field id_param[] = {{"id", CH_INT, .min = 1, .max = INT64_MAX}};
static const struct ch_field search_query[] = {
    {"q", CH_STRING, .required = 1, .min_len = 1},
    {"limit", CH_INT, .min = 1, .max = 50, .def = 10},
    {"exact", CH_BOOL, .def = 1},
    {"score", CH_FLOAT, .min = 0, .max = INFINITY, .def = 0.25},
};

static const struct ch_route_spec get_thing = {
    .summary = "One thing",
    .params = CH_FIELDS(id_param),
    .query = CH_FIELDS(search_query),
    .statuses = {200, 404},
};

static int thing(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_object_begin(w);
    ch_json_key(w, "id");
    ch_json_int(w, ch_arg_int(req, "id"));
    ch_json_key(w, "q");
    ch_json_str(w, ch_arg_str(req, "q"));
    ch_json_key(w, "limit");
    ch_json_int(w, ch_arg_int(req, "limit"));
    ch_json_key(w, "exact");
    ch_json_bool(w, ch_arg_bool(req, "exact"));
    ch_json_key(w, "score");
    ch_json_double(w, ch_arg_float(req, "score"));
    ch_json_object_end(w);
    return ch_respond(req, 200);
}

static int deleted(struct ch_request *req)
{
    return ch_respond_text(req, 204, "", CH_STR(""));
}

/* Route-only middleware: tags the response of the one route it is declared on. */
static int tag_own(struct ch_request *req, void *arg)
{
    (void)arg;
    return ch_res_header(req, CH_STR("X-Own"), CH_STR("1"));
}

static int plain_ok(struct ch_request *req)
{
    return ch_respond_text(req, 200, "text/plain", CH_STR("ok"));
}

/* ---- Raw routes ---- */

static int raw_hello(struct ch_buf *out, const char *date)
{
    if (ch_raw_head(out, 200, date, "text/plain", 4) != 0) return CH_ENOMEM;
    return ch_buf_append(out, "raw!", 4);
}

/* A body whose length (over 99 bytes) does not fit the two-digit placeholder. */
static int raw_long(struct ch_buf *out, const char *date)
{
    size_t mark;
    if (ch_raw_begin(out, 201, date, "application/json", &mark) != 0) return CH_ENOMEM;
    struct ch_json_writer w;
    ch_json_writer_init(&w, out);
    ch_json_array_begin(&w);
    for (int i = 0; i < 40; i++) ch_json_int(&w, i);
    ch_json_array_end(&w);
    if (ch_json_writer_finish(&w) != 0) return CH_ENOMEM;
    return ch_raw_end(out, mark);
}

/* The user's own /json: a raw route elsewhere must not shadow it. */
static int user_json(struct ch_request *req)
{
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_string(w, "user's own /json");
    return ch_respond(req, 200);
}

static int routed_raw(struct ch_request *req)
{
    return ch_respond_text(req, 200, "text/plain", CH_STR("routed"));
}

static struct ch_buf openapi;

static int openapi_doc(struct ch_request *req)
{
    return ch_respond_text(req, 200, "application/json", ch_str_make(openapi.ptr, openapi.len));
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    ch_app_use_defaults(app);
    ch_app_use(app, (struct ch_middleware){.name = "g1", .before = order_before,
                                           .after = order_after, .arg = "global"});
    ch_app_use(app, (struct ch_middleware){.name = "user", .before = set_user});
    ch_get(app, "/whoami", whoami);
    ch_get(app, "/fail", fail);
    ch_get(app, "/silent", silent);
    ch_get(app, "/hold", hold);
    ch_get(app, "/release", release);
    ch_get(app, "/held", count_held);
    struct ch_group *g = ch_group_new(app, "/g");
    ch_group_use(g, (struct ch_middleware){.name = "g2", .before = order_before,
                                           .after = order_after, .arg = "group"});
    ch_group_use(g, (struct ch_middleware){.name = "stop", .before = stop_early});
    struct ch_group *inner = ch_group_sub(g, "/inner");
    ch_group_use(inner, (struct ch_middleware){.name = "g3", .before = order_before,
                                               .after = order_after, .arg = "inner"});
    ch_group_route(inner, CH_METHOD_BIT(CH_GET), "/order", order);
    ch_group_use(inner, ch_mw_body_limit(4));
    ch_group_route(inner, CH_METHOD_BIT(CH_POST), "/small", order);

    ch_get(app, "/q/int", q_int);
    ch_get(app, "/q/float", q_float);
    ch_get(app, "/q/bool", q_bool);
    ch_get(app, "/q/clamp", q_clamp);
    ch_get(app, "/page", page);
    ch_route_with(app, CH_METHOD_BIT(CH_POST), "/things", thing_created, &create_thing);
    ch_route_with(app, CH_METHOD_BIT(CH_POST), "/strict", thing_created, &create_strict);
    ch_route_with(app, CH_METHOD_BIT(CH_GET), "/things/:id", thing, &get_thing);
    static const struct ch_route_spec delete_thing = {.params = CH_FIELDS(id_param),
                                                      .statuses = {204, 404}};
    ch_route_with(app, CH_METHOD_BIT(CH_DELETE), "/things/:id", deleted, &delete_thing);
    struct ch_middleware own[] = {{.name = "own", .before = tag_own}};
    struct ch_route_spec own_spec = {.middleware = own, .nmiddleware = 1};
    static struct ch_route_spec own_spec_static;
    own_spec_static = own_spec;
    ch_route_with(app, CH_METHOD_BIT(CH_GET), "/own", plain_ok, &own_spec_static);
    ch_get(app, "/not-own", plain_ok);

    ch_get(app, "/json", user_json);
    ch_get(app, "/raw", routed_raw);
    ch_app_raw_get(app, "/raw", raw_hello);
    ch_app_raw_get(app, "/raw-long", raw_long);

    int rc = ch_app_configure(app, argc, argv);
    if (rc != 0) {
        ch_app_free(app);
        return rc == 1 ? 0 : rc;
    }
    /* A guarded group: every request under /api needs a key, 404s and 405s included. */
    struct ch_group *api = ch_group_new(app, "/api");
    ch_group_use(api, ch_mw_api_key("s3cret-key-A, other-key-B"));
    ch_group_route(api, CH_METHOD_BIT(CH_GET), "/items", page);
    ch_group_route_with(api, CH_METHOD_BIT(CH_POST), "/items", thing_created, &create_thing);
    /* Keys from the environment; an unset variable refuses everyone. */
    struct ch_group *env = ch_group_new(app, "/env");
    ch_group_use(env, ch_mw_api_key_env("TEST_API_KEYS"));
    ch_group_route(env, CH_METHOD_BIT(CH_GET), "/ping", plain_ok);

    ch_get(app, "/openapi.json", openapi_doc);
    ch_buf_init(&openapi);
    if (ch_openapi_render(app, "test-app", "1", &openapi) != 0) return 1;
    rc = ch_app_serve(app);
    ch_app_free(app);
    ch_buf_cleanup(&openapi);
    return rc;
}
