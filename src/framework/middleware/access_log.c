/* One structured (logfmt) line per request on stderr, in development only. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "chopin/middleware.h"
#include "framework/app.h"

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int before(struct ch_request *req, void *arg)
{
    (void)arg;
    if (ch__app_of(req)->cfg.production) return 0;
    /* Microseconds are needed for the duration; the loop's millisecond clock is too coarse. */
    uint64_t *t0 = ch_arena_alloc(&req->arena, sizeof(*t0));
    if (t0) *t0 = now_us();
    req->_log_t0 = t0;
    return 0;
}

/* Paths are printed quoted with anything unusual escaped, so a log line stays one line. */
static size_t put_quoted(char *dst, size_t cap, struct ch_str s)
{
    size_t n = 0;
    if (n < cap) dst[n++] = '"';
    for (size_t i = 0; i < s.len && n + 5 < cap; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) n += (size_t)snprintf(dst + n, 5, "\\x%02x", c);
        else dst[n++] = (char)c;
    }
    if (n < cap) dst[n++] = '"';
    return n;
}

static void after(struct ch_request *req, void *arg)
{
    (void)arg;
    uint64_t *t0 = req->_log_t0;
    if (!t0) return;
    req->_log_t0 = NULL;
    double ms = (double)(now_us() - *t0) / 1000.0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024], path[600];
    size_t plen = put_quoted(path, sizeof(path), req->path);
    int n = snprintf(line, sizeof(line),
                     "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=info msg=request "
                     "request_id=%.*s method=%s path=%.*s status=%d bytes=%zu duration_ms=%.3f\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, (int)(req->request_id.len ? req->request_id.len : 1),
                     req->request_id.len ? req->request_id.ptr : "-", ch_method_name(req->method),
                     (int)plen, path, req->res.status, req->res.body.len, ms);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        (void)w;
    }
}

struct ch_middleware ch_mw_access_log(void)
{
    return (struct ch_middleware){.name = "access_log", .before = before, .after = after};
}
