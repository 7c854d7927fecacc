/* make bench-compress: the compression middleware's CPU cost per KiB of response body, for gzip
 * and Brotli at the middleware's default levels, on JSON bodies of a few sizes. The middleware's
 * own after() hook runs on a request built in memory (Accept-Encoding parsing, encoding, the
 * copy back), so this is the cost a worker pays per response, without any I/O.
 *   BENCH_COMPRESS_SECONDS (default 0.3) per measurement; GZIP_LEVEL and BROTLI_QUALITY
 *   (default: the middleware's, 5 and 4) to compare other levels. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chopin/chopin.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A JSON array of objects like an API's list endpoint, about `size` bytes. */
static size_t make_json(char *out, size_t size)
{
    static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo",
                                        "foxtrot", "golf", "hotel", "india", "juliet"};
    size_t n = 0;
    unsigned seed = 12345;
    n += (size_t)snprintf(out + n, size - n, "{\"success\":true,\"data\":[");
    for (int id = 1; n + 200 < size; id++) {
        seed = seed * 1103515245u + 12345u;
        n += (size_t)snprintf(out + n, size - n,
                              "%s{\"id\":%d,\"title\":\"%s %s\",\"done\":%s,\"score\":%u,"
                              "\"created_at\":\"2026-12-%02uT%02u:%02u:00Z\"}",
                              id > 1 ? "," : "", id, words[seed % 10], words[(seed >> 8) % 10],
                              (seed >> 4) & 1 ? "true" : "false", (seed >> 12) % 1000,
                              1 + (seed >> 3) % 28, (seed >> 5) % 24, (seed >> 7) % 60);
    }
    n += (size_t)snprintf(out + n, size - n, "]}");
    return n;
}

struct result {
    double ns_per_kib;
    size_t out_len;
};

static struct result measure(struct ch_middleware *mw, const char *ae, const char *body, size_t len,
                             double seconds)
{
    static char arena_storage[64 * 1024];
    struct ch_request req;
    memset(&req, 0, sizeof(req));
    struct ch_header h = {CH_STR("Accept-Encoding"), ch_str_cstr(ae)};
    req.method = CH_GET;
    req.headers = &h;
    req.num_headers = 1;
    ch_arena_init(&req.arena, arena_storage, sizeof(arena_storage));
    ch_buf_init(&req.res.body);
    struct result r = {0, 0};
    long iters = 0;
    double t0 = cpu_seconds(), t;
    do {
        for (int k = 0; k < 16; k++, iters++) {
            ch_arena_reset(&req.arena);
            req.res.status = 200;
            req.res.content_type = CH_STR("application/json");
            req.res.headers = NULL;
            req.res.num_headers = req.res._cap_headers = 0;
            req.res.body.len = 0;
            if (ch_buf_append(&req.res.body, body, len) != 0) abort();
            mw->after(&req, mw->arg);
        }
        t = cpu_seconds() - t0;
    } while (t < seconds);
    r.ns_per_kib = t * 1e9 / (double)iters / ((double)len / 1024.0);
    r.out_len = req.res.body.len;
    int encoded = 0;
    for (size_t i = 0; i < req.res.num_headers; i++)
        if (ch_str_eq_cstr(req.res.headers[i].name, "Content-Encoding")) encoded = 1;
    if (!encoded) {
        fprintf(stderr, "bench-compress: the body was not compressed (%s)\n", ae);
        exit(1);
    }
    ch_buf_cleanup(&req.res.body);
    ch_arena_cleanup(&req.arena);
    return r;
}

int main(void)
{
    const char *env = getenv("BENCH_COMPRESS_SECONDS");
    double seconds = env ? atof(env) : 0.3;
    const char *gl = getenv("GZIP_LEVEL"), *bq = getenv("BROTLI_QUALITY");
    struct ch_compress_options opts = {.gzip_level = gl ? atoi(gl) : 0,
                                       .brotli_quality = bq ? atoi(bq) : 0};
    struct ch_middleware mw = ch_mw_compress(&opts); /* 0: the defaults, gzip 5 and Brotli 4 */
    static const size_t sizes[] = {2 * 1024, 16 * 1024, 128 * 1024};
    static char body[128 * 1024 + 256];
    printf("compression middleware (gzip %s, brotli %s), CPU time per KiB of body\n",
           gl ? gl : "5", bq ? bq : "4");
    printf("%10s  %14s %8s  %14s %8s\n", "body", "gzip ns/KiB", "ratio", "brotli ns/KiB",
           "ratio");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len = make_json(body, sizes[i]);
        struct result g = measure(&mw, "gzip", body, len, seconds);
        struct result b = measure(&mw, "br", body, len, seconds);
        printf("%7zu B  %14.0f %7.1f%%  %14.0f %7.1f%%\n", len, g.ns_per_kib,
               100.0 * (double)g.out_len / (double)len, b.ns_per_kib,
               100.0 * (double)b.out_len / (double)len);
    }
    if (mw.cleanup) mw.cleanup(mw.arg);
    return 0;
}
