/* The API docs mount (chopin/docs.h) through the test client: the document, the page and the
 * embedded UI files, and the mount's argument checks. (The page rendered by a browser is
 * tests/testkit/test_docs_ui.py; a library without the UI is tests/testkit/fallback/.) */
#include <string.h>

#include <chopin/chopin.h>

#include "test.h"

static int item(struct ch_request *req)
{
    return ch_respond_text(req, 200, "text/plain", CH_STR("item"));
}

static int contains(struct ch_str hay, const char *needle)
{
    return hay.ptr && memmem(hay.ptr, hay.len, needle, strlen(needle)) != NULL;
}

TEST(docs_document_lists_routes_registered_after_the_mount)
{
    struct ch_app *app = ch_app_new();
    ch_app_config(app)->workers = 1;
    ch_get(app, "/items", item);
    ASSERT_EQ(ch_app_docs(app, "/reference", "Shop <API>", "2.1.0"), 0);
    /* Registered after ch_app_docs(): the document is rendered when serving starts. */
    ch_route(app, CH_METHOD_BIT(CH_GET) | CH_METHOD_BIT(CH_DELETE), "/items/:id", item);
    struct ch_test *t = ch_test_start(app);
    ASSERT(t != NULL);
    struct ch_test_response res;

    ASSERT_EQ(ch_test_request(t, "GET", "/reference/openapi.json", NULL, NULL, &res), 200);
    ASSERT(res.json != NULL);
    ASSERT(ch_test_json_at(res.json, "paths./items.get") != NULL);
    ASSERT(ch_test_json_at(res.json, "paths./items/{id}.delete") != NULL);
    struct ch_str title = ch_json_value_str(ch_test_json_at(res.json, "info.title"));
    ASSERT_MEM_EQ(title.ptr, title.len, "Shop <API>");
    /* The documentation's own routes are not part of the API it documents. */
    ASSERT_EQ(ch_json_value_count(ch_test_json_at(res.json, "paths")), 2);

    ASSERT_EQ(ch_test_request(t, "GET", "/reference", NULL, NULL, &res), 200);
    ASSERT(contains(ch_test_header(&res, "Content-Type"), "text/html"));
    ASSERT(contains(res.body, "<title>Shop &lt;API&gt; 2.1.0"));
    ASSERT(!contains(res.body, "<API>"));
    ASSERT(contains(res.body, "/reference/openapi.json"));
    if (ch_docs_ui_available()) {
        ASSERT(contains(res.body, "<script src=\"/reference/ui/swagger-ui-bundle.js\">"));
        ASSERT(!contains(res.body, "<script>")); /* no inline script: CSP 'self' suffices */
        ASSERT_EQ(ch_test_request(t, "GET", "/reference/ui/init.js", NULL, NULL, &res), 200);
        ASSERT(contains(res.body, "url: \"/reference/openapi.json\""));
        ASSERT_EQ(ch_test_request(t, "GET", "/reference/ui/swagger-ui-bundle.js", NULL, NULL, &res),
                  200);
        ASSERT(res.body.len > 100000);
        ASSERT(contains(res.body, "SwaggerUIBundle"));
        ASSERT(contains(ch_test_header(&res, "Content-Type"), "text/javascript"));
        ASSERT_EQ(ch_test_request(t, "GET", "/reference/ui/swagger-ui.css", NULL, NULL, &res), 200);
        ASSERT(contains(ch_test_header(&res, "Content-Type"), "text/css"));
        ASSERT(contains(res.body, ".swagger-ui"));
        ASSERT_EQ(ch_test_request(t, "GET", "/reference/ui/LICENSE.txt", NULL, NULL, &res), 200);
        ASSERT(contains(res.body, "Apache License"));
    } else {
        fprintf(stderr, "note: this library was built without the docs UI (npm)\n");
        ASSERT(contains(res.body, "was not built"));
    }
    ASSERT_EQ(ch_test_request(t, "GET", "/reference/ui/other.js", NULL, NULL, &res), 404);
    ASSERT_EQ(ch_test_request(t, "POST", "/reference", NULL, "{}", &res), 405);
    ASSERT_EQ(ch_test_stop(t), 0);
    ch_app_free(app);
}

TEST(docs_mount_arguments)
{
    struct ch_app *app = ch_app_new();
    ASSERT_EQ(ch_app_docs(app, "api-docs", "A", "1"), CH_EINVAL);
    ASSERT_EQ(ch_app_docs(app, "/api-docs/", "A", "1"), CH_EINVAL);
    ASSERT_EQ(ch_app_docs(app, "/", "A", "1"), CH_EINVAL);
    ASSERT_EQ(ch_app_docs(app, "/docs/:x", "A", "1"), CH_EINVAL);
    ASSERT_EQ(ch_app_docs(app, NULL, "A", "1"), CH_EINVAL);
    ASSERT_EQ(ch_app_docs(app, "/api-docs", NULL, NULL), 0);
    ASSERT_EQ(ch_app_docs(app, "/more-docs", "A", "1"), CH_EINVAL); /* one mount per app */
    ch_app_free(app); /* frees the unmounted docs too (ASan checks) */
}

/* A route the app already has under the docs' prefix makes the start fail loudly. */
TEST(docs_route_clash_stops_the_start)
{
    struct ch_app *app = ch_app_new();
    ch_app_config(app)->workers = 1;
    ch_get(app, "/api-docs/openapi.json", item);
    ASSERT_EQ(ch_app_docs(app, "/api-docs", "A", "1"), 0);
    ASSERT(ch_test_start(app) == NULL);
    ch_app_free(app);
}
