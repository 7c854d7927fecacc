/* A guard for static API keys sent as bearer tokens (Authorization: Bearer <key>). */
#include <stdlib.h>
#include <string.h>

#include "chopin/log.h"
#include "chopin/middleware.h"
#include "chopin/respond.h"

/* The accepted keys: slices of one copy of the configured list. */
struct keys {
    size_t n;
    struct ch_str *key;
    char *text;
};

/* Should building the list fail, the guard refuses everyone: failing closed. */
static struct keys no_keys;

/* Compares without an early exit, so the time taken tells nothing about how much of `key` the
 * token matched; it depends only on the key's length. */
static unsigned key_differs(struct ch_str key, struct ch_str token)
{
    unsigned d = key.len != token.len;
    for (size_t i = 0; i < key.len; i++) {
        unsigned char t = i < token.len ? (unsigned char)token.ptr[i] : 0;
        d |= (unsigned char)key.ptr[i] ^ t;
    }
    return d;
}

/* The token of an "Authorization: Bearer <token>" header (the scheme is case-insensitive, RFC
 * 9110 11.1), or an empty slice for a missing header, another scheme or an empty token. */
static struct ch_str bearer_token(const struct ch_request *req)
{
    struct ch_str v = ch_header(req, "Authorization");
    struct ch_str scheme = CH_STR("Bearer");
    if (!v.ptr || v.len <= scheme.len || v.ptr[scheme.len] != ' ' ||
        !ch_str_case_eq(ch_str_make(v.ptr, scheme.len), scheme))
        return ch_str_make(NULL, 0);
    struct ch_str t = ch_str_trim_ows(ch_str_make(v.ptr + scheme.len, v.len - scheme.len));
    for (size_t i = 0; i < t.len; i++)
        if (t.ptr[i] == ' ' || t.ptr[i] == '\t') return ch_str_make(NULL, 0);
    return t;
}

static int refuse(struct ch_request *req, const char *challenge, const char *message)
{
    ch_res_header(req, CH_STR("WWW-Authenticate"), ch_str_cstr(challenge));
    return ch_error(req, CH_ERR_UNAUTHORIZED, "%s", message);
}

static int guard(struct ch_request *req, void *arg)
{
    const struct keys *k = arg;
    struct ch_str token = bearer_token(req);
    if (!token.len) return refuse(req, "Bearer", "Missing bearer token");
    unsigned differs = 1;
    /* Every key is compared, so which one matched does not show either. */
    for (size_t i = 0; i < k->n; i++) differs &= key_differs(k->key[i], token) != 0;
    if (differs) return refuse(req, "Bearer error=\"invalid_token\"", "Invalid API key");
    return 0;
}

static void release(void *arg)
{
    struct keys *k = arg;
    if (k == &no_keys) return;
    free(k->key);
    free(k->text);
    free(k);
}

static struct keys *parse(const char *list)
{
    struct keys *k = calloc(1, sizeof(*k));
    char *text = list ? strdup(list) : NULL;
    size_t n = 1;
    for (const char *p = text; p && *p; p++) n += *p == ',';
    struct ch_str *key = calloc(n, sizeof(*key));
    if (!k || !text || !key) {
        free(k);
        free(text);
        free(key);
        return NULL;
    }
    k->text = text;
    k->key = key;
    for (char *p = text, *end; p; p = end ? end + 1 : NULL) {
        end = strchr(p, ',');
        struct ch_str s = ch_str_trim_ows(ch_str_make(p, end ? (size_t)(end - p) : strlen(p)));
        if (s.len) k->key[k->n++] = s;
    }
    return k;
}

static struct ch_middleware make(const char *list, const char *source)
{
    struct keys *k = parse(list);
    if (!k || k->n == 0) {
        ch_log(CH_LOG_WARN, "api key guard: no key in %s: every request it guards gets 401",
               source);
        if (k) release(k);
        k = &no_keys;
    }
    return (struct ch_middleware){
        .name = "api_key", .before = guard, .arg = k, .cleanup = release, .security = "bearer"};
}

struct ch_middleware ch_mw_api_key(const char *keys)
{
    return make(keys, "the list given");
}

struct ch_middleware ch_mw_api_key_env(const char *var)
{
    const char *v = var ? getenv(var) : NULL;
    return make(v, var ? var : "(null)");
}
