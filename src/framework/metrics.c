/* Prometheus metrics: per-worker counters, summed at scrape time (see chopin/metrics.h).
 *
 * Each worker owns one block of 64-bit counters (cache-line aligned, so workers never share a
 * line) and increments it with plain stores: no lock, no atomic read-modify-write. A scrape
 * runs on whichever worker (or the side thread of METRICS_PORT) got it and reads the other
 * workers' blocks with relaxed atomic loads: on x86-64 and arm64 an aligned 64-bit load is
 * never torn, so a sum can only be a few requests behind. Values the scraper may not read
 * directly (a worker's database pool, freed when it stops) are copied into the worker's block
 * by the worker itself on its periodic tick. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>

#include "chopin/db.h"
#include "chopin/error.h"
#include "chopin/log.h"
#include "chopin/metrics.h"
#include "chopin/respond.h"
#include "core/server.h"
#include "framework/app.h"

/* Upper bounds of the duration histogram, in seconds and in nanoseconds. */
static const char *const bucket_le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                        "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                        "1",      "2.5",   "5",      "10"};
static const uint64_t bucket_ns[] = {500000,     1000000,    2500000,    5000000,    10000000,
                                     25000000,   50000000,   100000000,  250000000,  500000000,
                                     1000000000, 2500000000, 5000000000, 10000000000};
enum {
    NB = sizeof(bucket_ns) / sizeof(bucket_ns[0]),
    NCLASS = 5,
    /* Per route: requests by method and class, then NB+1 buckets (the last is +Inf only),
     * then the sum of durations in ns. */
    OFF_BUCKETS = CH_METHOD_COUNT * NCLASS,
    OFF_SUM = OFF_BUCKETS + NB + 1,
    STRIDE = OFF_SUM + 1,
};

/* What a worker copies on its tick from state only it may read (its database pool). */
struct db_snapshot {
    uint64_t connections, ready, in_flight, queued, reconnects, unavailable, queries, failed;
};

struct worker_block {
    struct db_snapshot db;
    uint64_t counts[]; /* (nroutes + 1) * STRIDE; route nroutes is "unmatched" */
};

struct ch__metrics {
    char path[256];
    char token[256];
    size_t token_len;
    int port;
    size_t nroutes;
    int nworkers;
    struct worker_block **w;
    struct ch__server *server; /* for the side thread, while serving */
    struct ch_app *app;
    int side_fd; /* METRICS_PORT listener, or -1 */
    pthread_t side_thread;
    int side_running;
    _Atomic int side_stop;
};

static uint64_t load64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The worker's wake-up time (server->precise_wake): a request is timed from the wake-up in
 * which it was handled, which costs one clock read per batch instead of one per request. */
uint64_t ch__metrics_start(const struct ch_request *req)
{
    const struct ch__conn *c = req->_conn;
    return c->worker->wake_ns;
}

void ch__metrics_count(struct ch__metrics *m, struct ch_request *req)
{
    const struct ch__app_route *route = req->_route;
    struct worker_block *b = m->w[req->worker_id];
    unsigned cls = (unsigned)req->res.status / 100u - 1u;
    if (cls >= NCLASS) cls = NCLASS - 1;
    unsigned method = (unsigned)req->method < CH_METHOD_COUNT ? (unsigned)req->method : 0;
    uint64_t *c = b->counts + (size_t)route->index * STRIDE;
    c[method * NCLASS + cls]++;
    uint64_t ns = now_ns() - req->_metrics_t0;
    unsigned i = 0;
    while (i < NB && ns > bucket_ns[i]) i++;
    c[OFF_BUCKETS + i]++;
    c[OFF_SUM] += ns;
}

/* The running server, found from a request's connection (its first member is the core's
 * struct ch__conn). */
static struct ch__server *server_of(const struct ch_request *req)
{
    const struct ch__conn *c = req->_conn;
    return c->worker->server;
}

int ch_request_draining(const struct ch_request *req)
{
    return atomic_load_explicit(&server_of(req)->draining, memory_order_relaxed);
}

/* ---- rendering ---- */

static void put_label(struct ch_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') ch_buf_putc(out, '\\');
        if (*s == '\n') {
            ch_buf_append_cstr(out, "\\n");
            continue;
        }
        ch_buf_putc(out, *s);
    }
}

