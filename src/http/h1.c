/* The HTTP/1.1 connection: reading, framing, pipelining, timeouts and closing.
 *
 * After each read every complete request in the buffer is handled and its response appended
 * to the output buffer, then everything goes out with one write. A request whose handler
 * answers later (a database query) pauses the pipeline: the requests behind it wait in the
 * buffer, so responses always leave in request order. */
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "chopin/error.h"
#include "core/server.h"
#include "http/engine.h"
#include "util/decay.h"
#include "chopin/log.h"

enum { S_HEAD, S_BODY };

/* After our last response on a closing connection, we stop sending and read (and discard)
 * what the client still sends, for a bounded time: closing with unread input would make the
 * kernel answer with RST, which can destroy the response before the client reads it. */
enum { LINGER_MS = 2000 };

struct h1_conn {
    struct ch__conn base;
    struct ch_request *req; /* handed to the application and not yet ended */
    size_t rpos;            /* start of the next unparsed request in rbuf */
    uint64_t head_start;    /* when the first byte of the pending head arrived */
    uint64_t body_start;
    uint64_t linger_until;
    size_t head_len; /* in S_BODY: the head, already validated */
    size_t body_src, body_dst;
    struct ch_http_chunked chunked;
    uint64_t content_length;
    unsigned state : 1;
    unsigned chunked_body : 1;
    unsigned closing : 1; /* send nothing after the current response; then close */
    unsigned lingering : 1;
    unsigned draining : 1;
    unsigned in_run : 1;
    unsigned continue_sent : 1;
};

struct h1_worker {
    struct ch_request *free_reqs;
    size_t nfree;
    struct ch__decay nfree_decay;
    struct ch_header *scratch; /* header slots for heads parsed without a request object */
    struct ch_http_limits limits;
};

static const struct ch__http_app *app_of(struct ch__conn *c)
{
    return c->worker->server->proto_ctx;
}

static struct h1_worker *hw_of(struct ch__conn *c)
{
    return c->worker->proto_data;
}

static void run(struct h1_conn *hc);

/* Request objects: pooled per worker, since each holds header slots and arena storage.
 *
 * Requests that wait on a database are many at once (one per connection), so the cache grows
 * to what the load needs rather than to a fixed size: a fixed size below the number of
 * requests in flight meant a calloc and free of 7 KiB per request (see util/decay.h). */
enum { ARENA_INLINE = 4096, MIN_CACHED_REQUESTS = 64, MAX_CACHED_REQUESTS = 4096 };

static struct ch_request *req_get(struct ch_worker *w)
{
    struct h1_worker *hw = w->proto_data;
    struct ch_request *r = hw->free_reqs;
    if (r) {
        hw->free_reqs = r->_next;
        ch__decay_took(&hw->nfree_decay, --hw->nfree);
        return r;
    }
    ch__decay_took(&hw->nfree_decay, 0);
    size_t nh = hw->limits.max_headers;
    r = calloc(1, sizeof(*r) + ARENA_INLINE + nh * sizeof(struct ch_header));
    if (!r) return NULL;
    char *storage = (char *)(r + 1);
    ch_arena_init(&r->arena, storage, ARENA_INLINE);
    r->_header_store = (struct ch_header *)(storage + ARENA_INLINE);
    ch_buf_init(&r->res.body);
    return r;
}

static void req_free(struct ch_request *r)
{
    ch_arena_cleanup(&r->arena);
    ch_buf_cleanup(&r->res.body);
    free(r);
}

static void req_put(struct ch_worker *w, struct ch_request *r)
{
    struct h1_worker *hw = w->proto_data;
    ch_arena_reset(&r->arena);
    /* A large response body is not worth keeping for the next request. */
    if (r->res.body.cap > 64 * 1024) ch_buf_cleanup(&r->res.body);
    if (hw->nfree >= MAX_CACHED_REQUESTS) {
        req_free(r);
        return;
    }
    r->_next = hw->free_reqs;
    hw->free_reqs = r;
    hw->nfree++;
}

static void h1_worker_tick(struct ch_worker *w)
{
    struct h1_worker *hw = w->proto_data;
    size_t n = ch__decay_tick(&hw->nfree_decay, hw->nfree, MIN_CACHED_REQUESTS, CH__TRIM_TICKS);
    for (; n; n--) {
        struct ch_request *r = hw->free_reqs;
        hw->free_reqs = r->_next;
        hw->nfree--;
        req_free(r);
    }
    const struct ch__http_app *app = w->server->proto_ctx;
    if (app->worker_tick) app->worker_tick(w);
}

