/* Security headers: nosniff, frame options, referrer policy, a CSP for JSON, HSTS behind TLS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chopin/middleware.h"
#include "chopin/respond.h"
#include "core/conn.h"
#include "framework/app.h"

enum { HSTS_DEFAULT_MAX_AGE = 31536000 }; /* one year */

struct security {
    struct ch_str frame_options, referrer_policy, json_csp; /* empty: not sent */
    struct ch_str hsts;                                      /* the HSTS value */
    char hsts_store[96];
    int hsts_mode;        /* 1: always, 0: over HTTPS (ours or BEHIND_TLS), -1: never */
    int production_only;  /* ch_app_use_defaults()'s instance */
    char store[];         /* the strings above */
};

static const char default_frame[] = "DENY";
static const char default_referrer[] = "no-referrer";
static const char default_csp[] = "default-src 'none'; frame-ancestors 'none'";

/* A header value must be visible ASCII and spaces: anything else (CR, LF...) would let an
 * option split the header, so such a value is replaced by the default. */
static int valid_value(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

static const char *pick(const char *given, const char *def)
{
    return given && valid_value(given) ? given : def;
}

/* Whether a Content-Type is JSON: application/json or any application/...+json. */
static int is_json(struct ch_str type)
{
    if (!type.ptr) return 0; /* no Content-Type (a 204): memchr must not see NULL */
    const char *semi = memchr(type.ptr, ';', type.len);
    size_t n = semi ? (size_t)(semi - type.ptr) : type.len;
    while (n && (type.ptr[n - 1] == ' ' || type.ptr[n - 1] == '\t')) n--;
    if (n < 12 || strncasecmp(type.ptr, "application/", 12) != 0) return 0;
    if (n == 16 && strncasecmp(type.ptr + 12, "json", 4) == 0) return 1;
    return n > 17 && strncasecmp(type.ptr + n - 5, "+json", 5) == 0;
}

enum { NOSNIFF, FRAME, REFERRER, CSP, HSTS, NHEADERS };

static const struct ch_str names[NHEADERS] = {
    {"X-Content-Type-Options", 22}, {"X-Frame-Options", 15},           {"Referrer-Policy", 15},
    {"Content-Security-Policy", 23}, {"Strict-Transport-Security", 25},
};

/* Adds the header without copying: name and value live as long as the app, which outlives
 * every response. 0 or CH_ENOMEM. */
static int push(struct ch_request *req, struct ch_str name, struct ch_str value)
{
    struct ch_response *res = &req->res;
    if (res->num_headers == res->_cap_headers) {
        size_t cap = res->_cap_headers ? res->_cap_headers * 2 : 8;
        struct ch_header *h = ch_arena_alloc(&req->arena, cap * sizeof(*h));
        if (!h) return CH_ENOMEM;
        if (res->num_headers) memcpy(h, res->headers, res->num_headers * sizeof(*h));
        res->headers = h;
        res->_cap_headers = cap;
    }
    res->headers[res->num_headers].name = name;
    res->headers[res->num_headers].value = value;
    res->num_headers++;
    return 0;
}

/* Whether the request came through a TLS session this server terminated itself. Connections
 * answered by TLS_HTTP=redirect also carry TLS state, but never reach the application. */
static int over_our_tls(const struct ch_request *req)
{
    const struct ch__conn *c = req->_conn;
    return c->tls != NULL;
}

static void after(struct ch_request *req, void *arg)
{
    const struct security *s = arg;
    const struct ch_config *cfg = &ch__app_of(req)->cfg;
    if (s->production_only && !cfg->production) return;
    struct ch_str values[NHEADERS] = {CH_STR("nosniff"), s->frame_options, s->referrer_policy,
                                      {NULL, 0}, {NULL, 0}};
    if (is_json(req->res.content_type)) values[CSP] = s->json_csp;
    /* HSTS only where the client reached us over HTTPS: RFC 6797 has browsers ignore it on
     * plain HTTP, so the plain listener beside HTTPS does not send it. */
    if (s->hsts_mode > 0 || (s->hsts_mode == 0 && (cfg->behind_tls || over_our_tls(req))))
        values[HSTS] = s->hsts;
    /* One pass over the response's headers: a value already set (by the handler or by a
     * middleware whose after() ran first) wins. */
    for (size_t i = 0; i < req->res.num_headers; i++) {
        struct ch_str n = req->res.headers[i].name;
        for (int k = 0; k < NHEADERS; k++)
            if (values[k].len && ch_str_case_eq(n, names[k])) values[k].len = 0;
    }
    for (int k = 0; k < NHEADERS; k++)
        if (values[k].len && push(req, names[k], values[k]) != 0) return;
}

static struct ch_middleware make(const struct ch_security_options *o, int production_only)
{
    const char *frame = pick(o ? o->frame_options : NULL, default_frame);
    const char *referrer = pick(o ? o->referrer_policy : NULL, default_referrer);
    const char *csp = pick(o ? o->json_csp : NULL, default_csp);
    size_t lf = strlen(frame), lr = strlen(referrer), lc = strlen(csp);
    struct security *s = calloc(1, sizeof(*s) + lf + lr + lc + 3);
    if (!s) return (struct ch_middleware){.name = "security_headers"};
    char *p = s->store;
    memcpy(p, frame, lf + 1);
    s->frame_options = ch_str_make(p, lf);
    p += lf + 1;
    memcpy(p, referrer, lr + 1);
    s->referrer_policy = ch_str_make(p, lr);
    p += lr + 1;
    memcpy(p, csp, lc + 1);
    s->json_csp = ch_str_make(p, lc);
    unsigned long age = o && o->hsts_max_age ? o->hsts_max_age : HSTS_DEFAULT_MAX_AGE;
    int n = snprintf(s->hsts_store, sizeof(s->hsts_store), "max-age=%lu%s", age,
                     o && o->hsts_include_subdomains ? "; includeSubDomains" : "");
    s->hsts = ch_str_make(s->hsts_store, n > 0 ? (size_t)n : 0);
    s->hsts_mode = o ? (o->hsts > 0 ? 1 : o->hsts < 0 ? -1 : 0) : 0;
    s->production_only = production_only;
    return (struct ch_middleware){
        .name = "security_headers", .after = after, .arg = s, .cleanup = free};
}

struct ch_middleware ch_mw_security_headers(const struct ch_security_options *opts)
{
    return make(opts, 0);
}

struct ch_middleware ch__mw_security_defaults(void)
{
    return make(NULL, 1);
}
