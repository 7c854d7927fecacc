/* A test application exercising framework paths the shipped binary never takes: failing
 * handlers, handlers that forget to answer, answers that come late, group middleware. */
#include <stdio.h>
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

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    ch_app_use_defaults(app);
    ch_app_use(app, (struct ch_middleware){"g1", order_before, order_after, "global", NULL});
    ch_get(app, "/fail", fail);
    ch_get(app, "/silent", silent);
    ch_get(app, "/hold", hold);
    ch_get(app, "/release", release);
    ch_get(app, "/held", count_held);
    struct ch_group *g = ch_group_new(app, "/g");
    ch_group_use(g, (struct ch_middleware){"g2", order_before, order_after, "group", NULL});
    ch_group_use(g, (struct ch_middleware){"stop", stop_early, NULL, NULL, NULL});
    struct ch_group *inner = ch_group_sub(g, "/inner");
    ch_group_use(inner, (struct ch_middleware){"g3", order_before, order_after, "inner", NULL});
    ch_group_route(inner, CH_METHOD_BIT(CH_GET), "/order", order);
    ch_group_use(inner, ch_mw_body_limit(4));
    ch_group_route(inner, CH_METHOD_BIT(CH_POST), "/small", order);
    return ch_app_run(app, argc, argv);
}
