/* The app the compression and security-header tests run (tests/integration/test_compress.py,
 * test_security.py): compression first, then the default stack, then routes that produce each
 * kind of response those middleware must handle or leave alone. */
#include <stdlib.h>
#include <string.h>

#include <chopin/chopin.h>

/* GET /big?n=N: a JSON array of N objects (about 60 bytes each). */
static int big(struct ch_request *req)
{
    int64_t n;
    if (ch_query_int(req, "n", 100, 0, 100000, &n) != 0) return 0;
    struct ch_json_writer *w = ch_json_ok(req);
    ch_json_array_begin(w);
    for (int64_t i = 0; i < n; i++) {
        ch_json_object_begin(w);
        ch_json_key(w, "id");
        ch_json_int(w, i);
        ch_json_key(w, "title");
        ch_json_string(w, "a note about compression");
        ch_json_object_end(w);
    }
    ch_json_array_end(w);
    return ch_respond(req, 200);
}

static struct ch_str filler(struct ch_request *req, size_t n)
{
    char *s = ch_arena_alloc(&req->arena, n);
    for (size_t i = 0; i < n; i++) s[i] = "chopin compresses text "[i % 23];
    return ch_str_make(s, n);
}

/* GET /typed?type=T&n=N: N compressible bytes sent as type T (percent-decoding not needed for
 * the types the tests use). */
static int typed(struct ch_request *req)
{
    const char *type = "";
    const char *q = req->query.ptr;
    if (q && req->query.len > 5 && !strncmp(q, "type=", 5)) {
        const char *e = memchr(q, '&', req->query.len);
        size_t len = (e ? (size_t)(e - q) : req->query.len) - 5;
        type = ch_arena_strndup(&req->arena, q + 5, len);
    }
    int64_t n;
    if (ch_query_int(req, "n", 4096, 0, 1 << 24, &n) != 0) return 0;
    return ch_respond_text(req, 200, type, filler(req, (size_t)n));
}

/* GET /headers/NAME=VALUE: a 4 KiB text/plain body with that response header set. */
static int with_header(struct ch_request *req)
{
    struct ch_str p = ch_param(req, "spec");
    const char *eq = memchr(p.ptr, '=', p.len);
    if (eq) {
        struct ch_str name = ch_str_make(p.ptr, (size_t)(eq - p.ptr));
        struct ch_str value = ch_str_make(eq + 1, p.len - name.len - 1);
        ch_res_header(req, name, value);
    }
    return ch_respond_text(req, 200, "text/plain", filler(req, 4096));
}

static int no_content(struct ch_request *req)
{
    return ch_respond_text(req, 204, "", CH_STR(""));
}

static int not_modified(struct ch_request *req)
{
    return ch_respond_text(req, 304, "text/plain", CH_STR(""));
}

/* GET /status/500: a large error body still gets compressed. */
static int failing(struct ch_request *req)
{
    ch_res_header(req, CH_STR("X-Filler"), CH_STR("1"));
    return ch_respond_text(req, 500, "application/problem+json", filler(req, 2048));
}

/* Raw routes (performance mode): answered before any middleware, so never compressed. */
static int raw_plaintext(struct ch_buf *out, const char *date)
{
    return ch_raw_respond(out, 200, date, "text/plain", "Hello, World!", 13);
}

static int raw_json(struct ch_buf *out, const char *date)
{
    static const char body[] = "{\"message\":\"Hello, World!\"}";
    return ch_raw_respond(out, 200, date, "application/json", body, sizeof(body) - 1);
}

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    ch_app_use(app, ch_mw_compress(NULL));
    ch_app_use_defaults(app);
    ch_get(app, "/big", big);
    ch_get(app, "/typed", typed);
    ch_get(app, "/headers/:spec", with_header);
    ch_get(app, "/no-content", no_content);
    ch_get(app, "/not-modified", not_modified);
    ch_get(app, "/status/500", failing);
    ch_app_raw_get(app, "/plaintext", raw_plaintext);
    ch_app_raw_get(app, "/json", raw_json);

    /* Compression with other options on a group: gzip only, from 100 bytes. */
    struct ch_group *g = ch_group_new(app, "/gzip-only");
    struct ch_compress_options copt = {.min_size = 100, .brotli_quality = -1};
    ch_group_use(g, ch_mw_compress(&copt));
    ch_group_route(g, CH_METHOD_BIT(CH_GET), "/big", big);

    /* Security headers with explicit options, active in every environment. */
    struct ch_group *s = ch_group_new(app, "/secure");
    struct ch_security_options sopt = {.frame_options = "SAMEORIGIN",
                                       .referrer_policy = "strict-origin-when-cross-origin",
                                       .hsts = 1,
                                       .hsts_max_age = 600,
                                       .hsts_include_subdomains = 1};
    ch_group_use(s, ch_mw_security_headers(&sopt));
    ch_group_route(s, CH_METHOD_BIT(CH_GET), "/big", big);
    ch_group_route(s, CH_METHOD_BIT(CH_GET), "/typed", typed);

    /* Values that would split the header: refused, the defaults are sent instead. */
    struct ch_group *e = ch_group_new(app, "/evil");
    struct ch_security_options eopt = {.frame_options = "DENY\r\nX-Injected: 1",
                                       .referrer_policy = "origin\nX-Injected: 2",
                                       .json_csp = ""};
    ch_group_use(e, ch_mw_security_headers(&eopt));
    ch_group_route(e, CH_METHOD_BIT(CH_GET), "/big", big);
    return ch_app_run(app, argc, argv);
}
