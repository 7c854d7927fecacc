/* The router: a radix tree from (method, path) to an opaque per-route pointer.
 *
 * The router is built once at startup with ch_router_add() and then only read: ch_router_match()
 * never writes to the router, so any number of threads may match concurrently without locks as
 * long as nobody adds routes at the same time. Matching allocates nothing and uses no recursion.
 *
 * Pattern syntax (a pattern is a NUL-terminated string starting with '/'):
 *   - Static text matches itself byte for byte: "/users/new".
 *   - ":name" at the start of a segment is a parameter. It matches one non-empty segment, up to
 *     the next '/' or the end of the path: "/users/:id" matches "/users/42" but not "/users/".
 *   - "*name" at the start of the last segment is a wildcard. It matches the rest of the path,
 *     slashes included, and may match nothing: "/files/\*path" matches "/files/" (path = "") and
 *     "/files/a/b.txt" (path = "a/b.txt"), but not "/files". (A C comment cannot hold a slash
 *     followed by a star, hence the backslash: the pattern itself has none.)
 *   - ':' and '*' elsewhere in a segment are ordinary characters ("/v1/things:batchGet").
 *   - Names are made of ASCII letters, digits and '_', are unique within a pattern, and a pattern
 *     holds at most CH_ROUTER_MAX_PARAMS parameters (the wildcard counts as one).
 *   - Every route that has a parameter (or a wildcard) after the same preceding text must give it
 *     the same name: "/users/:id" and "/users/:name/posts" conflict, because both would describe
 *     the same segment of the same URLs under two names.
 *
 * Precedence: at every segment, static text beats a parameter, which beats a wildcard. When a
 * preferred branch fails further down, the matcher backtracks and tries the next one, so with
 * "/a/b/c" and "/a/:x/d" the path "/a/b/d" matches the second route. Each tree node is visited at
 * most once per match, so the cost is bounded by the size of the tree, whatever the path.
 *
 * Trailing slashes are strict: "/users" and "/users/" are different routes and neither matches
 * the other's path; the router never redirects. This keeps one URL per resource and lets an
 * application that wants redirects implement them explicitly.
 *
 * Paths are matched raw, as they arrived on the wire (without the query string): the router does
 * not percent-decode. Parameter values are raw slices of the path; decode them with
 * ch_url_decode() (see url.h). Routing before decoding means an encoded slash ("%2F") stays
 * inside one parameter instead of creating a new segment.
 *
 * A HEAD request is served by the route's GET data when the route has no explicit HEAD entry. */
#ifndef CHOPIN_ROUTER_H
#define CHOPIN_ROUTER_H

#include <stddef.h>

#include "method.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CH_ROUTER_MAX_PARAMS  16
#define CH_ROUTER_MAX_PATTERN 4096 /* bytes, without the NUL */
#define CH_ROUTER_ALLOW_MAX   64   /* room for every method name in an Allow value, with NUL */

struct ch_router;

struct ch_route_param {
    struct ch_str name;  /* points into the router; valid until it is next changed or freed */
    struct ch_str value; /* points into the matched path; raw, not percent-decoded */
};

enum ch_route_status {
    CH_ROUTE_FOUND = 0,
    CH_ROUTE_METHOD_NOT_ALLOWED = 1, /* 405: some route has this path, none this method */
    CH_ROUTE_NOT_FOUND = 2,          /* 404: no route has this path */
};

struct ch_route_match {
    void *data;          /* the matched route's data (CH_ROUTE_FOUND only) */
    const char *pattern; /* the matched route's pattern, e.g. for metrics (FOUND only) */
    unsigned allowed;    /* FOUND: methods of the matched pattern; 405: methods of every pattern
                            matching the path; 404: 0. HEAD is included wherever GET is. */
    size_t nparams;
    struct ch_route_param params[CH_ROUTER_MAX_PARAMS]; /* in pattern order, wildcard last */
};

/* One registered route, as returned by ch_router_route(). */
struct ch_route_info {
    const char *pattern; /* as passed to ch_router_add(); owned by the router */
    unsigned methods;    /* the method mask as passed to ch_router_add() */
    void *data;
    size_t nparams;
    struct ch_str param_names[CH_ROUTER_MAX_PARAMS]; /* slices of `pattern`, in order */
    int wildcard; /* non-zero when the last parameter is a wildcard */
};

/* Returns an empty router, or NULL when out of memory. Release it with ch_router_free(). */
struct ch_router *ch_router_new(void);

/* Releases the router and everything it allocated (not the routes' data pointers). NULL is
 * ignored. Slices obtained from the router (parameter names, patterns) become invalid. */
void ch_router_free(struct ch_router *r);

/* Adds a route for every method in `method_mask` (CH_METHOD_BIT(m) values or CH_ANY). The pattern
 * is copied. Returns 0; CH_EINVAL for a malformed pattern or an empty/out-of-range mask;
 * CH_ERANGE for a pattern over CH_ROUTER_MAX_PATTERN bytes or with too many parameters; CH_EBUSY
 * when the same pattern already has a route for one of the methods; CH_ENOMEM. On any error no
 * route is added; after CH_ENOMEM the router may hold unused nodes but remains fully usable. */
int ch_router_add(struct ch_router *r, unsigned method_mask, const char *pattern, void *data);

/* Matches `path` (raw, without query) for `method` and fills `m`. Returns CH_ROUTE_FOUND (data,
 * pattern and params set), CH_ROUTE_METHOD_NOT_ALLOWED (m->allowed says which methods would
 * match, for the Allow header) or CH_ROUTE_NOT_FOUND. Read-only and thread-safe; m's slices
 * point into `path` and into the router. */
enum ch_route_status ch_router_match(const struct ch_router *r, enum ch_method method,
                                     struct ch_str path, struct ch_route_match *m);

/* The number of routes added so far (one per successful ch_router_add()). */
size_t ch_router_route_count(const struct ch_router *r);

/* The i-th route in the order the routes were added, or NULL when i is out of range. The
 * returned memory belongs to the router and stays valid until the next ch_router_add(). */
const struct ch_route_info *ch_router_route(const struct ch_router *r, size_t i);

/* Writes the methods of `mask` as an Allow field value ("GET, HEAD, POST", in method order) to
 * `dst`, which must hold CH_ROUTER_ALLOW_MAX bytes, and NUL-terminates it. Returns the length. */
size_t ch_router_format_allow(unsigned mask, char *dst);

/* Returns the value of the parameter `name` in a successful match, or an empty slice with a NULL
 * pointer when the matched route has no such parameter. */
struct ch_str ch_route_param(const struct ch_route_match *m, struct ch_str name);

#ifdef __cplusplus
}
#endif

#endif
