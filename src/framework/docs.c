/* Browsable API docs (chopin/docs.h): the OpenAPI document rendered when the server starts,
 * and a Swagger UI page around it whose script and stylesheet are embedded in the library. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/docs.h"
#include "chopin/error.h"
#include "chopin/log.h"
#include "chopin/openapi.h"
#include "chopin/respond.h"
#include "framework/app.h"

/* src/framework/docs_ui.S */
extern const char ch__docs_ui_js[], ch__docs_ui_css[], ch__docs_ui_license[];
extern const uint64_t ch__docs_ui_js_len, ch__docs_ui_css_len, ch__docs_ui_license_len;

struct docs {
    char *prefix, *title, *version;
    struct ch_buf document; /* the OpenAPI JSON */
    struct ch_buf page;     /* the HTML page */
    struct ch_buf init;     /* the script that starts the UI */
    char *paths[8];         /* the routes' patterns, which the app may name in its errors */
    size_t npaths;
};

int ch_docs_ui_available(void)
{
    return ch__docs_ui_js_len > 0 && ch__docs_ui_css_len > 0;
}

static struct docs *docs_of(const struct ch_request *req)
{
    return ch__app_of(req)->docs;
}

static int serve_document(struct ch_request *req)
{
    const struct docs *d = docs_of(req);
    ch_res_header(req, CH_STR("Cache-Control"), CH_STR("no-cache"));
    return ch_respond_text(req, 200, "application/json",
                           ch_str_make(d->document.ptr, d->document.len));
}

static int serve_page(struct ch_request *req)
{
    const struct docs *d = docs_of(req);
    ch_res_header(req, CH_STR("Cache-Control"), CH_STR("no-cache"));
    return ch_respond_text(req, 200, "text/html; charset=utf-8",
                           ch_str_make(d->page.ptr, d->page.len));
}

static int serve_init(struct ch_request *req)
{
    const struct docs *d = docs_of(req);
    ch_res_header(req, CH_STR("Cache-Control"), CH_STR("no-cache"));
    return ch_respond_text(req, 200, "text/javascript; charset=utf-8",
                           ch_str_make(d->init.ptr, d->init.len));
}

/* The embedded files change only with the library, so browsers may keep them for a day. */
static int serve_asset(struct ch_request *req, const char *type, const char *data, uint64_t len)
{
    ch_res_header(req, CH_STR("Cache-Control"), CH_STR("public, max-age=86400"));
    return ch_respond_text(req, 200, type, ch_str_make(data, (size_t)len));
}

static int serve_js(struct ch_request *req)
{
    return serve_asset(req, "text/javascript; charset=utf-8", ch__docs_ui_js, ch__docs_ui_js_len);
}

static int serve_css(struct ch_request *req)
{
    return serve_asset(req, "text/css; charset=utf-8", ch__docs_ui_css, ch__docs_ui_css_len);
}

static int serve_license(struct ch_request *req)
{
    return serve_asset(req, "text/plain; charset=utf-8", ch__docs_ui_license,
                       ch__docs_ui_license_len);
}

static int html_escaped(struct ch_buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&': rc = ch_buf_append_cstr(b, "&amp;"); break;
        case '<': rc = ch_buf_append_cstr(b, "&lt;"); break;
        case '>': rc = ch_buf_append_cstr(b, "&gt;"); break;
        case '"': rc = ch_buf_append_cstr(b, "&quot;"); break;
        case '\'': rc = ch_buf_append_cstr(b, "&#39;"); break;
        default: rc = ch_buf_putc(b, *s);
        }
    }
    return rc;
}

static int render_page(struct docs *d)
{
    struct ch_buf *b = &d->page;
    int rc = ch_buf_append_cstr(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
                                   "<meta charset=\"utf-8\">\n"
                                   "<meta name=\"viewport\" content=\"width=device-width, "
                                   "initial-scale=1\">\n<title>");
    rc |= html_escaped(b, d->title);
    rc |= ch_buf_append_cstr(b, " ");
    rc |= html_escaped(b, d->version);
    rc |= ch_buf_append_cstr(b, " - API reference</title>\n");
    if (ch_docs_ui_available()) {
        /* No inline script or style, so a strict Content-Security-Policy ('self') allows it. */
        rc |= ch_buf_append_cstr(b, "<link rel=\"stylesheet\" href=\"");
        rc |= html_escaped(b, d->prefix);
        rc |= ch_buf_append_cstr(b, "/ui/swagger-ui.css\">\n</head>\n<body>\n"
                                    "<div id=\"swagger-ui\"></div>\n<script src=\"");
        rc |= html_escaped(b, d->prefix);
        rc |= ch_buf_append_cstr(b, "/ui/swagger-ui-bundle.js\"></script>\n<script src=\"");
        rc |= html_escaped(b, d->prefix);
        rc |= ch_buf_append_cstr(b, "/ui/init.js\"></script>\n<noscript>The interactive "
                                    "reference needs JavaScript; the document is at <a href=\"");
    } else {
        rc |= ch_buf_append_cstr(b, "</head>\n<body>\n<h1>");
        rc |= html_escaped(b, d->title);
        rc |= ch_buf_append_cstr(b, "</h1>\n<p id=\"ui-not-built\">The interactive API reference "
                                    "is not available: its UI bundle was not built (npm was "
                                    "missing or failed when this Chopin library was built; "
                                    "see mk/docs.mk).</p>\n<p>The OpenAPI document is at <a "
                                    "href=\"");
    }
    rc |= html_escaped(b, d->prefix);
    rc |= ch_buf_append_cstr(b, "/openapi.json\">");
    rc |= html_escaped(b, d->prefix);
    rc |= ch_buf_append_cstr(b, "/openapi.json</a>");
    if (ch_docs_ui_available()) {
        rc |= ch_buf_append_cstr(b, ".</noscript>\n<p><small>Swagger UI, <a href=\"");
        rc |= html_escaped(b, d->prefix);
        rc |= ch_buf_append_cstr(b, "/ui/LICENSE.txt\">Apache License 2.0</a></small></p>\n");
    } else {
        rc |= ch_buf_append_cstr(b, ".</p>\n");
    }
    rc |= ch_buf_append_cstr(b, "</body>\n</html>\n");
    return rc ? CH_ENOMEM : 0;
}