static void head(struct ch_buf *out, const char *name, const char *type, const char *help)
{
    ch_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct ch_buf *out, const char *name, uint64_t v)
{
    ch_buf_append_cstr(out, name);
    ch_buf_putc(out, ' ');
    ch_buf_append_u64(out, v);
    ch_buf_putc(out, '\n');
}

static void metric(struct ch_buf *out, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    head(out, name, type, help);
    sample(out, name, v);
}

static const char *route_name(const struct ch__metrics *m, size_t r)
{
    return r < m->nroutes ? ch_app_route_info(m->app, r, NULL) : "unmatched";
}

static void render_requests(const struct ch__metrics *m, const uint64_t *sum, struct ch_buf *out)
{
    static const char *const cls[NCLASS] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    head(out, "chopin_http_requests_total", "counter",
         "Requests answered, by route pattern, method and status class.");
    for (size_t r = 0; r <= m->nroutes; r++) {
        const uint64_t *c = sum + r * STRIDE;
        for (unsigned k = 0; k < CH_METHOD_COUNT; k++)
            for (unsigned j = 0; j < NCLASS; j++) {
                if (!c[k * NCLASS + j]) continue;
                ch_buf_append_cstr(out, "chopin_http_requests_total{route=\"");
                put_label(out, route_name(m, r));
                ch_buf_printf(out, "\",method=\"%s\",status=\"%s\"} ",
                              ch_method_name((enum ch_method)k), cls[j]);
                ch_buf_append_u64(out, c[k * NCLASS + j]);
                ch_buf_putc(out, '\n');
            }
    }
    head(out, "chopin_http_request_duration_seconds", "histogram",
         "Time from a complete request to its response, by route pattern.");
    for (size_t r = 0; r <= m->nroutes; r++) {
        const uint64_t *c = sum + r * STRIDE;
        uint64_t total = 0;
        for (unsigned i = 0; i <= NB; i++) total += c[OFF_BUCKETS + i];
        if (!total) continue;
        uint64_t acc = 0;
        for (unsigned i = 0; i <= NB; i++) {
            acc += c[OFF_BUCKETS + i];
            ch_buf_append_cstr(out, "chopin_http_request_duration_seconds_bucket{route=\"");
            put_label(out, route_name(m, r));
            ch_buf_printf(out, "\",le=\"%s\"} ", i < NB ? bucket_le[i] : "+Inf");
            ch_buf_append_u64(out, acc);
            ch_buf_putc(out, '\n');
        }
        ch_buf_append_cstr(out, "chopin_http_request_duration_seconds_sum{route=\"");
        put_label(out, route_name(m, r));
        ch_buf_printf(out, "\"} %.9f\n", (double)c[OFF_SUM] / 1e9);
        ch_buf_append_cstr(out, "chopin_http_request_duration_seconds_count{route=\"");
        put_label(out, route_name(m, r));
        ch_buf_printf(out, "\"} %llu\n", (unsigned long long)total);
    }
}

static void render_process(struct ch_buf *out)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        head(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
        ch_buf_printf(out, "process_cpu_seconds_total %.6f\n", cpu);
    }
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long vsz, rss;
    if (f && fscanf(f, "%llu %llu", &vsz, &rss) == 2) {
        metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               rss * (unsigned long long)page);
        metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               vsz * (unsigned long long)page);
    }
    if (f) fclose(f);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        uint64_t n = 0;
        const struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.') n++;
        closedir(d);
        metric(out, "process_open_fds", "gauge", "Open file descriptors.", n ? n - 1 : 0);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
               (uint64_t)rl.rlim_cur);
    /* Start time: field 22 of /proc/self/stat (clock ticks after boot) plus the boot time. */
    unsigned long long start = 0, btime = 0;
    char buf[1024];
    f = fopen("/proc/self/stat", "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
        if (p) start = strtoull(p + 1, NULL, 10);
    }
    f = fopen("/proc/stat", "r");
    if (f) {
        while (fgets(buf, sizeof(buf), f))
            if (sscanf(buf, "btime %llu", &btime) == 1) break;
        fclose(f);
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (btime && hz > 0) {
        head(out, "process_start_time_seconds", "gauge",
             "Start time of the process since the Unix epoch in seconds.");
        ch_buf_printf(out, "process_start_time_seconds %.2f\n",
                      (double)btime + (double)start / (double)hz);
    }
}

