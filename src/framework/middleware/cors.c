/* CORS: permissive by default, or a list of allowed origins; preflights answered here. */
#include <stdlib.h>
#include <string.h>

#include "chopin/middleware.h"
#include "chopin/respond.h"
#include "framework/app.h"

/* The middleware's argument is its list of allowed origins, as given (comma-separated, spaces
 * around entries allowed): a copy made at registration, or NULL to follow CORS_ORIGINS.
 * Should the copy fail, the list is deny_all, which names no origin: failing closed. */
static const char deny_all[] = ",";

/* The list in force: the registered one, or the app's CORS_ORIGINS. */
static const char *origins_of(void *arg, const struct ch_request *req)
{
    return arg ? arg : ch__app_of(req)->cfg.cors_origins;
}

static int any_origin(const char *list)
{
    return !list[0] || !strcmp(list, "*");
}

/* Whether the list entry [s, e), spaces around it ignored, is `origin`. */
static int entry_is(const char *s, const char *e, struct ch_str origin)
{
    while (s < e && *s == ' ') s++;
    while (e > s && e[-1] == ' ') e--;
    return ch_str_eq(ch_str_make(s, (size_t)(e - s)), origin);
}

/* Whether `list` names `origin`, comparing entry by entry in place (no copy per request). */
static int origin_allowed(const char *list, struct ch_str origin)
{
    if (any_origin(list)) return 1;
    if (origin.len == 0) return 0;
    for (const char *p = list;; p++) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (entry_is(p, end, origin)) return 1;
        if (!*end) return 0;
        p = end;
    }
}

static void allow_origin(struct ch_request *req, const char *list, struct ch_str origin)
{
    if (any_origin(list)) {
        ch_res_header(req, CH_STR("Access-Control-Allow-Origin"), CH_STR("*"));
    } else {
        ch_res_header(req, CH_STR("Access-Control-Allow-Origin"), origin);
        ch_res_header(req, CH_STR("Vary"), CH_STR("Origin"));
    }
}

static int before(struct ch_request *req, void *arg)
{
    const char *list = origins_of(arg, req);
    struct ch_str origin = ch_header(req, "Origin");
    struct ch_str want = ch_header(req, "Access-Control-Request-Method");
    if (req->method != CH_OPTIONS || !origin.ptr || !want.ptr) return 0;
    /* A preflight: answered here, whatever the route. */
    if (origin_allowed(list, origin)) {
        allow_origin(req, list, origin);
        ch_res_header(req, CH_STR("Access-Control-Allow-Methods"),
                      CH_STR("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
        struct ch_str hdrs = ch_header(req, "Access-Control-Request-Headers");
        ch_res_header(req, CH_STR("Access-Control-Allow-Headers"),
                      hdrs.ptr ? hdrs : CH_STR("Content-Type, Authorization, X-Request-Id"));
        ch_res_header(req, CH_STR("Access-Control-Max-Age"), CH_STR("86400"));
    }
    ch_respond_text(req, 204, "", CH_STR(""));
    return 0;
}

static void after(struct ch_request *req, void *arg)
{
    struct ch_str origin = ch_header(req, "Origin");
    if (!origin.ptr || ch_res_find_header(req, "Access-Control-Allow-Origin")) return;
    const char *list = origins_of(arg, req);
    if (!origin_allowed(list, origin)) return;
    allow_origin(req, list, origin);
    ch_res_header(req, CH_STR("Access-Control-Expose-Headers"), CH_STR("x-request-id"));
}

static void cors_free(void *arg)
{
    if (arg != deny_all) free(arg);
}

struct ch_middleware ch_mw_cors(const char *origins)
{
    const char *list = NULL;
    if (origins) {
        /* Copied once per registration and kept for the life of the app. */
        list = strdup(origins);
        if (!list) list = deny_all;
    }
    return (struct ch_middleware){.name = "cors", .before = before, .after = after,
                                  .arg = (void *)list, .cleanup = cors_free};
}