static int render_init(struct docs *d)
{
    struct ch_buf url;
    ch_buf_init(&url);
    int rc = ch_buf_printf(&url, "%s/openapi.json", d->prefix);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &d->init);
    rc |= ch_buf_append_cstr(&d->init, "window.ui = SwaggerUIBundle({\n  url: ");
    rc |= ch_json_str(&w, ch_str_make(url.ptr, url.len));
    rc |= ch_json_writer_finish(&w);
    rc |= ch_buf_append_cstr(&d->init, ",\n  dom_id: \"#swagger-ui\",\n  deepLinking: true,\n"
                                       "  displayRequestDuration: true\n});\n");
    ch_buf_cleanup(&url);
    return rc ? CH_ENOMEM : 0;
}

static void docs_free(void *p)
{
    struct docs *d = p;
    if (!d) return;
    free(d->prefix);
    free(d->title);
    free(d->version);
    ch_buf_cleanup(&d->document);
    ch_buf_cleanup(&d->page);
    ch_buf_cleanup(&d->init);
    for (size_t i = 0; i < d->npaths; i++) free(d->paths[i]);
    free(d);
}

static int route(struct ch_app *app, struct docs *d, const char *suffix, ch_handler_fn fn)
{
    size_t n = strlen(d->prefix) + strlen(suffix) + 1;
    char *path = d->npaths < sizeof(d->paths) / sizeof(d->paths[0]) ? malloc(n) : NULL;
    if (!path) return CH_ENOMEM;
    d->paths[d->npaths++] = path;
    snprintf(path, n, "%s%s", d->prefix, suffix);
    int rc = ch_get(app, path, fn);
    if (rc != 0) ch_log(CH_LOG_ERROR, "API docs: cannot add GET %s: %s", path, ch_strerror(rc));
    return rc;
}

/* Runs in ch_app_serve(), before the routes' chains are built: the document first, so that it
 * holds every route registered until then and none of the documentation's own. */
static int docs_mount(struct ch_app *app)
{
    struct docs *d = app->docs;
    d->document.len = d->page.len = d->init.len = 0;
    int rc = ch_openapi_render(app, d->title, d->version, &d->document);
    if (rc == 0) rc = render_page(d);
    if (rc == 0) rc = render_init(d);
    if (rc != 0) {
        ch_log(CH_LOG_ERROR, "API docs at %s: %s", d->prefix, ch_strerror(rc));
        return rc;
    }
    rc = route(app, d, "", serve_page);
    if (rc == 0) rc = route(app, d, "/openapi.json", serve_document);
    if (rc == 0 && ch_docs_ui_available()) {
        rc = route(app, d, "/ui/init.js", serve_init);
        if (rc == 0) rc = route(app, d, "/ui/swagger-ui-bundle.js", serve_js);
        if (rc == 0) rc = route(app, d, "/ui/swagger-ui.css", serve_css);
        if (rc == 0) rc = route(app, d, "/ui/LICENSE.txt", serve_license);
    }
    /* Mounted once: a second ch_app_serve() of the same app would find the routes taken. */
    app->docs_mount = NULL;
    return rc;
}

int ch_app_docs(struct ch_app *app, const char *prefix, const char *title, const char *version)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (!app || n < 2 || prefix[0] != '/' || prefix[n - 1] == '/' || strpbrk(prefix, ":*?#") ||
        app->docs)
        return CH_EINVAL;
    struct docs *d = calloc(1, sizeof(*d));
    if (!d) return CH_ENOMEM;
    d->prefix = strdup(prefix);
    d->title = strdup(title ? title : "API");
    d->version = strdup(version ? version : "0.0.0");
    ch_buf_init(&d->document);
    ch_buf_init(&d->page);
    ch_buf_init(&d->init);
    if (!d->prefix || !d->title || !d->version) {
        docs_free(d);
        return CH_ENOMEM;
    }
    app->docs = d;
    app->docs_free = docs_free;
    app->docs_mount = docs_mount;
    return 0;
}
