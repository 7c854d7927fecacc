#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "../test.h"
#include "chopin/error.h"
#include "chopin/router.h"

#define D(n) ((void *)(uintptr_t)(n))

#define GET    CH_METHOD_BIT(CH_GET)
#define HEAD   CH_METHOD_BIT(CH_HEAD)
#define POST   CH_METHOD_BIT(CH_POST)
#define PUT    CH_METHOD_BIT(CH_PUT)
#define DELETE CH_METHOD_BIT(CH_DELETE)

/* Every path is matched from a copy that ends at a guard page, so reading past the path faults.
 * The copy stays mapped until the next call, as the match's slices point into it. */
static const char *guarded;
static size_t guarded_len;

static enum ch_route_status match(const struct ch_router *r, enum ch_method method,
                                  const char *path, struct ch_route_match *m)
{
    if (guarded) ch_test_guard_free(guarded, guarded_len);
    guarded_len = strlen(path);
    guarded = ch_test_guarded(path, guarded_len);
    return ch_router_match(r, method, ch_str_make(guarded, guarded_len), m);
}

/* Matches `path` for `method` and expects the route data `expect`. */
#define ASSERT_ROUTE(r, method, path, expect)                         \
    do {                                                              \
        struct ch_route_match m_;                                     \
        ASSERT_EQ(match((r), (method), (path), &m_), CH_ROUTE_FOUND); \
        ASSERT(m_.data == (expect));                                  \
    } while (0)

#define ASSERT_STATUS(r, method, path, status)                  \
    do {                                                        \
        struct ch_route_match m_;                               \
        ASSERT_EQ(match((r), (method), (path), &m_), (status)); \
    } while (0)

static void params_in_path(const struct ch_route_match *m)
{
    for (size_t i = 0; i < m->nparams; i++) {
        ASSERT(m->params[i].value.ptr >= guarded);
        ASSERT(m->params[i].value.ptr + m->params[i].value.len <= guarded + guarded_len);
    }
}

