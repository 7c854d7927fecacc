/* A program linked against a docs UI assembled from empty files, as a library built without
 * npm is (mk/testkit.mk): the page says plainly that the UI was not built, and the OpenAPI
 * document is still served. */
#include <string.h>

#include <chopin/chopin.h>

#include "test.h"

static int item(struct ch_request *req)
{
    return ch_respond_text(req, 200, "text/plain", CH_STR("item"));
}

TEST(page_says_ui_not_built)
{
    ASSERT_EQ(ch_docs_ui_available(), 0);
    struct ch_app *app = ch_app_new();
    ch_app_config(app)->workers = 1;
    ch_get(app, "/items", item);
    ASSERT_EQ(ch_app_docs(app, "/api-docs", "Shop", "1.0.0"), 0);
    struct ch_test *t = ch_test_start(app);
    ASSERT(t != NULL);
    struct ch_test_response res;
    ASSERT_EQ(ch_test_request(t, "GET", "/api-docs", NULL, NULL, &res), 200);
    ASSERT(memmem(res.body.ptr, res.body.len, "UI bundle was not built", 23) != NULL);
    ASSERT(memmem(res.body.ptr, res.body.len, "href=\"/api-docs/openapi.json\"", 29) != NULL);
    ASSERT(memmem(res.body.ptr, res.body.len, "<script", 7) == NULL);
    ASSERT_EQ(ch_test_request(t, "GET", "/api-docs/openapi.json", NULL, NULL, &res), 200);
    ASSERT(ch_test_json_at(res.json, "paths./items.get") != NULL);
    ASSERT_EQ(ch_test_request(t, "GET", "/api-docs/ui/swagger-ui-bundle.js", NULL, NULL, &res),
              404);
    ASSERT_EQ(ch_test_stop(t), 0);
    ch_app_free(app);
}

int main(int argc, char **argv)
{
    struct ch_test_counts n = {0, 0, 0};
    ch_log_set_level(CH_LOG_WARN);
    ch_test_run(argc, argv, NULL, &n);
    printf("docs-fallback: %d passed, %d failed\n", n.passed, n.failed);
    return n.failed ? 1 : 0;
}
