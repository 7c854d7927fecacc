/* The test client (chopin/testing.h): the app served from a background thread, and a small
 * blocking HTTP/1.1 client on one keep-alive connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "chopin/error.h"
#include "chopin/log.h"
#include "chopin/testing.h"
#include "core/server.h"
#include "framework/app.h"

enum { IO_TIMEOUT_S = 30 };

struct ch_test {
    struct ch_app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int port;        /* set once listening */
    int done;        /* ch_app_serve() returned */
    int exit_status; /* its return value */
    int fd;          /* the client connection, -1 when closed */
    char *bearer;
    struct ch_buf out;     /* the request being sent */
    struct ch_buf in;      /* the response received */
    struct ch_arena arena; /* headers and the JSON tree of the last response */
};

/* A header's position in `in`, kept as offsets while the buffer may still grow. */
struct span {
    size_t name, name_len, value, value_len;
};

static void *serve(void *arg)
{
    struct ch_test *t = arg;
    int rc = ch_app_serve(t->app);
    pthread_mutex_lock(&t->mu);
    t->done = 1;
    t->exit_status = rc;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void ready(struct ch__server *s, void *arg)
{
    struct ch_test *t = arg;
    pthread_mutex_lock(&t->mu);
    t->port = s->port;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void destroy(struct ch_test *t)
{
    if (t->fd >= 0) close(t->fd);
    free(t->bearer);
    ch_buf_cleanup(&t->out);
    ch_buf_cleanup(&t->in);
    ch_arena_cleanup(&t->arena);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

struct ch_test *ch_test_start(struct ch_app *app)
{
    struct ch_test *t = calloc(1, sizeof(*t));
    if (!t || !app) {
        free(t);
        return NULL;
    }
    t->app = app;
    t->fd = -1;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    ch_buf_init(&t->out);
    ch_buf_init(&t->in);
    ch_arena_init(&t->arena, NULL, 0);

    struct ch_config *cfg = ch_app_config(app);
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 0;
    app->on_ready = ready;
    app->ready_arg = t;
    if (pthread_create(&t->thread, NULL, serve, t) != 0) {
        ch_log(CH_LOG_ERROR, "ch_test_start: cannot create the server thread");
        destroy(t);
        return NULL;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->port && !t->done) pthread_cond_wait(&t->cv, &t->mu);
    int started = t->port != 0 && !t->done;
    pthread_mutex_unlock(&t->mu);
    if (!started) {
        pthread_join(t->thread, NULL);
        ch_log(CH_LOG_ERROR, "ch_test_start: the app did not start");
        destroy(t);
        return NULL;
    }
    return t;
}

int ch_test_stop(struct ch_test *t)
{
    if (!t) return 0;
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
    /* The serving thread blocks SIGTERM and waits for it, as a server's main thread does; a
     * thread that has already returned (not yet joined) simply leaves it pending. */
    pthread_kill(t->thread, SIGTERM);
    pthread_join(t->thread, NULL);
    int rc = t->exit_status;
    t->app->on_ready = NULL;
    t->app->ready_arg = NULL;
    destroy(t);
    return rc;
}

int ch_test_port(const struct ch_test *t)
{
    return t->port;
}

int ch_test_bearer(struct ch_test *t, const char *token)
{
    char *copy = NULL;
    if (token && !(copy = strdup(token))) return CH_ENOMEM;
    free(t->bearer);
    t->bearer = copy;
    return 0;
}

static int connect_client(struct ch_test *t)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return CH_EIO;
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return CH_EIO;
    }
    t->fd = fd;
    return 0;
}

static void disconnect(struct ch_test *t)
{
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
}

static int io_error(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK ? CH_ETIMEDOUT : CH_EIO;
}

static int send_all(struct ch_test *t)
{
    size_t off = 0;
    while (off < t->out.len) {
        ssize_t n = send(t->fd, t->out.ptr + off, t->out.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return io_error();
        off += (size_t)n;
    }
    return 0;
}

/* Reads more bytes into `in`: 1, 0 at the end of the stream, or a CH_E* code. */
static int fill(struct ch_test *t)
{
    if (ch_buf_reserve(&t->in, 16384) != 0) return CH_ENOMEM;
    for (;;) {
        ssize_t n = recv(t->fd, t->in.ptr + t->in.len, t->in.cap - t->in.len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error();
        t->in.len += (size_t)n;
        return n > 0;
    }
}

static int has_header_ci(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (; headers && *headers; headers++)
        if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':') return 1;
    return 0;
}

static int build_request(struct ch_test *t, const char *method, const char *path,
                         const char *const *headers, const void *body, size_t len)
{
    struct ch_buf *b = &t->out;
    b->len = 0;
    int rc = ch_buf_printf(b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path, t->port);
    for (const char *const *h = headers; h && *h && rc == 0; h++)
        rc = ch_buf_printf(b, "%s\r\n", *h);
    if (rc == 0 && t->bearer && !has_header_ci(headers, "Authorization"))
        rc = ch_buf_printf(b, "Authorization: Bearer %s\r\n", t->bearer);
    if (rc == 0 && body && !has_header_ci(headers, "Content-Type"))
        rc = ch_buf_append_cstr(b, "Content-Type: application/json\r\n");
    int wants_length =
        body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    if (rc == 0 && wants_length && !has_header_ci(headers, "Content-Length") &&
        !has_header_ci(headers, "Transfer-Encoding"))
        rc = ch_buf_printf(b, "Content-Length: %zu\r\n", body ? len : 0);
    if (rc == 0) rc = ch_buf_append_cstr(b, "\r\n");
    if (rc == 0 && body) rc = ch_buf_append(b, body, len);
    return rc ? CH_ENOMEM : 0;
}

static const char *find_crlfcrlf(const char *p, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
            return p + i + 1;
    return NULL;
}

static int span_is(const struct ch_test *t, const struct span *s, const char *name)
{
    return s->name_len == strlen(name) && !strncasecmp(t->in.ptr + s->name, name, s->name_len);
}

/* Parses the status line and header fields of in[start..end) into *status and spans. */
static int parse_head(struct ch_test *t, size_t start, size_t end, int *status, struct span **spans,
                      size_t *nspans)
{
    const char *p = t->in.ptr + start, *e = t->in.ptr + end;
    if (e - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') return CH_EINVAL;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') return CH_EINVAL;
        st = st * 10 + (p[i] - '0');
    }
    *status = st;
    size_t cap = 0;
    for (const char *q = p; q < e; q++) cap += *q == '\n';
    struct span *sp = ch_arena_alloc(&t->arena, (cap ? cap : 1) * sizeof(*sp));
    if (!sp) return CH_ENOMEM;
    size_t n = 0;
    const char *line = memchr(p, '\n', (size_t)(e - p));
    if (!line) return CH_EINVAL;
    line++;
    while (line < e) {
        const char *nl = memchr(line, '\n', (size_t)(e - line));
        if (!nl || nl == line || nl[-1] != '\r') return CH_EINVAL;
        if (nl - line == 1) break; /* the empty line */
        const char *colon = memchr(line, ':', (size_t)(nl - line));
        if (!colon || colon == line) return CH_EINVAL;
        const char *v = colon + 1, *ve = nl - 1;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        sp[n++] = (struct span){(size_t)(line - t->in.ptr), (size_t)(colon - line),
                                (size_t)(v - t->in.ptr), (size_t)(ve - v)};
        line = nl + 1;
    }
    *spans = sp;
    *nspans = n;
    return 0;
}

static const struct span *find_span(const struct ch_test *t, const struct span *sp, size_t n,
                                    const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (span_is(t, &sp[i], name)) return &sp[i];
    return NULL;
}

static int span_contains(const struct ch_test *t, const struct span *s, const char *token)
{
    size_t tl = strlen(token);
    const char *v = t->in.ptr + s->value;
    for (size_t i = 0; i + tl <= s->value_len; i++)
        if (!strncasecmp(v + i, token, tl)) return 1;
    return 0;
}

static int is_json_type(struct ch_str ct)
{
    size_t n = 0;
    while (n < ct.len && ct.ptr[n] != ';' && ct.ptr[n] != ' ') n++;
    if (n == 16 && !strncasecmp(ct.ptr, "application/json", 16)) return 1;
    return n > 17 && !strncasecmp(ct.ptr, "application/", 12) &&
           !strncasecmp(ct.ptr + n - 5, "+json", 5);
}

/* Reads one whole response into `in` and fills *res. `reused`: an end of stream before any
 * byte means the server had closed the idle connection (CH_ECLOSED: send again). */
static int read_response(struct ch_test *t, int head_only, int reused, struct ch_test_response *res)
{
    size_t start = 0, head_end;
    int status, rc;
    struct span *sp;
    size_t nsp;
    for (;;) {
        const char *end;
        while (!(end = find_crlfcrlf(t->in.ptr + start, t->in.len - start))) {
            rc = fill(t);
            if (rc == 0) return reused && t->in.len == 0 ? CH_ECLOSED : CH_EIO;
            if (rc < 0) return rc;
        }
        head_end = (size_t)(end - t->in.ptr);
        if ((rc = parse_head(t, start, head_end, &status, &sp, &nsp)) != 0) return rc;
        /* Interim responses (100 Continue) are skipped. */
        if (status >= 200 || status == 101) break;
        start = head_end;
    }

    size_t body = head_end, body_len = 0;
    const struct span *te = find_span(t, sp, nsp, "Transfer-Encoding");
    const struct span *cl = find_span(t, sp, nsp, "Content-Length");
    const struct span *conn = find_span(t, sp, nsp, "Connection");
    int close_after = conn && span_contains(t, conn, "close");
    if (head_only || status == 204 || status == 304) {
        body_len = 0;
    } else if (te && span_contains(t, te, "chunked")) {
        struct ch_http_chunked d;
        ch_http_chunked_init(&d);
        size_t src = body, dst = body;
        while ((rc = ch_http_chunked_decode(&d, t->in.ptr, t->in.len, &src, &dst, UINT64_MAX)) ==
               CH_INCOMPLETE) {
            int r = fill(t);
            if (r <= 0) return r < 0 ? r : CH_EIO;
        }
        if (rc != 1) return CH_EINVAL;
        body_len = dst - body;
    } else if (cl) {
        char num[24];
        if (cl->value_len == 0 || cl->value_len >= sizeof(num)) return CH_EINVAL;
        memcpy(num, t->in.ptr + cl->value, cl->value_len);
        num[cl->value_len] = 0;
        char *endp;
        unsigned long long want = strtoull(num, &endp, 10);
        if (*endp || num[0] == '-') return CH_EINVAL;
        while (t->in.len - body < want) {
            int r = fill(t);
            if (r <= 0) return r < 0 ? r : CH_EIO;
        }
        body_len = (size_t)want;
    } else {
        /* Delimited by the end of the connection. */
        while ((rc = fill(t)) > 0) {
        }
        if (rc < 0) return rc;
        body_len = t->in.len - body;
        close_after = 1;
    }
    if (close_after) disconnect(t);
    if (ch_buf_reserve(&t->in, 1) != 0) return CH_ENOMEM;
    t->in.ptr[body + body_len] = '\0';

    /* The buffer no longer moves: the offsets become slices. */
    struct ch_header *h = ch_arena_alloc(&t->arena, (nsp ? nsp : 1) * sizeof(*h));
    if (!h) return CH_ENOMEM;
    for (size_t i = 0; i < nsp; i++) {
        h[i].name = ch_str_make(t->in.ptr + sp[i].name, sp[i].name_len);
        h[i].value = ch_str_make(t->in.ptr + sp[i].value, sp[i].value_len);
    }
    res->status = status;
    res->headers = h;
    res->num_headers = nsp;
    res->body = ch_str_make(t->in.ptr + body, body_len);
    res->json = NULL;
    const struct ch_json_value *root;
    if (is_json_type(ch_test_header(res, "Content-Type")) &&
        ch_json_parse(res->body.ptr, res->body.len, &t->arena, &root, NULL) == 0)
        res->json = root;
    return status;
}

int ch_test_request_n(struct ch_test *t, const char *method, const char *path,
                      const char *const *headers, const void *body, size_t len,
                      struct ch_test_response *res)
{
    memset(res, 0, sizeof(*res));
    ch_arena_reset(&t->arena);
    int rc = build_request(t, method, path, headers, body, len);
    if (rc != 0) return rc;
    int head_only = !strcmp(method, "HEAD");
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = t->fd >= 0;
        t->in.len = 0;
        if (!reused && (rc = connect_client(t)) != 0) return rc;
        rc = send_all(t);
        if (rc == 0) rc = read_response(t, head_only, reused, res);
        if (rc >= 0) return rc;
        disconnect(t);
        memset(res, 0, sizeof(*res));
        /* Only a connection the server closed while idle is retried: the request was not
         * processed, so sending it again is safe. */
        if (!reused || (rc != CH_ECLOSED && rc != CH_EIO)) return rc;
        if (rc == CH_EIO && t->in.len != 0) return rc;
    }
    return rc;
}

