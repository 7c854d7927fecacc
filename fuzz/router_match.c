/* libFuzzer driver for ch_router_match(): the first input byte picks the method (one value past
 * the last method included), the rest is the path. A fixed router, built once, mixes every
 * feature: static text that competes with parameters and wildcards at several depths, routes
 * that differ only by a trailing slash, literal ':' and '*' inside segments, HEAD via GET,
 * per-method routes on the same pattern and a 16-parameter route.
 *
 * Invariants checked on every input:
 *   - the result is FOUND, METHOD_NOT_ALLOWED or NOT_FOUND, and the same on a second call;
 *   - FOUND: the data names the route whose pattern is reported; its methods accept the request
 *     (HEAD through GET); the parameters are as many as the pattern has, named like it, lie
 *     inside the path in order, and substituting them into the pattern rebuilds the path exactly;
 *     a parameter value is a non-empty segment without '/';
 *   - METHOD_NOT_ALLOWED: a non-empty allowed set without the method (nor HEAD, via GET);
 *   - NOT_FOUND: an empty allowed set and no parameters;
 *   - and the answer is the one a naive oracle gives: test every pattern on its own, rank the
 *     matching ones by their segments' kinds (static before parameter before wildcard, first
 *     difference wins), take the first whose methods accept the request, else answer 405 with
 *     the union of the candidates' methods, else 404. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/router.h"

#define GET  CH_METHOD_BIT(CH_GET)
#define HEAD CH_METHOD_BIT(CH_HEAD)
#define POST CH_METHOD_BIT(CH_POST)
#define PUT  CH_METHOD_BIT(CH_PUT)
#define DEL  CH_METHOD_BIT(CH_DELETE)

static const struct {
    unsigned methods;
    const char *pattern;
} routes[] = {
    {GET, "/"},
    {GET | POST, "/users"},
    {GET, "/users/"},
    {GET, "/users/new"},
    {GET | PUT | DEL, "/users/:id"},
    {GET, "/users/:id/posts/:post"},
    {POST, "/users/:id/posts"},
    {GET, "/users/:id/files/*path"},
    {GET, "/a/b/c"},
    {GET, "/a/:x/d"},
    {GET, "/a/b/c/d"},
    {GET, "/a/:x/c/e"},
    {DEL, "/a/*rest"},
    {GET, "/:lang/about"},
    {HEAD, "/:lang/about"},
    {GET, "/static/*path"},
    {POST, "/static/upload"},
    {GET, "/v1/things:batchGet"},
    {GET, "/v1/lit*eral:x"},
    {GET, "/x/:a/:b/:c/:d/:e/:f/:g/:h/:i/:j/:k/:l/:m/:n/:o/:p"},
    {CH_ANY, "/any/:thing"},
    {GET, "/ab"},
    {GET, "/abc"},
    {GET, "/abd/:q"},
    {GET, "//double"},
};
enum { NROUTES = sizeof(routes) / sizeof(routes[0]) };

static struct ch_router *router;

static void build(void)
{
    router = ch_router_new();
    if (!router) abort();
    for (size_t i = 0; i < NROUTES; i++)
        if (ch_router_add(router, routes[i].methods, routes[i].pattern,
                          (void *)(uintptr_t)(i + 1)) != 0)
            abort();
}

static int accepts(unsigned mask, unsigned method)
{
    if (method >= CH_METHOD_COUNT) return 0;
    if (mask & CH_METHOD_BIT(method)) return 1;
    return method == CH_HEAD && (mask & GET);
}

/* Rebuilds the path from the pattern and the captured values; aborts on any mismatch. */
static void check_found(const struct ch_route_match *m, const char *path, size_t len,
                        unsigned method)
{
    uintptr_t idx = (uintptr_t)m->data;
    if (idx < 1 || idx > NROUTES) abort();
    const struct ch_route_info *ri = ch_router_route(router, idx - 1);
    if (!ri || !m->pattern || strcmp(m->pattern, ri->pattern) != 0) abort();
    if (!accepts(ri->methods, method)) abort();
    if (!accepts(m->allowed, method) || m->nparams != ri->nparams) abort();

    const char *pat = ri->pattern, *prev_end = path;
    size_t pi = 0, k = 0;
    for (size_t i = 0; pat[i];) {
        if ((pat[i] == ':' || pat[i] == '*') && i > 0 && pat[i - 1] == '/') {
            int wild = pat[i] == '*';
            size_t name = ++i;
            while (pat[i] && pat[i] != '/') i++;
            if (k >= m->nparams) abort();
            const struct ch_route_param *p = &m->params[k++];
            if (!ch_str_eq(p->name, ch_str_make(pat + name, i - name))) abort();
            if (!ch_str_eq(p->name, ri->param_names[k - 1])) abort();
            if (p->value.ptr != path + pi || p->value.ptr < prev_end) abort();
            if (p->value.len > len - pi) abort();
            if (!wild && (p->value.len == 0 || memchr(p->value.ptr, '/', p->value.len))) abort();
            if (wild && pi + p->value.len != len) abort();
            pi += p->value.len;
            prev_end = p->value.ptr + p->value.len;
        } else {
            if (pi >= len || path[pi] != pat[i]) abort();
            pi++;
            i++;
        }
    }
    if (pi != len || k != m->nparams) abort();
}

