/* Routing cost as the route table grows: builds routers with 10 and with 1,000 realistic routes
 * (REST resources with parameters, static siblings that compete with them, wildcards), matches
 * the same mix of requests against each (hits of every kind, HEAD via GET, 404s, 405s) and
 * prints the median ns per match of several runs, overall and per kind, and the ratio.
 *
 * Build and run: make bench-router (release flags, linked against libchopin.a). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chopin/error.h"
#include "chopin/router.h"

#define GET    CH_METHOD_BIT(CH_GET)
#define POST   CH_METHOD_BIT(CH_POST)
#define PUT    CH_METHOD_BIT(CH_PUT)
#define DELETE CH_METHOD_BIT(CH_DELETE)

enum { RUNS = 15, REQUESTS = 1024, PASSES = 100, ROUTES_PER_RESOURCE = 6, COMMON_ROUTES = 4 };

/* The kinds of request in the mix, each with the status it must produce. */
struct kind {
    const char *name;
    const char *fmt; /* %d is the resource number */
    enum ch_method method;
    enum ch_route_status expect;
};

static const struct kind kinds[] = {
    {"static hit", "/api/v1/res%d", CH_GET, CH_ROUTE_FOUND},
    {"static vs param", "/api/v1/res%d/search", CH_GET, CH_ROUTE_FOUND},
    {"1 param", "/api/v1/res%d/12345", CH_GET, CH_ROUTE_FOUND},
    {"2 params", "/api/v1/res%d/12345/items/678", CH_GET, CH_ROUTE_FOUND},
    {"wildcard", "/api/v1/res%d/12345/files/img/2024/cat.png", CH_GET, CH_ROUTE_FOUND},
    {"HEAD via GET", "/api/v1/res%d", CH_HEAD, CH_ROUTE_FOUND},
    {"root static", "/health", CH_GET, CH_ROUTE_FOUND},
    {"root wildcard", "/static/css/site.css", CH_GET, CH_ROUTE_FOUND},
    {"404 deep", "/api/v1/res%d/12345/comments", CH_GET, CH_ROUTE_NOT_FOUND},
    {"404 shallow", "/wp-login.php", CH_GET, CH_ROUTE_NOT_FOUND},
    {"405", "/api/v1/res%d/12345", CH_PATCH, CH_ROUTE_METHOD_NOT_ALLOWED},
};
enum { NKINDS = sizeof(kinds) / sizeof(kinds[0]) };

struct request {
    enum ch_method method;
    struct ch_str path;
    enum ch_route_status expect;
};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-router: %s: %s\n", what, ch_strerror(rc));
    exit(1);
}

static void add(struct ch_router *r, unsigned mask, const char *pattern)
{
    int rc = ch_router_add(r, mask, pattern, (void *)pattern);
    if (rc != 0) die(pattern, rc);
}

/* A router with `nres` generated REST resources plus a few site-wide routes. */
static struct ch_router *build(int nres)
{
    struct ch_router *r = ch_router_new();
    if (!r) die("ch_router_new", CH_ENOMEM);
    add(r, GET, "/");
    add(r, GET, "/health");
    add(r, GET, "/static/*path");
    add(r, GET, "/docs/:page");
    static const char *const shapes[ROUTES_PER_RESOURCE] = {
        "/api/v1/res%d",           "/api/v1/res%d/search",          "/api/v1/res%d/:id",
        "/api/v1/res%d/:id/items", "/api/v1/res%d/:id/items/:item", "/api/v1/res%d/:id/files/*path",
    };
    static const unsigned masks[ROUTES_PER_RESOURCE] = {
        GET | POST, GET, GET | PUT | DELETE, GET | POST, GET | PUT | DELETE, GET,
    };
    char p[128];
    for (int i = 0; i < nres; i++) {
        for (int s = 0; s < ROUTES_PER_RESOURCE; s++) {
            snprintf(p, sizeof(p), shapes[s], i);
            /* The router copies the pattern, but the data pointer must stay valid. */
            char *copy = strdup(p);
            if (!copy) die("strdup", CH_ENOMEM);
            add(r, masks[s], copy);
        }
    }
    return r;
}

/* Requests of kind `k` (or of every kind when k < 0), spread over the router's resources and
 * interleaved with a fixed pseudo-random order so that branch prediction cannot learn a cycle. */