static void render(struct ch__metrics *m, struct ch__server *s, struct ch_buf *out)
{
    size_t n = (m->nroutes + 1) * STRIDE;
    uint64_t *sum = calloc(n, sizeof(uint64_t));
    struct db_snapshot db = {0};
    /* SQLite's query threads are one pool shared by the workers, each of which reports it:
     * count it once. PostgreSQL pools are per worker: sum them. */
    int shared_pool = m->app->db && !strcmp(ch_db_driver(m->app->db), "sqlite");
    uint64_t open = 0, active = 0, accepted = 0, in = 0, outb = 0;
    for (int i = 0; i < m->nworkers; i++) {
        const struct worker_block *b = m->w[i];
        for (size_t k = 0; sum && k < n; k++) sum[k] += load64(&b->counts[k]);
        uint64_t conns = load64(&b->db.connections), ready = load64(&b->db.ready);
        if (shared_pool) {
            if (conns > db.connections) db.connections = conns;
            if (ready > db.ready) db.ready = ready;
        } else {
            db.connections += conns;
            db.ready += ready;
        }
        db.in_flight += load64(&b->db.in_flight);
        db.queued += load64(&b->db.queued);
        db.reconnects += load64(&b->db.reconnects);
        db.unavailable += load64(&b->db.unavailable);
        db.queries += load64(&b->db.queries);
        db.failed += load64(&b->db.failed);
        if (s && s->workers && i < s->nworkers) {
            const struct ch_worker *w = &s->workers[i];
            open += __atomic_load_n(&w->nconns, __ATOMIC_RELAXED);
            active += load64(&w->stats.active);
            accepted += load64(&w->stats.accepted);
            in += load64(&w->stats.bytes_in);
            outb += load64(&w->stats.bytes_out);
        }
    }
    if (sum) render_requests(m, sum, out);
    free(sum);
    metric(out, "chopin_http_requests_in_flight", "gauge", "Requests being handled.", active);
    metric(out, "chopin_http_connections_open", "gauge", "Open client connections.", open);
    metric(out, "chopin_http_connections_idle", "gauge",
           "Open client connections with no request being handled (keep-alive).",
           open > active ? open - active : 0);
    metric(out, "chopin_http_connections_accepted_total", "counter", "Connections accepted.",
           accepted);
    metric(out, "chopin_http_received_bytes_total", "counter", "Bytes read from clients.", in);
    metric(out, "chopin_http_sent_bytes_total", "counter", "Bytes written to clients.", outb);
    if (m->app->db) {
        metric(out, "chopin_db_pool_connections", "gauge", "Database connections configured.",
               db.connections);
        metric(out, "chopin_db_pool_ready", "gauge", "Database connections open and usable.",
               db.ready);
        metric(out, "chopin_db_pool_in_flight", "gauge", "Query batches sent, not answered.",
               db.in_flight);
        metric(out, "chopin_db_pool_queued", "gauge", "Query batches waiting for a connection.",
               db.queued);
        metric(out, "chopin_db_reconnects_total", "counter",
               "Database connections re-established after a failure.", db.reconnects);
        metric(out, "chopin_db_unavailable_total", "counter",
               "Query batches answered 'database unavailable'.", db.unavailable);
        metric(out, "chopin_db_queries_total", "counter", "Queries submitted.", db.queries);
        metric(out, "chopin_db_query_failures_total", "counter",
               "Queries that failed (other than unavailable).", db.failed);
    }
    metric(out, "chopin_workers", "gauge", "Worker threads.", (uint64_t)m->nworkers);
    metric(out, "chopin_draining", "gauge", "1 once SIGTERM was received and the server drains.",
           s ? (uint64_t)atomic_load(&s->draining) : 0);
    head(out, "chopin_build_info", "gauge", "The running version.");
    ch_buf_append_cstr(out, "chopin_build_info{version=\"" CH_VERSION "\"} 1\n");
    render_process(out);
}