int ch_test_request(struct ch_test *t, const char *method, const char *path,
                    const char *const *headers, const char *body, struct ch_test_response *res)
{
    return ch_test_request_n(t, method, path, headers, body, body ? strlen(body) : 0, res);
}

/* POSTs {"email"?, "username"?/"login"?, "password"} to an auth route and, on `ok`, takes
 * the access token as the bearer of later requests. */
static int auth_request(struct ch_test *t, const char *path, const char *const *keys,
                        const char *const *values, size_t n, int ok, struct ch_test_response *res)
{
    struct ch_test_response local;
    if (!res) res = &local;
    struct ch_buf body;
    ch_buf_init(&body);
    struct ch_json_writer w;
    ch_json_writer_init(&w, &body);
    ch_json_object_begin(&w);
    for (size_t i = 0; i < n; i++) {
        ch_json_key(&w, keys[i]);
        ch_json_string(&w, values[i] ? values[i] : "");
    }
    ch_json_object_end(&w);
    int rc = ch_json_writer_finish(&w);
    if (!rc) rc = ch_buf_putc(&body, '\0');
    int status = rc ? rc : ch_test_request(t, "POST", path, NULL, body.ptr, res);
    ch_buf_cleanup(&body);
    if (status != ok) return status;
    struct ch_str tok = ch_json_value_str(ch_test_json_at(res->json, "data.access_token"));
    char *copy = tok.ptr ? strndup(tok.ptr, tok.len) : NULL;
    if (!copy) return tok.ptr ? CH_ENOMEM : CH_EINVAL;
    rc = ch_test_bearer(t, copy);
    free(copy);
    return rc ? rc : status;
}