static struct request *requests(int nres, int k, size_t *count)
{
    struct request *rq = calloc(REQUESTS, sizeof(*rq));
    if (!rq) die("calloc", CH_ENOMEM);
    uint32_t seed = 12345;
    for (size_t i = 0; i < REQUESTS; i++) {
        seed = seed * 1103515245u + 12345u;
        const struct kind *kd = &kinds[k >= 0 ? k : (int)((seed >> 16) % NKINDS)];
        seed = seed * 1103515245u + 12345u;
        int res = (int)((seed >> 16) % (uint32_t)nres);
        char p[128];
        int n = snprintf(p, sizeof(p), kd->fmt, res);
        char *path = malloc((size_t)n);
        if (!path) die("malloc", CH_ENOMEM);
        memcpy(path, p, (size_t)n); /* not NUL-terminated, like a slice of a request buffer */
        rq[i] = (struct request){kd->method, ch_str_make(path, (size_t)n), kd->expect};
    }
    *count = REQUESTS;
    return rq;
}

static void free_requests(struct request *rq, size_t n)
{
    for (size_t i = 0; i < n; i++) free((void *)rq[i].path.ptr);
    free(rq);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile uintptr_t sink; /* keeps the results alive */

/* Exits unless every request produces its expected status: the timings must measure what the
 * table says they measure. */
static void check(const struct ch_router *r, const struct request *rq, size_t n)
{
    struct ch_route_match m;
    for (size_t i = 0; i < n; i++) {
        enum ch_route_status st = ch_router_match(r, rq[i].method, rq[i].path, &m);
        if (st != rq[i].expect) {
            fprintf(stderr, "bench-router: %.*s: status %d, expected %d\n", (int)rq[i].path.len,
                    rq[i].path.ptr, (int)st, (int)rq[i].expect);
            exit(1);
        }
    }
}

/* ns per match over PASSES passes of the request set. */
static double time_once(const struct ch_router *r, const struct request *rq, size_t n)
{
    struct ch_route_match m;
    uintptr_t acc = 0;
    double t0 = now_ns();
    for (int pass = 0; pass < PASSES; pass++) {
        for (size_t i = 0; i < n; i++) {
            enum ch_route_status st = ch_router_match(r, rq[i].method, rq[i].path, &m);
            acc += (uintptr_t)st + m.nparams + (uintptr_t)m.data;
        }
    }
    sink = acc;
    return (now_ns() - t0) / ((double)PASSES * (double)n);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return v[n / 2];
}

int main(void)
{
    static const int sizes[] = {10, 1000};
    enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]), NSETS = NKINDS + 1 /* the mix */ };
    struct ch_router *routers[NSIZES];
    struct request *sets[NSIZES][NSETS];
    size_t counts[NSIZES][NSETS];
    static double runs[NSIZES][NSETS][RUNS];

    for (int s = 0; s < NSIZES; s++) {
        int nres = (sizes[s] - COMMON_ROUTES) / ROUTES_PER_RESOURCE;
        routers[s] = build(nres);
        if (ch_router_route_count(routers[s]) != (size_t)sizes[s]) {
            fprintf(stderr, "bench-router: built %zu routes, wanted %d\n",
                    ch_router_route_count(routers[s]), sizes[s]);
            return 1;
        }
        for (int k = 0; k < NSETS; k++) {
            sets[s][k] = requests(nres, k < NKINDS ? k : -1, &counts[s][k]);
            check(routers[s], sets[s][k], counts[s][k]);
        }
    }
    /* Sizes alternate inside every run, so that a noisy neighbour or a frequency change hits
     * both sides of the ratio alike. */
    for (int run = 0; run < RUNS; run++)
        for (int k = 0; k < NSETS; k++)
            for (int s = 0; s < NSIZES; s++)
                runs[s][k][run] = time_once(routers[s], sets[s][k], counts[s][k]);

    printf("router match, ns per match (median of %d runs of %d x %d requests)\n", RUNS, PASSES,
           REQUESTS);
    printf("%-18s %12s %12s %8s\n", "request kind", "10 routes", "1000 routes", "ratio");
    double mix[NSIZES] = {0, 0};
    for (int k = 0; k < NSETS; k++) {
        double a = median(runs[0][k], RUNS), b = median(runs[1][k], RUNS);
        printf("%-18s %12.1f %12.1f %8.2f\n", k < NKINDS ? kinds[k].name : "MIX", a, b, b / a);
        if (k == NKINDS) mix[0] = a, mix[1] = b;
    }
    printf("target: 1000-route mix within 1.5x of 10-route mix and under 100 ns: %s\n",
           mix[1] / mix[0] <= 1.5 && mix[1] < 100 ? "met" : "MISSED");

    for (int s = 0; s < NSIZES; s++) {
        for (int k = 0; k < NSETS; k++) free_requests(sets[s][k], counts[s][k]);
        for (size_t i = COMMON_ROUTES; i < ch_router_route_count(routers[s]); i++)
            free(ch_router_route(routers[s], i)->data);
        ch_router_free(routers[s]);
    }
    return 0;
}