static void close_now(struct h1_conn *hc)
{
    ch__conn_close(&hc->base);
}

/* Answers an error the engine found by itself; nothing more is read on this connection. */
static void send_error(struct h1_conn *hc, int status, const char *message)
{
    struct ch__conn *c = &hc->base;
    const struct ch__http_app *app = app_of(c);
    struct ch_buf body;
    struct ch_str ctype = CH_STR("text/plain; charset=utf-8");
    ch_buf_init(&body);
    if (app->render_error) app->render_error(app, status, message, &body, &ctype);
    else ch_buf_printf(&body, "%s\n", message);
    hc->closing = 1;
    if (ch__conn_wbuf_prepare(c) == 0 &&
        ch__write_head(&c->wbuf, status, c->worker->date, ctype, body.len) == 0) {
        ch_buf_append_cstr(&c->wbuf, "Connection: close\r\n\r\n");
        ch_buf_append(&c->wbuf, body.ptr, body.len);
    }
    ch_buf_cleanup(&body);
}

static void send_parse_error(struct h1_conn *hc, int err)
{
    send_error(hc, ch_http_error_status(err), ch_strerror(err));
}

/* "OPTIONS *" asks about the server as a whole (RFC 9110 9.3.7), which no route can match:
 * the engine answers with the methods it serves, as Apache httpd does. */