/* ---- access control ---- */

/* Whether `header` (an Authorization value) is "Bearer <token>", in constant time for a
 * token of a given length. */
static int token_ok(const struct ch__metrics *m, const char *header, size_t len)
{
    if (!m->token_len) return 1;
    if (len < 7 || strncasecmp(header, "Bearer ", 7) != 0) return 0;
    header += 7;
    len -= 7;
    unsigned char diff = len != m->token_len;
    for (size_t i = 0; i < m->token_len; i++)
        diff |= (unsigned char)(m->token[i] ^ (i < len ? header[i] : 0));
    return diff == 0;
}

static int handle_metrics(struct ch_request *req)
{
    struct ch__metrics *m = ch__app_of(req)->metrics;
    const struct ch_str *auth = ch_request_header(req, "authorization");
    if (!token_ok(m, auth ? auth->ptr : "", auth ? auth->len : 0)) {
        ch_res_header(req, CH_STR("WWW-Authenticate"), CH_STR("Bearer realm=\"metrics\""));
        return ch_error(req, CH_ERR_UNAUTHORIZED, "a bearer token is required");
    }
    req->res.body.len = 0;
    render(m, server_of(req), &req->res.body);
    req->res.status = 200;
    ch_res_content_type(req, "text/plain; version=0.0.4; charset=utf-8");
    return ch_res_send(req);
}

/* ---- METRICS_PORT: a minimal HTTP/1.0-style server, one connection at a time ---- */

