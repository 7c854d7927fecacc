/* Guards: middleware that admits a request on a valid bearer token (RFC 6750), and on a role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/internal.h"
#include "chopin/error.h"
#include "chopin/respond.h"

struct role_guard {
    struct ch_auth *auth;
    char role[];
};

const struct ch_auth_claims *ch_auth(const struct ch_request *req)
{
    return req->_auth;
}

static int unauthorized(struct ch_request *req, const char *challenge, const char *message)
{
    ch_res_header(req, CH_STR("WWW-Authenticate"), ch_str_cstr(challenge));
    ch_error(req, CH_ERR_UNAUTHORIZED, "%s", message);
    return 0;
}

static int bad_request(struct ch_request *req, const char *message)
{
    ch_res_header(req, CH_STR("WWW-Authenticate"), CH_STR("Bearer error=\"invalid_request\""));
    ch_error(req, CH_ERR_BAD_REQUEST, "%s", message);
    return 0;
}

/* Token characters (RFC 7235 token68, without the trailing '=' a JWT never has). */
static int token68_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

/* Sets req->_auth from the Authorization header, or answers. Returns 0 either way (the chain
 * stops when the request was answered), or a CH_E* code for the recovery path. */
static int authenticate(struct ch_auth *a, struct ch_request *req, int optional)
{
    if (req->_auth) return 0; /* an earlier guard of this route verified it */
    const struct ch_header *found = NULL;
    int count = 0;
    for (size_t i = 0; i < req->num_headers; i++)
        if (ch_str_case_eq(req->headers[i].name, CH_STR("Authorization"))) {
            found = &req->headers[i];
            count++;
        }
    if (count > 1) return bad_request(req, "more than one Authorization header");
    struct ch_str v = found ? ch_str_trim_ows(found->value) : (struct ch_str){NULL, 0};
    size_t sp = 0;
    while (sp < v.len && v.ptr[sp] != ' ') sp++;
    if (!found || !ch_str_case_eq(ch_str_make(v.ptr, sp), CH_STR("Bearer"))) {
        /* No bearer credentials (none at all, or another scheme). */
        if (optional) return 0;
        return unauthorized(req, "Bearer", "authentication required");
    }
    size_t start = sp;
    while (start < v.len && v.ptr[start] == ' ') start++;
    struct ch_str token = ch_str_make(v.ptr + start, v.len - start);
    if (token.len == 0) return bad_request(req, "empty bearer token");
    for (size_t i = 0; i < token.len; i++)
        if (!token68_char((unsigned char)token.ptr[i]))
            return bad_request(req, "malformed bearer token");

    struct ch_auth_claims *c = ch_arena_alloc(&req->arena, sizeof(*c));
    if (!c) return CH_ENOMEM;
    int rc = ch_auth_token_verify(a, token, (int64_t)time(NULL), &req->arena, c);
    if (rc == CH_ENOMEM) return rc;
    if (rc != 0) {
        const char *why = ch_auth_strerror(rc);
        char challenge[160];
        snprintf(challenge, sizeof(challenge),
                 "Bearer error=\"invalid_token\", error_description=\"%s\"", why);
        return unauthorized(req, challenge, why);
    }
    req->_auth = c;
    return 0;
}

static int required_before(struct ch_request *req, void *arg)
{
    return authenticate(arg, req, 0);
}

static int optional_before(struct ch_request *req, void *arg)
{
    return authenticate(arg, req, 1);
}

static int role_before(struct ch_request *req, void *arg)
{
    struct role_guard *g = arg;
    int rc = authenticate(g->auth, req, 0);
    if (rc != 0 || !req->_auth) return rc; /* answered (401/400), or failed */
    if (ch_auth_has_role(req->_auth, g->role)) return 0;
    ch_res_header(req, CH_STR("WWW-Authenticate"), CH_STR("Bearer error=\"insufficient_scope\""));
    ch_error(req, CH_ERR_FORBIDDEN, "the '%s' role is required", g->role);
    return 0;
}

/* A role guard whose argument could not be allocated refuses every request (500) rather than
 * letting any through. */
static int role_broken(struct ch_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return CH_ENOMEM;
}

struct ch_middleware ch_auth_required(struct ch_auth *auth)
{
    return (struct ch_middleware){.name = "auth", .security = "bearer", .before = required_before, .arg = auth};
}

struct ch_middleware ch_auth_optional(struct ch_auth *auth)
{
    return (struct ch_middleware){.name = "auth-optional",
                                  .security = "bearer",
                                  .before = optional_before,
                                  .arg = auth};
}

struct ch_middleware ch_auth_role(struct ch_auth *auth, const char *role)
{
    size_t n = strlen(role);
    struct role_guard *g = malloc(sizeof(*g) + n + 1);
    if (!g)
        return (struct ch_middleware){
            .name = "auth-role", .security = "bearer", .before = role_broken};
    g->auth = auth;
    memcpy(g->role, role, n + 1);
    return (struct ch_middleware){
        .name = "auth-role", .security = "bearer", .before = role_before, .arg = g, .cleanup = free};
}
