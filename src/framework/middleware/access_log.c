/* One line per request on stderr, in development (or with ACCESS_LOG=on), in the format
 * ACCESS_LOG_FORMAT names:
 *   logfmt    time=... level=info msg=request request_id=... method=GET path="/json" status=200
 *             bytes=27 duration_ms=0.012                                        (the default)
 *   json      {"time":"...","level":"info","msg":"request","request_id":"...","method":"GET",
 *             "path":"/json","route":"/json","status":200,"bytes":27,"duration_ms":0.012,
 *             "remote_addr":"127.0.0.1","user_agent":"..."}                    (one per line)
 *   combined  nginx's and Apache's combined format:
 *             127.0.0.1 - - [06/Dec/2026:03:00:17 +0000] "GET /json HTTP/1.1" 200 27 "-" "curl/8"
 * Each line goes out with one write(2), so lines from several workers never interleave. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chopin/middleware.h"
#include "core/conn.h"
#include "framework/app.h"

enum { FMT_LOGFMT, FMT_JSON, FMT_COMBINED };

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int enabled(const struct ch_config *cfg)
{
    return cfg->access_log == 1 || (cfg->access_log < 0 && !cfg->production);
}

static int before(struct ch_request *req, void *arg)
{
    (void)arg;
    if (!enabled(&ch__app_of(req)->cfg)) return 0;
    /* Microseconds are needed for the duration; the loop's millisecond clock is too coarse. */
    uint64_t *t0 = ch_arena_alloc(&req->arena, sizeof(*t0));
    if (t0) *t0 = now_us();
    req->_log_t0 = t0;
    return 0;
}

/* Appends `s` with anything unusual escaped, so a log line stays one line and parses:
 * \xHH for logfmt and combined (as nginx does), \u00HH inside JSON strings. */
static void put_escaped(struct ch_buf *out, struct ch_str s, int json)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
            if (json && (c == '"' || c == '\\'))
                ch_buf_printf(out, "\\%c", c);
            else
                ch_buf_printf(out, json ? "\\u%04x" : "\\x%02x", c);
        } else {
            ch_buf_putc(out, (char)c);
        }
    }
}

static void put_quoted(struct ch_buf *out, struct ch_str s, int json)
{
    ch_buf_putc(out, '"');
    put_escaped(out, s, json);
    ch_buf_putc(out, '"');
}

/* The client's address: the connection's peer (a balancer's, behind one). */
static void peer(const struct ch_request *req, char *dst, size_t cap)
{
    const struct ch__conn *c = req->_conn;
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    snprintf(dst, cap, "-");
    if (getpeername(c->io.fd, (struct sockaddr *)&sa, &len) != 0) return;
    if (sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, dst, (socklen_t)cap);
    else if (sa.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, dst, (socklen_t)cap);
}

static struct ch_str header_or_dash(const struct ch_request *req, const char *name)
{
    const struct ch_str *v = ch_request_header(req, name);
    return v && v->len ? *v : CH_STR("-");
}

static void after(struct ch_request *req, void *arg)
{
    (void)arg;
    uint64_t *t0 = req->_log_t0;
    if (!t0) return;
    req->_log_t0 = NULL;
    const struct ch_config *cfg = &ch__app_of(req)->cfg;
    double ms = (double)(now_us() - *t0) / 1000.0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    struct ch_str rid = req->request_id.len ? req->request_id : CH_STR("-");
    size_t bytes = req->method == CH_HEAD ? 0 : req->res.body.len;
    char addr[INET6_ADDRSTRLEN] = "-";
    struct ch_buf line;
    ch_buf_init_arena(&line, &req->arena);
    if (cfg->access_log_format != FMT_LOGFMT) peer(req, addr, sizeof(addr));
    if (cfg->access_log_format == FMT_JSON) {
        ch_buf_printf(&line,
                      "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"info\","
                      "\"msg\":\"request\",\"request_id\":",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, ts.tv_nsec / 1000000);
        put_quoted(&line, rid, 1);
        ch_buf_printf(&line, ",\"method\":\"%s\",\"path\":", ch_method_name(req->method));
        put_quoted(&line, req->path, 1);
        ch_buf_append_cstr(&line, ",\"route\":");
        if (req->route.len)
            put_quoted(&line, req->route, 1);
        else
            ch_buf_append_cstr(&line, "null");
        ch_buf_printf(&line,
                      ",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,\"remote_addr\":"
                      "\"%s\",\"user_agent\":",
                      req->res.status, bytes, ms, addr);
        put_quoted(&line, header_or_dash(req, "user-agent"), 1);
        ch_buf_append_cstr(&line, "}\n");
    } else if (cfg->access_log_format == FMT_COMBINED) {
        static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        ch_buf_printf(&line, "%s - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"%s ", addr, tm.tm_mday,
                      mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      ch_method_name(req->method));
        put_escaped(&line, req->target, 0);
        ch_buf_printf(&line, " HTTP/1.%d\" %d %zu ", req->minor_version, req->res.status, bytes);
        put_quoted(&line, header_or_dash(req, "referer"), 0);
        ch_buf_putc(&line, ' ');
        put_quoted(&line, header_or_dash(req, "user-agent"), 0);
        ch_buf_putc(&line, '\n');
    } else {
        ch_buf_printf(&line,
                      "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=info msg=request "
                      "request_id=",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, ts.tv_nsec / 1000000);
        ch_buf_append(&line, rid.ptr, rid.len);
        ch_buf_printf(&line, " method=%s path=", ch_method_name(req->method));
        put_quoted(&line, req->path, 0);
        ch_buf_printf(&line, " status=%d bytes=%zu duration_ms=%.3f\n", req->res.status,
                      req->res.body.len, ms);
    }
    if (line.len) {
        ssize_t w = write(STDERR_FILENO, line.ptr, line.len);
        (void)w;
    }
}

struct ch_middleware ch_mw_access_log(void)
{
    return (struct ch_middleware){.name = "access_log", .before = before, .after = after};
}