int ch_test_signup(struct ch_test *t, const char *email, const char *username,
                   const char *password, struct ch_test_response *res)
{
    const char *keys[] = {"email", "username", "password"};
    const char *values[] = {email, username, password};
    return auth_request(t, "/api/auth/signup", keys, values, 3, 201, res);
}

int ch_test_login(struct ch_test *t, const char *login, const char *password,
                  struct ch_test_response *res)
{
    const char *keys[] = {"login", "password"};
    const char *values[] = {login, password};
    return auth_request(t, "/api/auth/login", keys, values, 2, 200, res);
}

struct ch_str ch_test_header(const struct ch_test_response *res, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < res->num_headers; i++)
        if (res->headers[i].name.len == n && !strncasecmp(res->headers[i].name.ptr, name, n))
            return res->headers[i].value;
    return (struct ch_str){NULL, 0};
}

const struct ch_json_value *ch_test_json_at(const struct ch_json_value *v, const char *path)
{
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (ch_json_value_type(v) == CH_JSON_ARRAY) {
            size_t idx = 0;
            if (n == 0) return NULL;
            for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9') return NULL;
                idx = idx * 10 + (size_t)(p[i] - '0');
            }
            v = ch_json_value_at(v, idx);
        } else {
            v = ch_json_value_getn(v, p, n);
        }
        p += n;
        if (*p == '.') p++;
    }
    return v;
}