/* Whether `pat` matches the path on its own; if so, writes the kind of each pattern segment
 * ('0' static, '1' parameter, '2' wildcard, so that strcmp orders by precedence) to rank. */
static int naive_match(const char *pat, const char *path, size_t len, char *rank)
{
    size_t i = 0, j = 0, k = 0;
    while (pat[i]) {
        if (pat[i] == '/') {
            if (j >= len || path[j] != '/') return 0;
            i++, j++;
            rank[k++] = pat[i] == ':' ? '1' : pat[i] == '*' ? '2' : '0';
            if (pat[i] == ':') {
                while (pat[i] && pat[i] != '/') i++;
                size_t start = j;
                while (j < len && path[j] != '/') j++;
                if (j == start) return 0;
            } else if (pat[i] == '*') {
                while (pat[i]) i++;
                j = len;
            }
            continue;
        }
        if (j >= len || path[j] != pat[i]) return 0;
        i++, j++;
    }
    rank[k] = '\0';
    return j == len;
}

static unsigned effective(unsigned mask)
{
    return (mask & GET) ? (mask | HEAD) : mask;
}

/* The oracle's answer: 0, 405 or 404 as a status, and the expected data and allowed set. */
static enum ch_route_status oracle(const char *path, size_t len, unsigned method, uintptr_t *data,
                                   unsigned *allowed)
{
    char rank[NROUTES][CH_ROUTER_MAX_PATTERN];
    int match[NROUTES];
    *allowed = 0;
    *data = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        match[i] = naive_match(routes[i].pattern, path, len, rank[i]);
        if (match[i]) *allowed |= effective(routes[i].methods);
    }
    /* Patterns in precedence order; registrations of one pattern share a rank. */
    for (;;) {
        int best = -1;
        for (size_t i = 0; i < NROUTES; i++)
            if (match[i] && (best < 0 || strcmp(rank[i], rank[best]) < 0)) best = (int)i;
        if (best < 0) break;
        uintptr_t explicit_route = 0, via_get = 0;
        for (size_t i = 0; i < NROUTES; i++) {
            if (!match[i] || strcmp(routes[i].pattern, routes[best].pattern) != 0) continue;
            match[i] = 0;
            if (method < CH_METHOD_COUNT && (routes[i].methods & CH_METHOD_BIT(method)))
                explicit_route = i + 1;
            if (method == CH_HEAD && (routes[i].methods & GET)) via_get = i + 1;
        }
        if (explicit_route || via_get) {
            *data = explicit_route ? explicit_route : via_get;
            return CH_ROUTE_FOUND;
        }
    }
    return *allowed ? CH_ROUTE_METHOD_NOT_ALLOWED : CH_ROUTE_NOT_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!router) build();
    unsigned method = size ? data[0] % (CH_METHOD_COUNT + 1) : CH_GET;
    const char *path = size ? (const char *)data + 1 : (const char *)data;
    size_t len = size ? size - 1 : 0;

    struct ch_route_match m, again;
    enum ch_route_status st =
        ch_router_match(router, (enum ch_method)method, ch_str_make(path, len), &m);
    enum ch_route_status st2 =
        ch_router_match(router, (enum ch_method)method, ch_str_make(path, len), &again);
    if (st != st2 || m.data != again.data || m.nparams != again.nparams ||
        m.allowed != again.allowed)
        abort();
    if (m.nparams > CH_ROUTER_MAX_PARAMS || (m.allowed & ~(unsigned)CH_ANY)) abort();

    switch (st) {
    case CH_ROUTE_FOUND: check_found(&m, path, len, method); break;
    case CH_ROUTE_METHOD_NOT_ALLOWED:
        if (m.allowed == 0 || accepts(m.allowed, method) || m.data) abort();
        break;
    case CH_ROUTE_NOT_FOUND:
        if (m.allowed != 0 || m.data || m.nparams != 0) abort();
        break;
    default: abort();
    }

    uintptr_t want_data;
    unsigned want_allowed;
    if (oracle(path, len, method, &want_data, &want_allowed) != st) abort();
    if (st == CH_ROUTE_FOUND && (uintptr_t)m.data != want_data) abort();
    if (st == CH_ROUTE_METHOD_NOT_ALLOWED && m.allowed != want_allowed) abort();
    return 0;
}