TEST(router_static)
{
    struct ch_router *r = ch_router_new();
    ASSERT(r != NULL);
    ASSERT_EQ(ch_router_add(r, GET, "/", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/users", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/users/new", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/user", D(4)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/usage", D(5)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/v1/things:batchGet", D(6)), 0);
    ASSERT_ROUTE(r, CH_GET, "/", D(1));
    ASSERT_ROUTE(r, CH_GET, "/users", D(2));
    ASSERT_ROUTE(r, CH_GET, "/users/new", D(3));
    ASSERT_ROUTE(r, CH_GET, "/user", D(4));
    ASSERT_ROUTE(r, CH_GET, "/usage", D(5));
    ASSERT_ROUTE(r, CH_GET, "/v1/things:batchGet", D(6));
    ASSERT_STATUS(r, CH_GET, "/us", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "/users/ne", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "/users/newer", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "*", CH_ROUTE_NOT_FOUND);
    /* Paths are raw: an encoded letter is not the letter. */
    ASSERT_STATUS(r, CH_GET, "/%75sers", CH_ROUTE_NOT_FOUND);
    ch_router_free(r);
}

TEST(router_params)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/users/:id", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/users/:id/posts/:post", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/:lang/about", D(3)), 0);
    struct ch_route_match m;
    ASSERT_EQ(match(r, CH_GET, "/users/42", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(1));
    ASSERT_CSTR_EQ(m.pattern, "/users/:id");
    ASSERT_EQ(m.nparams, 1);
    ASSERT_STR_EQ(m.params[0].name, "id");
    ASSERT_STR_EQ(m.params[0].value, "42");
    params_in_path(&m);

    ASSERT_EQ(match(r, CH_GET, "/users/a%2Fb/posts/x.y", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(2));
    ASSERT_EQ(m.nparams, 2);
    ASSERT_STR_EQ(m.params[0].name, "id");
    ASSERT_STR_EQ(m.params[0].value, "a%2Fb"); /* raw: decoding is the caller's job */
    ASSERT_STR_EQ(m.params[1].name, "post");
    ASSERT_STR_EQ(m.params[1].value, "x.y");
    ASSERT_STR_EQ(ch_route_param(&m, CH_STR("post")), "x.y");
    ASSERT(ch_route_param(&m, CH_STR("nope")).ptr == NULL);
    params_in_path(&m);

    ASSERT_EQ(match(r, CH_GET, "/fr/about", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(3));
    ASSERT_STR_EQ(m.params[0].value, "fr");

    /* A parameter takes exactly one non-empty segment. */
    ASSERT_STATUS(r, CH_GET, "/users/", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "/users//posts/1", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "/users/1/2", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "//about", CH_ROUTE_NOT_FOUND);
    ch_router_free(r);
}

TEST(router_wildcard)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/files/*path", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/*all", D(2)), 0);
    struct ch_route_match m;
    ASSERT_EQ(match(r, CH_GET, "/files/a/b/c.txt", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(1));
    ASSERT_EQ(m.nparams, 1);
    ASSERT_STR_EQ(m.params[0].name, "path");
    ASSERT_STR_EQ(m.params[0].value, "a/b/c.txt");
    params_in_path(&m);
    /* The wildcard may be empty, but the slash before it is part of the static text. */
    ASSERT_EQ(match(r, CH_GET, "/files/", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(1));
    ASSERT_STR_EQ(m.params[0].value, "");
    ASSERT_EQ(match(r, CH_GET, "/files", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(2));
    ASSERT_STR_EQ(m.params[0].value, "files");
    ASSERT_EQ(match(r, CH_GET, "/files//x/", &m), CH_ROUTE_FOUND);
    ASSERT_STR_EQ(m.params[0].value, "/x/");
    ASSERT_EQ(match(r, CH_GET, "/", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(2));
    ASSERT_STR_EQ(m.params[0].value, "");
    ch_router_free(r);
}

TEST(router_precedence)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/files/*path", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/files/:name", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/files/new", D(1)), 0);
    ASSERT_ROUTE(r, CH_GET, "/files/new", D(1));
    ASSERT_ROUTE(r, CH_GET, "/files/newer", D(2));
    ASSERT_ROUTE(r, CH_GET, "/files/ne", D(2));
    ASSERT_ROUTE(r, CH_GET, "/files/n", D(2));
    ASSERT_ROUTE(r, CH_GET, "/files/new/", D(3));
    ASSERT_ROUTE(r, CH_GET, "/files/x/y", D(3));
    ASSERT_ROUTE(r, CH_GET, "/files/", D(3));
    ch_router_free(r);
}

TEST(router_backtracking)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/a/b/c", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/a/:x/d", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/a/b/c/d", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/a/:x/c/e", D(4)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/a/*rest", D(5)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/:p/:q/:s/:t", D(6)), 0);
    struct ch_route_match m;
    ASSERT_ROUTE(r, CH_GET, "/a/b/c", D(1));
    ASSERT_EQ(match(r, CH_GET, "/a/b/d", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(2));
    ASSERT_EQ(m.nparams, 1);
    ASSERT_STR_EQ(m.params[0].value, "b");
    ASSERT_ROUTE(r, CH_GET, "/a/b/c/d", D(3));
    ASSERT_EQ(match(r, CH_GET, "/a/b/c/e", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(4));
    ASSERT_STR_EQ(m.params[0].value, "b");
    /* Both deeper branches fail: the wildcard catches it, and no stale parameter survives. */
    ASSERT_EQ(match(r, CH_GET, "/a/b/c/f", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(5));
    ASSERT_EQ(m.nparams, 1);
    ASSERT_STR_EQ(m.params[0].name, "rest");
    ASSERT_STR_EQ(m.params[0].value, "b/c/f");
    /* Everything under /a fails but the root parameter route takes it. */
    ASSERT_ROUTE(r, CH_GET, "/b/b/c/f", D(6));
    ASSERT_EQ(match(r, CH_GET, "/x/y/z/w", &m), CH_ROUTE_FOUND);
    ASSERT_EQ(m.nparams, 4);
    ASSERT_STR_EQ(m.params[0].value, "x");
    ASSERT_STR_EQ(m.params[3].name, "t");
    ASSERT_STR_EQ(m.params[3].value, "w");
    params_in_path(&m);
    ASSERT_STATUS(r, CH_GET, "/x/y/z", CH_ROUTE_NOT_FOUND);
    ch_router_free(r);
}

TEST(router_splits_keep_routes)
{
    /* Insertion order that forces every kind of split of existing labels. */
    static const char *const paths[] = {
        "/abcdef", "/abc", "/abcxyz", "/ab", "/a", "/abcdeg", "/b", "/abcd/:x", "/abcd/", "/abq",
    };
    size_t n = sizeof(paths) / sizeof(paths[0]);
    struct ch_router *r = ch_router_new();
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(ch_router_add(r, GET, paths[i], D(i + 1)), 0);
        for (size_t j = 0; j <= i; j++)
            if (!strchr(paths[j], ':')) ASSERT_ROUTE(r, CH_GET, paths[j], D(j + 1));
    }
    ASSERT_ROUTE(r, CH_GET, "/abcd/1", D(8));
    ASSERT_STATUS(r, CH_GET, "/abcde", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "/abcd", CH_ROUTE_NOT_FOUND);
    ch_router_free(r);
}

TEST(router_405_and_allowed)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/items", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, POST, "/items", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, PUT | DELETE, "/items/:id", D(3)), 0);
    struct ch_route_match m;
    ASSERT_ROUTE(r, CH_POST, "/items", D(2));
    ASSERT_EQ(match(r, CH_DELETE, "/items", &m), CH_ROUTE_METHOD_NOT_ALLOWED);
    ASSERT_EQ(m.allowed, GET | HEAD | POST);
    char allow[CH_ROUTER_ALLOW_MAX];
    ASSERT_MEM_EQ(allow, ch_router_format_allow(m.allowed, allow), "GET, HEAD, POST");
    ASSERT_CSTR_EQ(allow, "GET, HEAD, POST");

    ASSERT_EQ(match(r, CH_GET, "/items/7", &m), CH_ROUTE_METHOD_NOT_ALLOWED);
    ASSERT_EQ(m.allowed, PUT | DELETE);
    ASSERT_EQ(match(r, CH_DELETE, "/items/7", &m), CH_ROUTE_FOUND);
    ASSERT_EQ(m.allowed, PUT | DELETE);
    ASSERT_EQ(match(r, CH_GET, "/other", &m), CH_ROUTE_NOT_FOUND);
    ASSERT_EQ(m.allowed, 0);
    ASSERT_EQ(m.nparams, 0);

    /* An out-of-range method matches no route but still learns the allowed set. */
    ASSERT_EQ(match(r, (enum ch_method)CH_METHOD_COUNT, "/items", &m), CH_ROUTE_METHOD_NOT_ALLOWED);

    ASSERT_MEM_EQ(allow, ch_router_format_allow(0, allow), "");
    ASSERT_MEM_EQ(allow, ch_router_format_allow(CH_ANY, allow),
                  "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE");
    ASSERT(strlen(allow) < CH_ROUTER_ALLOW_MAX);
    ch_router_free(r);
}

TEST(router_method_backtracks_to_lower_precedence)
{
    /* The static route wins the path but lacks the method: the parameter route serves it, and a
     * 405 reports the union of what every matching route allows. */
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/a/b", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, POST, "/a/:x", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, DELETE, "/a/*rest", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/f/", D(4)), 0);
    ASSERT_EQ(ch_router_add(r, POST, "/f/*rest", D(5)), 0);
    struct ch_route_match m;
    ASSERT_ROUTE(r, CH_GET, "/a/b", D(1));
    ASSERT_ROUTE(r, CH_POST, "/a/b", D(2));
    ASSERT_EQ(match(r, CH_DELETE, "/a/b", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(3));
    ASSERT_EQ(m.nparams, 1);
    ASSERT_STR_EQ(m.params[0].name, "rest");
    ASSERT_EQ(match(r, CH_PUT, "/a/b", &m), CH_ROUTE_METHOD_NOT_ALLOWED);
    ASSERT_EQ(m.allowed, GET | HEAD | POST | DELETE);
    ASSERT_EQ(match(r, CH_PUT, "/a/c", &m), CH_ROUTE_METHOD_NOT_ALLOWED);
    ASSERT_EQ(m.allowed, POST | DELETE);
    /* At the end of the path only an (empty) wildcard can still follow. */
    ASSERT_EQ(match(r, CH_POST, "/f/", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(5));
    ASSERT_STR_EQ(m.params[0].value, "");
    ch_router_free(r);
}

TEST(router_head_via_get)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/x", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/y", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, HEAD, "/y", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, POST, "/z", D(4)), 0);
    ASSERT_EQ(ch_router_add(r, CH_ANY, "/any", D(5)), 0);
    struct ch_route_match m;
    ASSERT_ROUTE(r, CH_HEAD, "/x", D(1));
    ASSERT_ROUTE(r, CH_HEAD, "/y", D(3));
    ASSERT_ROUTE(r, CH_GET, "/y", D(2));
    ASSERT_EQ(match(r, CH_HEAD, "/z", &m), CH_ROUTE_METHOD_NOT_ALLOWED);
    ASSERT_EQ(m.allowed, POST);
    ASSERT_EQ(match(r, CH_POST, "/x", &m), CH_ROUTE_METHOD_NOT_ALLOWED);
    ASSERT_EQ(m.allowed, GET | HEAD);
    for (int meth = 0; meth < CH_METHOD_COUNT; meth++)
        ASSERT_ROUTE(r, (enum ch_method)meth, "/any", D(5));
    ch_router_free(r);
}

TEST(router_trailing_slash_is_strict)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/users", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/posts/", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/users/:id", D(3)), 0);
    ASSERT_ROUTE(r, CH_GET, "/users", D(1));
    ASSERT_STATUS(r, CH_GET, "/users/", CH_ROUTE_NOT_FOUND);
    ASSERT_ROUTE(r, CH_GET, "/posts/", D(2));
    ASSERT_STATUS(r, CH_GET, "/posts", CH_ROUTE_NOT_FOUND);
    ASSERT_STATUS(r, CH_GET, "/users/1/", CH_ROUTE_NOT_FOUND);
    /* Both forms may be registered, as two routes. */
    ASSERT_EQ(ch_router_add(r, GET, "/users/", D(4)), 0);
    ASSERT_ROUTE(r, CH_GET, "/users/", D(4));
    ASSERT_ROUTE(r, CH_GET, "/users", D(1));
    ch_router_free(r);
}

TEST(router_duplicates)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/a/:id", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/a/:id", D(2)), CH_EBUSY);
    ASSERT_EQ(ch_router_add(r, CH_ANY, "/a/:id", D(2)), CH_EBUSY);
    ASSERT_EQ(ch_router_add(r, POST | GET, "/a/:id", D(2)), CH_EBUSY);
    ASSERT_EQ(ch_router_add(r, POST, "/a/:id", D(2)), 0);
    /* HEAD via GET is a fallback, not a registration: an explicit HEAD route is allowed. */
    ASSERT_EQ(ch_router_add(r, HEAD, "/a/:id", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/f/*p", D(4)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/f/*p", D(4)), CH_EBUSY);
    ASSERT_EQ(ch_router_route_count(r), 4);
    ASSERT_ROUTE(r, CH_GET, "/a/1", D(1));
    ASSERT_ROUTE(r, CH_POST, "/a/1", D(2));
    ASSERT_ROUTE(r, CH_HEAD, "/a/1", D(3));
    ch_router_free(r);
}

TEST(router_malformed_patterns)
{
    struct ch_router *r = ch_router_new();
    static const char *const bad[] = {
        "",       "users",      "/a/*p/b", "/a/*p/",    "/a/:",     "/a/*",
        "/a/:/b", "/a/:id/:id", "/:a/*a",  "/:a-b",     "/:a.json", "/a b",
        "/a?x=1", "/a#frag",    "/a\t",    "/:id:name", "/*p*q",    "/\x7f",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ch_router_add(r, GET, bad[i], D(1)) != CH_EINVAL)
            ch_test_fail(__FILE__, __LINE__, "pattern \"%s\" accepted", bad[i]);
    ASSERT_EQ(ch_router_add(r, GET, NULL, D(1)), CH_EINVAL);
    ASSERT_EQ(ch_router_add(r, 0, "/a", D(1)), CH_EINVAL);
    ASSERT_EQ(ch_router_add(r, CH_ANY + 1, "/a", D(1)), CH_EINVAL);

    /* 16 parameters are fine, 17 are too many. */
    char p[256] = "";
    for (int i = 0; i < 16; i++) snprintf(p + strlen(p), sizeof(p) - strlen(p), "/:p%d", i);
    ASSERT_EQ(ch_router_add(r, GET, p, D(1)), 0);
    strcat(p, "/*rest");
    ASSERT_EQ(ch_router_add(r, GET, p, D(1)), CH_ERANGE);

    char *big = malloc(CH_ROUTER_MAX_PATTERN + 2);
    memset(big, 'a', CH_ROUTER_MAX_PATTERN + 1);
    big[0] = '/';
    big[CH_ROUTER_MAX_PATTERN + 1] = '\0';
    ASSERT_EQ(ch_router_add(r, GET, big, D(1)), CH_ERANGE);
    big[CH_ROUTER_MAX_PATTERN] = '\0';
    ASSERT_EQ(ch_router_add(r, GET, big, D(2)), 0);
    ASSERT_ROUTE(r, CH_GET, big, D(2));
    free(big);

    /* Non-ASCII bytes may be routed literally. */
    ASSERT_EQ(ch_router_add(r, GET, "/caf\xc3\xa9", D(3)), 0);
    ASSERT_ROUTE(r, CH_GET, "/caf\xc3\xa9", D(3));
    ASSERT_EQ(ch_router_route_count(r), 3);
    ch_router_free(r);
}

TEST(router_param_name_conflicts)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_add(r, GET, "/users/:id", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/users/:name/posts", D(2)), CH_EINVAL);
    ASSERT_EQ(ch_router_add(r, POST, "/users/:uid", D(2)), CH_EINVAL);
    ASSERT_EQ(ch_router_add(r, GET, "/users/:id/posts", D(2)), 0);
    /* A wildcard is a separate branch from the parameter, with its own name. */
    ASSERT_EQ(ch_router_add(r, GET, "/users/*rest", D(3)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/users/*other", D(3)), CH_EINVAL);
    /* Different preceding text is a different position. */
    ASSERT_EQ(ch_router_add(r, GET, "/user/:name", D(4)), 0);
    /* Failed additions changed nothing. */
    ASSERT_EQ(ch_router_route_count(r), 4);
    struct ch_route_match m;
    ASSERT_EQ(match(r, CH_GET, "/users/9/posts", &m), CH_ROUTE_FOUND);
    ASSERT(m.data == D(2));
    ASSERT_STR_EQ(m.params[0].name, "id");
    ASSERT_EQ(match(r, CH_GET, "/user/bob", &m), CH_ROUTE_FOUND);
    ASSERT_STR_EQ(m.params[0].name, "name");
    ch_router_free(r);
}

TEST(router_route_list)
{
    struct ch_router *r = ch_router_new();
    ASSERT_EQ(ch_router_route_count(r), 0);
    ASSERT(ch_router_route(r, 0) == NULL);
    ASSERT_EQ(ch_router_add(r, GET | POST, "/orgs/:org/repos/:repo", D(1)), 0);
    ASSERT_EQ(ch_router_add(r, GET, "/static/*path", D(2)), 0);
    ASSERT_EQ(ch_router_add(r, DELETE, "/orgs/:org/repos/:repo", D(3)), 0);
    ASSERT_EQ(ch_router_route_count(r), 3);
    const struct ch_route_info *ri = ch_router_route(r, 0);
    ASSERT_CSTR_EQ(ri->pattern, "/orgs/:org/repos/:repo");
    ASSERT_EQ(ri->methods, GET | POST);
    ASSERT(ri->data == D(1));
    ASSERT_EQ(ri->nparams, 2);
    ASSERT_STR_EQ(ri->param_names[0], "org");
    ASSERT_STR_EQ(ri->param_names[1], "repo");
    ASSERT_EQ(ri->wildcard, 0);
    ri = ch_router_route(r, 1);
    ASSERT_CSTR_EQ(ri->pattern, "/static/*path");
    ASSERT_EQ(ri->nparams, 1);
    ASSERT_STR_EQ(ri->param_names[0], "path");
    ASSERT(ri->wildcard);
    ri = ch_router_route(r, 2);
    ASSERT_EQ(ri->methods, DELETE);
    ASSERT(ri->data == D(3));
    ASSERT(ch_router_route(r, 3) == NULL);
    ch_router_free(r);
    ch_router_free(NULL);
}

TEST(router_many_routes)
{
    struct ch_router *r = ch_router_new();
    char p[128];
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof(p), "/api/v1/res%d", i);
        ASSERT_EQ(ch_router_add(r, GET | POST, p, D(4 * i + 1)), 0);
        snprintf(p, sizeof(p), "/api/v1/res%d/:id", i);
        ASSERT_EQ(ch_router_add(r, GET | PUT | DELETE, p, D(4 * i + 2)), 0);
        snprintf(p, sizeof(p), "/api/v1/res%d/:id/items/:item", i);
        ASSERT_EQ(ch_router_add(r, GET, p, D(4 * i + 3)), 0);
        snprintf(p, sizeof(p), "/static%d/*path", i);
        ASSERT_EQ(ch_router_add(r, GET, p, D(4 * i + 4)), 0);
    }
    ASSERT_EQ(ch_router_route_count(r), 4000);
    struct ch_route_match m;
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof(p), "/api/v1/res%d", i);
        ASSERT_ROUTE(r, CH_POST, p, D(4 * i + 1));
        snprintf(p, sizeof(p), "/api/v1/res%d/%d", i, i * 7);
        ASSERT_ROUTE(r, CH_DELETE, p, D(4 * i + 2));
        snprintf(p, sizeof(p), "/api/v1/res%d/x/items/y%d", i, i);
        ASSERT_EQ(match(r, CH_GET, p, &m), CH_ROUTE_FOUND);
        ASSERT(m.data == D(4 * i + 3));
        ASSERT_EQ(m.nparams, 2);
        ASSERT_STR_EQ(m.params[0].value, "x");
        char want[16];
        snprintf(want, sizeof(want), "y%d", i);
        ASSERT_STR_EQ(m.params[1].value, want);
        snprintf(p, sizeof(p), "/static%d/a/b", i);
        ASSERT_ROUTE(r, CH_HEAD, p, D(4 * i + 4));
        snprintf(p, sizeof(p), "/api/v1/res%d/x/items", i);
        ASSERT_STATUS(r, CH_GET, p, CH_ROUTE_NOT_FOUND);
        snprintf(p, sizeof(p), "/api/v1/res%d/x/items/y", i);
        ASSERT_STATUS(r, CH_POST, p, CH_ROUTE_METHOD_NOT_ALLOWED);
    }
    ASSERT_STATUS(r, CH_GET, "/api/v1/res1000", CH_ROUTE_NOT_FOUND);
    ch_router_free(r);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