static void answer_options(struct ch_request *r)
{
    r->res.status = 200;
    ch_res_header(r, CH_STR("Allow"), CH_STR("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
    ch_res_send(r);
}

/* Gives a pooled request object the state of a new request from its parsed head. This is the
 * one place where a request's fields are reset, for the engine and the framework alike. The
 * fields before the parameter slots are each set here; everything from num_params on (route,
 * request id, state, user and every private field) starts zeroed, so a field added there needs
 * no change here unless it starts elsewhere. What the object owns is kept: its arena (reset
 * when the last request ended), header slots and body buffer. The parameter slots are left as
 * they are: only the first num_params are ever read. */
static void request_reset(struct ch_request *r, const struct ch_http_head *h, struct ch_str body)
{
    r->method = (enum ch_method)h->method_id;
    r->target = h->target;
    r->path = h->path;
    r->query = h->query;
    r->host = h->host;
    r->minor_version = h->minor_version;
    r->headers = h->headers;
    r->num_headers = h->num_headers;
    r->body = body;
    r->res.status = 200;
    r->res.content_type = (struct ch_str){NULL, 0};
    r->res.headers = NULL;
    r->res.num_headers = r->res._cap_headers = 0;
    r->res.body.len = 0;
    r->res.close = 0;
    r->worker_id = 0;
    struct ch_header *store = r->_header_store;
    memset(&r->num_params, 0, sizeof(*r) - offsetof(struct ch_request, num_params));
    r->_header_store = store;
}

/* Builds a request object from a validated head and hands it to the application. `parsed` is
 * the head as just parsed (its fields in the worker's scratch slots), or NULL to parse it again
 * from `head`: a body that arrived over several reads may have moved the buffer since. */
static void dispatch(struct h1_conn *hc, const char *head, size_t head_len, struct ch_str body,
                     const struct ch_http_head *parsed)
{
    struct ch__conn *c = &hc->base;
    struct ch_worker *w = c->worker;
    struct h1_worker *hw = w->proto_data;
    struct ch_request *r = req_get(w);
    if (!r) {
        send_error(hc, 503, "out of memory");
        return;
    }
    struct ch_http_head h;
    if (parsed) {
        h = *parsed;
        memcpy(r->_header_store, parsed->headers, parsed->num_headers * sizeof(*parsed->headers));
        h.headers = r->_header_store;
    } else {
        ch_http_parse_head(head, head_len, &h, r->_header_store, &hw->limits);
    }
    request_reset(r, &h, body);
    r->worker_id = w->id;
    r->_conn = hc;
    r->_start_ms = w->loop.now;
    r->_keep_alive = h.keep_alive && !hc->draining;
    r->_app = (void *)app_of(c);
    if (!r->_keep_alive) hc->closing = 1;
    hc->req = r;
    c->refs++;
    w->stats.active++;
    if (r->method == CH_OPTIONS && ch_str_eq_cstr(r->target, "*")) answer_options(r);
    else app_of(c)->handle(r);
}

/* The request is over: response sent and no holds left. */
static void request_end(struct ch_request *r)
{
    struct h1_conn *hc = r->_conn;
    struct ch__conn *c = &hc->base;
    hc->req = NULL;
    c->worker->stats.active--;
    req_put(c->worker, r);
    if (c->flags & CH__CONN_CLOSED) {
        ch__conn_unref(c);
        return;
    }
    c->refs--;
    if (!hc->in_run) run(hc); /* an asynchronous answer: resume the pipeline */
}

int ch_res_send(struct ch_request *r)
{
    struct h1_conn *hc = r->_conn;
    if (r->_sent) return CH_ECLOSED;
    r->_sent = 1;
    int rc = 0;
    if (hc->base.flags & CH__CONN_CLOSED) rc = CH_ECLOSED;
    else {
        const struct ch__http_app *app = r->_app;
        if (app->before_send) app->before_send(r);
        if (r->res.close || hc->draining || hc->base.worker->announced) hc->closing = 1;
        r->_keep_alive = r->_keep_alive && !hc->closing;
        rc = ch__h1_write_response(r);
        if (rc != 0) close_now(hc);
    }
    if (r->_holds == 0) request_end(r);
    return rc;
}

void ch_request_hold(struct ch_request *r)
{
    r->_holds++;
}

void ch_request_release(struct ch_request *r)
{
    /* A client that left ends the request too, answered or not: nothing would be sent. */
    if (--r->_holds == 0 && (r->_sent || ch_request_done(r))) request_end(r);
}

int ch_request_done(const struct ch_request *r)
{
    const struct h1_conn *hc = r->_conn;
    return r->_sent || (hc->base.flags & CH__CONN_CLOSED);
}

void ch_request_set_timeout(struct ch_request *r, unsigned ms,
                            void (*on_timeout)(struct ch_request *req))
{
    struct h1_conn *hc = r->_conn;
    r->_deadline_ms = hc->base.worker->loop.now + ms;
    r->_on_timeout = on_timeout;
}

/* Checks the body that follows a parsed head. Returns 1 when the body is complete (its slice
 * in *body and the bytes used in *used), 0 when more input is needed, or an error code. */
static int body_progress(struct h1_conn *hc, char *start, size_t avail, struct ch_str *body,
                         size_t *used)
{
    char *b = start + hc->head_len;
    size_t have = avail - hc->head_len;
    if (!hc->chunked_body) {
        if (have < hc->content_length) return 0;
        *body = ch_str_make(b, (size_t)hc->content_length);
        *used = hc->head_len + (size_t)hc->content_length;
        return 1;
    }
    int rc = ch_http_chunked_decode(&hc->chunked, b, have, &hc->body_src, &hc->body_dst,
                                    hw_of(&hc->base)->limits.max_body);
    if (rc == CH_INCOMPLETE) return 0;
    if (rc < 0) return rc;
    *body = ch_str_make(b, hc->body_dst);
    *used = hc->head_len + hc->body_src;
    return 1;
}

static void send_continue(struct h1_conn *hc)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (hc->continue_sent) return;
    hc->continue_sent = 1;
    if (ch__conn_wbuf_prepare(&hc->base) == 0)
        ch_buf_append(&hc->base.wbuf, line, sizeof(line) - 1);
}

/* Handles every complete request in the buffer, in order, until one goes asynchronous, the
 * output reaches its cap, or the connection is closing. */
static void process(struct h1_conn *hc)
{
    struct ch__conn *c = &hc->base;
    struct h1_worker *hw = hw_of(c);
    const struct ch_config *cfg = app_of(c)->cfg;
    const struct ch__http_app *app = app_of(c);
    int raw = cfg->mode == CH_MODE_PERFORMANCE && app->nraw;

    while (!hc->req && !hc->closing && ch__conn_pending(c) < cfg->max_output) {
        size_t avail = c->rbuf.len - hc->rpos;
        if (avail == 0) return;
        char *p = c->rbuf.ptr + hc->rpos;

        if (hc->state == S_HEAD) {
            struct ch_http_head h;
            int n = ch_http_parse_head(p, avail, &h, hw->scratch, &hw->limits);
            if (n == CH_INCOMPLETE) return;
            if (n < 0) {
                send_parse_error(hc, n);
                return;
            }
            if (h.method_id == CH_CONNECT) {
                /* Not a proxy. Refused here, not by the application: a 2xx from a catch-all
                 * handler would make the client believe in a tunnel, and the bytes it may
                 * already be sending through it must not be read as requests. */
                send_error(hc, 501, "CONNECT is not supported: this server is not a proxy");
                return;
            }
            if (h.body_kind == CH_BODY_NONE) {
                if (ch__conn_wbuf_prepare(c) != 0) {
                    close_now(hc);
                    return;
                }
                hc->rpos += (size_t)n;
                hc->head_start = c->worker->loop.now;
                if (raw && !c->worker->announced && ch__fast_serve(app, &h, &c->wbuf, c->worker->date))
                    continue;
                dispatch(hc, p, (size_t)n, (struct ch_str){p + n, 0}, &h);
                continue;
            }
            hc->state = S_BODY;
            hc->head_len = (size_t)n;
            hc->body_start = c->worker->loop.now;
            hc->chunked_body = h.body_kind == CH_BODY_CHUNKED;
            hc->content_length = h.content_length;
            hc->body_src = hc->body_dst = 0;
            hc->continue_sent = 0;
            ch_http_chunked_init(&hc->chunked);
            /* Ask for the body only if it is not already on its way. */
            if (h.expect_continue && (hc->chunked_body ? avail == (size_t)n
                                                       : avail - (size_t)n < h.content_length))
                send_continue(hc);
        }

        struct ch_str body;
        size_t used;
        int rc = body_progress(hc, p, avail, &body, &used);
        if (rc == 0) return;
        if (rc < 0) {
            send_parse_error(hc, rc);
            return;
        }
        hc->state = S_HEAD;
        hc->rpos += used;
        hc->head_start = c->worker->loop.now;
        dispatch(hc, p, hc->head_len, body, NULL);
    }
}

/* How far rbuf may grow for the request being read. */
static size_t read_limit(struct h1_conn *hc)
{
    const struct ch_http_limits *l = &hw_of(&hc->base)->limits;
    size_t head = l->max_head > CH__BLOCK_SIZE ? l->max_head : CH__BLOCK_SIZE;
    if (hc->state == S_HEAD) return hc->rpos + head;
    if (!hc->chunked_body) return hc->rpos + hc->head_len + (size_t)hc->content_length;
    /* Decoding happens in place after every read: at most max_body decoded bytes, plus one
     * read's worth of framing not yet decoded. */
    return hc->rpos + hc->head_len + (size_t)l->max_body + CH__BLOCK_SIZE;
}

static void start_linger(struct h1_conn *hc)
{
    struct ch__conn *c = &hc->base;
    if (c->flags & CH__CONN_PEER_SHUT) {
        close_now(hc);
        return;
    }
    ch__conn_shutdown_write(c);
    hc->lingering = 1;
    hc->linger_until = c->worker->loop.now + LINGER_MS;
    ch__conn_consume(c, c->rbuf.len);
    hc->rpos = 0;
}

static void linger_read(struct h1_conn *hc)
{
    struct ch__conn *c = &hc->base;
    for (int i = 0; i < 16 && (c->flags & CH__CONN_READABLE); i++) {
        ssize_t n = ch__conn_read(c, CH__BLOCK_SIZE);
        ch__conn_consume(c, c->rbuf.len);
        if (n == 0 || n == CH_EIO) {
            close_now(hc);
            return;
        }
    }
}

static void run(struct h1_conn *hc)
{
    struct ch__conn *c = &hc->base;
    const struct ch_config *cfg = app_of(c)->cfg;
    hc->in_run = 1;
    for (;;) {
        if (c->flags & CH__CONN_CLOSED) break;
        if ((c->flags & CH__CONN_ERROR) && hc->req) {
            /* Reset while a handler works: it finishes into the void (ch_res_send sees the
             * closed connection) and the descriptor is freed now. */
            close_now(hc);
            break;
        }
        if (hc->lingering) {
            linger_read(hc);
            break;
        }
        process(hc);
        if (c->flags & CH__CONN_CLOSED) break;
        if (ch__conn_pending(c)) {
            int rc = ch__conn_flush(c);
            if (rc == CH_EIO) {
                close_now(hc);
                break;
            }
            if (rc == CH_INCOMPLETE) break; /* resumed by the next output edge */
        }
        if (hc->req) break; /* resumed by request_end() */
        if (hc->closing) {
            start_linger(hc);
            continue;
        }
        if (ch__conn_pending(c) >= cfg->max_output) break;
        if (!(c->flags & CH__CONN_READABLE)) {
            /* The peer finished sending: nothing more can complete a request. */
            if (c->flags & CH__CONN_PEER_SHUT) {
                close_now(hc);
            } else if (hc->rpos) {
                /* Waiting for input: drop what was parsed now rather than before the next
                 * read, so that an idle keep-alive connection gives its read buffer back
                 * (4-8 KiB each, which 10,000 idle clients turn into tens of MiB). */
                ch__conn_consume(c, hc->rpos);
                hc->rpos = 0;
            }
            break;
        }
        size_t unparsed = c->rbuf.len - hc->rpos;
        if (hc->rpos) {
            ch__conn_consume(c, hc->rpos);
            hc->rpos = 0;
        }
        ssize_t n = ch__conn_read(c, read_limit(hc));
        if (n > 0) {
            if (unparsed == 0 && hc->state == S_HEAD) hc->head_start = c->worker->loop.now;
            continue;
        }
        if (n == CH_INCOMPLETE) continue; /* READABLE is now clear */
        if (n == CH_EBUSY) {
            /* Cannot happen within the limits above; refuse rather than spin. */
            send_error(hc, 431, "request too large");
            continue;
        }
        close_now(hc); /* EOF with a partial request, or a socket error */
        break;
    }
    hc->in_run = 0;
}

static void h1_open(struct ch__conn *c)
{
    struct h1_conn *hc = (struct h1_conn *)c;
    hc->state = S_HEAD;
    hc->head_start = c->worker->loop.now;
    if (c->worker->draining) hc->draining = 1;
    /* Data may already be waiting; the edge for it may have fired before registration. */
    c->flags |= CH__CONN_READABLE;
    run(hc);
}

static void h1_event(struct ch__conn *c)
{
    struct h1_conn *hc = (struct h1_conn *)c;
    if (hc->in_run) return;
    run(hc);
}

static void h1_tick(struct ch__conn *c)
{
    struct h1_conn *hc = (struct h1_conn *)c;
    const struct ch_config *cfg = app_of(c)->cfg;
    uint64_t now = c->worker->loop.now;

    if (hc->lingering) {
        if (now >= hc->linger_until) close_now(hc);
        return;
    }
    if (ch__conn_pending(c)) {
        /* A client that stops reading is cut off once no byte moved for send_timeout. */
        if (now - c->last_io >= cfg->send_timeout_ms) close_now(hc);
        return;
    }
    if (hc->req) {
        struct ch_request *r = hc->req;
        if (!r->_sent && r->_deadline_ms && now >= r->_deadline_ms && r->_on_timeout) {
            r->_deadline_ms = 0;
            /* The handler still holds the request; the connection cannot continue after it. */
            hc->closing = 1;
            r->_on_timeout(r);
            if (!(c->flags & CH__CONN_CLOSED) && hc->req) run(hc);
        }
        return;
    }
    if (hc->state == S_BODY) {
        if (now - hc->body_start >= cfg->body_timeout_ms) {
            send_error(hc, 408, "request body not received in time");
            run(hc);
        }
        return;
    }
    if (c->rbuf.len > hc->rpos) {
        if (now - hc->head_start >= cfg->head_timeout_ms) {
            send_error(hc, 408, "request head not received in time");
            run(hc);
        }
        return;
    }
    if (now - c->last_io >= cfg->idle_timeout_ms || hc->draining) close_now(hc);
}

static void h1_shutdown(struct ch__conn *c)
{
    struct h1_conn *hc = (struct h1_conn *)c;
    hc->draining = 1;
    if (!hc->req && !ch__conn_pending(c) && c->rbuf.len == hc->rpos) close_now(hc);
}

static int h1_worker_init(struct ch_worker *w)
{
    const struct ch__http_app *app = w->server->proto_ctx;
    struct h1_worker *hw = calloc(1, sizeof(*hw));
    if (!hw) return CH_ENOMEM;
    hw->limits.max_head = app->cfg->max_head_size;
    hw->limits.max_headers = app->cfg->max_headers;
    hw->limits.max_body = app->cfg->max_body_size;
    hw->scratch = calloc(hw->limits.max_headers, sizeof(struct ch_header));
    if (!hw->scratch) {
        free(hw);
        return CH_ENOMEM;
    }
    w->proto_data = hw;
    return 0;
}

static void h1_worker_cleanup(struct ch_worker *w)
{
    struct h1_worker *hw = w->proto_data;
    if (!hw) return;
    while (hw->free_reqs) {
        struct ch_request *r = hw->free_reqs;
        hw->free_reqs = r->_next;
        req_free(r);
    }
    free(hw->scratch);
    free(hw);
    w->proto_data = NULL;
}

const struct ch__proto ch__h1_proto = {
    .conn_size = sizeof(struct h1_conn),
    .worker_init = h1_worker_init,
    .worker_cleanup = h1_worker_cleanup,
    .on_open = h1_open,
    .on_event = h1_event,
    .on_tick = h1_tick,
    .worker_tick = h1_worker_tick,
    .on_shutdown = h1_shutdown,
};
