/* CORS: permissive by default, or a list of allowed origins; preflights answered here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/middleware.h"
#include "chopin/respond.h"
#include "http/app.h"

struct cors {
    int any;
    char *origins; /* ",a,b," so a lookup is one strstr of ",origin," */
};

static const struct cors *config_of(void *arg, struct ch_request *req)
{
    static const struct cors fallback = {1, NULL};
    /* A NULL list means "follow CORS_ORIGINS", which is only known once the app is configured;
     * it is read per request from the configuration then. */
    if (arg) return arg;
    (void)req;
    return &fallback;
}

static int origin_allowed(const struct cors *c, const struct ch_request *req, struct ch_str origin)
{
    const char *list = c->origins;
    char env_list[1100];
    if (!c->origins) {
        const char *cfg = ch__app_of(req)->cfg.cors_origins;
        if (!cfg[0] || !strcmp(cfg, "*")) return 1;
        snprintf(env_list, sizeof(env_list), ",%s,", cfg);
        list = env_list;
    } else if (c->any) {
        return 1;
    }
    for (const char *p = list; (p = strchr(p, ',')) != NULL; p++) {
        const char *end = strchr(p + 1, ',');
        if (!end) break;
        /* Entries may carry spaces around them: ", https://a.example ,". */
        const char *s = p + 1, *e = end;
        while (s < e && *s == ' ') s++;
        while (e > s && e[-1] == ' ') e--;
        if ((size_t)(e - s) == origin.len && memcmp(s, origin.ptr, origin.len) == 0) return 1;
    }
    return 0;
}

static int any_origin(const struct cors *c, const struct ch_request *req)
{
    if (c->origins) return c->any;
    const char *cfg = ch__app_of(req)->cfg.cors_origins;
    return !cfg[0] || !strcmp(cfg, "*");
}

static void allow_origin(struct ch_request *req, const struct cors *c, struct ch_str origin)
{
    if (any_origin(c, req)) {
        ch_res_header(req, CH_STR("Access-Control-Allow-Origin"), CH_STR("*"));
    } else {
        ch_res_header(req, CH_STR("Access-Control-Allow-Origin"), origin);
        ch_res_header(req, CH_STR("Vary"), CH_STR("Origin"));
    }
}

static int before(struct ch_request *req, void *arg)
{
    const struct cors *c = config_of(arg, req);
    struct ch_str origin = ch_header(req, "Origin");
    struct ch_str want = ch_header(req, "Access-Control-Request-Method");
    if (req->method != CH_OPTIONS || !origin.ptr || !want.ptr) return 0;
    /* A preflight: answered here, whatever the route. */
    if (origin_allowed(c, req, origin)) {
        allow_origin(req, c, origin);
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
    const struct cors *c = config_of(arg, req);
    struct ch_str origin = ch_header(req, "Origin");
    if (!origin.ptr || ch_res_find_header(req, "Access-Control-Allow-Origin")) return;
    if (!origin_allowed(c, req, origin)) return;
    allow_origin(req, c, origin);
    ch_res_header(req, CH_STR("Access-Control-Expose-Headers"), CH_STR("x-request-id"));
}

static void cors_free(void *arg)
{
    struct cors *c = arg;
    if (c) free(c->origins);
    free(c);
}

struct ch_middleware ch_mw_cors(const char *origins)
{
    struct cors *c = NULL;
    if (origins) {
        /* Allocated once per registration and kept for the life of the process. */
        c = calloc(1, sizeof(*c));
        if (c) {
            c->any = !origins[0] || !strcmp(origins, "*");
            size_t n = strlen(origins);
            c->origins = malloc(n + 3);
            if (c->origins) {
                c->origins[0] = ',';
                memcpy(c->origins + 1, origins, n);
                c->origins[n + 1] = ',';
                c->origins[n + 2] = '\0';
            } else {
                c->any = 1;
            }
        }
    }
    return (struct ch_middleware){
        .name = "cors", .before = before, .after = after, .arg = c, .cleanup = cors_free};
}