TEST(router_pathological_paths)
{
    /* At every depth a static branch and a parameter branch both continue, the shape that makes
     * naive backtracking exponential. */
    struct ch_router *r = ch_router_new();
    char p[512] = "";
    for (int d = 0; d < 16; d++) {
        size_t l = strlen(p);
        snprintf(p + l, sizeof(p) - l, "/a");
        char q[600];
        snprintf(q, sizeof(q), "%s/end", p);
        ASSERT_EQ(ch_router_add(r, GET, q, D(1)), 0);
    }
    char params[512] = "";
    for (int d = 0; d < 16; d++) {
        size_t l = strlen(params);
        snprintf(params + l, sizeof(params) - l, "/:p%d", d);
        char q[600];
        snprintf(q, sizeof(q), "%s/z", params);
        ASSERT_EQ(ch_router_add(r, GET, q, D(2)), 0);
    }
    ASSERT_EQ(ch_router_add(r, GET, "/a/*rest", D(3)), 0);

    /* 8 KiB: 4096 one-letter segments. */
    enum { N = 8192 };
    char *path = malloc(N + 1);
    for (int i = 0; i < N; i += 2) path[i] = '/', path[i + 1] = 'a';
    path[N] = '\0';
    double t0 = now_ms();
    for (int i = 0; i < 100; i++) ASSERT_ROUTE(r, CH_GET, path, D(3));
    /* Not under "/a/": 16 levels of parameters are tried and fail. */
    path[1] = 'b';
    for (int i = 0; i < 100; i++) ASSERT_STATUS(r, CH_GET, path, CH_ROUTE_NOT_FOUND);
    /* One long segment, and a path of slashes only. */
    memset(path, 'a', N);
    path[0] = '/';
    ASSERT_STATUS(r, CH_GET, path, CH_ROUTE_NOT_FOUND);
    memset(path, '/', N);
    ASSERT_STATUS(r, CH_GET, path, CH_ROUTE_NOT_FOUND);
    /* The deepest mixes still resolve correctly. */
    ASSERT_ROUTE(r, CH_GET, "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/end", D(1));
    ASSERT_ROUTE(r, CH_GET, "/b/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/z", D(2));
    ASSERT_ROUTE(r, CH_GET, "/b/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b/z", D(2));
    ASSERT_STATUS(r, CH_GET, "/b/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/z", CH_ROUTE_NOT_FOUND);
    /* Under "/a/" the static segment beat the root parameter, so the wildcard wins there. */
    ASSERT_ROUTE(r, CH_GET, "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/z", D(3));
    ASSERT_ROUTE(r, CH_GET, "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", D(3));
    /* Generous bound (sanitizers, loaded machines); exponential search would take hours. */
    ASSERT(now_ms() - t0 < 2000);
    free(path);
    ch_router_free(r);
}

struct thread_arg {
    const struct ch_router *r;
    int ok;
};

static void *match_many(void *p)
{
    struct thread_arg *a = p;
    char path[64];
    struct ch_route_match m;
    a->ok = 1;
    for (int i = 0; i < 20000; i++) {
        int k = i % 50;
        size_t n = (size_t)snprintf(path, sizeof(path), "/r%d/%d", k, i);
        if (ch_router_match(a->r, CH_GET, ch_str_make(path, n), &m) != CH_ROUTE_FOUND ||
            m.data != D(k + 1) || m.nparams != 1 ||
            m.params[0].value.ptr != path + n - m.params[0].value.len)
            a->ok = 0;
    }
    return NULL;
}

TEST(router_concurrent_matching)
{
    struct ch_router *r = ch_router_new();
    char p[32];
    for (int k = 0; k < 50; k++) {
        snprintf(p, sizeof(p), "/r%d/:id", k);
        ASSERT_EQ(ch_router_add(r, GET, p, D(k + 1)), 0);
    }
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){r, 0};
        ASSERT_EQ(pthread_create(&th[i], NULL, match_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) ASSERT(args[i].ok);
    ch_router_free(r);
}