static void side_answer(struct ch__metrics *m, int fd)
{
    char req[8192];
    size_t len = 0;
    while (len < sizeof(req) - 1) {
        ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);
        if (n <= 0) return;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    req[len] = '\0';
    int status = 200;
    const char *reason = "OK";
    char path[300] = "";
    char method[16] = "";
    if (sscanf(req, "%15s %299s", method, path) != 2) status = 400, reason = "Bad Request";
    char *q = strchr(path, '?');
    if (q) *q = '\0';
    const char *auth = "";
    size_t alen = 0;
    for (char *line = strstr(req, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "authorization:", 14) == 0) {
            auth = line + 16;
            while (*auth == ' ') auth++;
            alen = strcspn(auth, "\r\n");
            break;
        }
    }
    int head_only = !strcmp(method, "HEAD");
    if (status == 200 && strcmp(path, m->path) != 0)
        status = 404, reason = "Not Found";
    else if (status == 200 && strcmp(method, "GET") && !head_only)
        status = 405, reason = "Method Not Allowed";
    else if (status == 200 && !token_ok(m, auth, alen))
        status = 401, reason = "Unauthorized";
    struct ch_buf body, out;
    ch_buf_init(&body);
    ch_buf_init(&out);
    if (status == 200)
        render(m, m->server, &body);
    else
        ch_buf_printf(&body, "%s\n", reason);
    ch_buf_printf(&out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                  "Connection: close\r\n\r\n",
                  status, reason,
                  status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
                  body.len, status == 401 ? "WWW-Authenticate: Bearer realm=\"metrics\"\r\n" : "");
    if (!head_only) ch_buf_append(&out, body.ptr, body.len);
    for (size_t off = 0; off < out.len;) {
        ssize_t n = write(fd, out.ptr + off, out.len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    ch_buf_cleanup(&body);
    ch_buf_cleanup(&out);
}

static void *side_main(void *arg)
{
    struct ch__metrics *m = arg;
    while (!atomic_load(&m->side_stop)) {
        struct pollfd p = {.fd = m->side_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        int fd = accept4(m->side_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        side_answer(m, fd);
        close(fd);
    }
    return NULL;
}

static int side_listen(struct ch__metrics *m, const struct ch_config *cfg)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", m->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai;
    if (getaddrinfo(cfg->host, port, &hints, &ai) != 0) return CH_EINVAL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        ch_log(CH_LOG_ERROR, "metrics: cannot listen on %s:%d: %s", cfg->host, m->port,
               strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return CH_EIO;
    }
    freeaddrinfo(ai);
    m->side_fd = fd;
    return 0;
}

/* ---- lifecycle, called by app.c ---- */

int ch__metrics_prepare(struct ch_app *app)
{
    struct ch__metrics *m = app->metrics;
    m->app = app;
    m->nroutes = app->nroutes;
    m->nworkers = app->cfg.workers;
    app->fallback.index = (unsigned)app->nroutes;
    m->w = calloc((size_t)m->nworkers, sizeof(*m->w));
    if (!m->w) return CH_ENOMEM;
    size_t size = sizeof(struct worker_block) + (m->nroutes + 1) * STRIDE * sizeof(uint64_t);
    size = (size + 63) / 64 * 64;
    for (int i = 0; i < m->nworkers; i++) {
        m->w[i] = aligned_alloc(64, size);
        if (!m->w[i]) return CH_ENOMEM;
        memset(m->w[i], 0, size);
    }
    if (m->port > 0 && m->side_fd < 0) return side_listen(m, &app->cfg);
    return 0;
}

int ch__metrics_worker_start(struct ch__metrics *m, struct ch_worker *w)
{
    if (w->id != 0 || m->side_fd < 0 || m->side_running) return 0;
    m->server = w->server; /* before the thread that reads it starts */
    atomic_store(&m->side_stop, 0);
    if (pthread_create(&m->side_thread, NULL, side_main, m) != 0) return CH_EIO;
    m->side_running = 1;
    return 0;
}

void ch__metrics_worker_tick(struct ch__metrics *m, struct ch_worker *w)
{
    struct ch_db_worker *dw = ch_db_worker_get(m->app->db, w->id);
    struct db_snapshot *d = &m->w[w->id]->db;
    if (!dw) return;
    struct ch_db_stats st;
    ch_db_worker_stats(dw, &st);
    d->connections = (uint64_t)st.connections;
    d->ready = (uint64_t)st.ready;
    d->in_flight = (uint64_t)st.in_flight;
    d->queued = (uint64_t)st.queued;
    d->reconnects = st.reconnects;
    d->unavailable = st.unavailable;
    d->queries = st.queries;
    d->failed = st.failed;
}

void ch__metrics_worker_stop(struct ch__metrics *m, struct ch_worker *w)
{
    struct db_snapshot *d = &m->w[w->id]->db;
    d->connections = d->ready = d->in_flight = d->queued = 0;
    if (w->id != 0 || !m->side_running) return;
    atomic_store(&m->side_stop, 1);
    pthread_join(m->side_thread, NULL);
    m->side_running = 0;
}

void ch__metrics_free(struct ch__metrics *m)
{
    if (!m) return;
    for (int i = 0; m->w && i < m->nworkers; i++) free(m->w[i]);
    free(m->w);
    if (m->side_fd >= 0) close(m->side_fd);
    free(m);
}

int ch_app_metrics(struct ch_app *app, const struct ch_metrics_options *opts)
{
    struct ch_metrics_options env = {0};
    if (!opts) {
        const char *v = getenv("METRICS");
        env.off = v && (!strcmp(v, "off") || !strcmp(v, "0"));
        env.path = getenv("METRICS_PATH");
        env.token = getenv("METRICS_TOKEN");
        v = getenv("METRICS_PORT");
        if (v && *v) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 1 || p > 65535) {
                ch_log(CH_LOG_ERROR, "invalid METRICS_PORT '%s': expected 1-65535", v);
                return CH_EINVAL;
            }
            env.port = (int)p;
        }
        opts = &env;
    }
    if (opts->off || app->metrics) return 0;
    const char *path = opts->path && *opts->path ? opts->path : "/metrics";
    if (path[0] != '/' || strlen(path) >= 256) return CH_EINVAL;
    if (opts->token && strlen(opts->token) >= 256) return CH_EINVAL;
    struct ch__metrics *m = calloc(1, sizeof(*m));
    if (!m) return CH_ENOMEM;
    strcpy(m->path, path);
    if (opts->token) strcpy(m->token, opts->token);
    m->token_len = strlen(m->token);
    m->port = opts->port;
    m->side_fd = -1;
    m->app = app;
    if (m->port <= 0) {
        int rc = ch_get(app, m->path, handle_metrics);
        if (rc) {
            free(m);
            return rc;
        }
    }
    app->metrics = m;
    return 0;
}
