/* Response serialization into the connection's output buffer, and the response helpers. */
#include "chopin/error.h"
#include "core/conn.h"
#include "http/engine.h"
#include "util/date.h"

/* The request's connection starts with struct ch__conn (see h1.c). */
static struct ch__conn *conn_of(struct ch_request *r)
{
    return r->_conn;
}

static int write_status_line(struct ch_buf *out, int status, const char *date)
{
    const char *reason = ch_http_status_text(status);
    size_t rlen = strlen(reason);
    if (ch_buf_reserve(out, 64 + rlen + CH__DATE_LEN) != 0) return CH_ENOMEM;
    char *p = out->ptr + out->len;
    memcpy(p, "HTTP/1.1 ", 9);
    p[9] = (char)('0' + status / 100 % 10);
    p[10] = (char)('0' + status / 10 % 10);
    p[11] = (char)('0' + status % 10);
    p[12] = ' ';
    p += 13;
    memcpy(p, reason, rlen);
    p += rlen;
    static const char mid[] = "\r\nServer: chopin\r\nDate: ";
    memcpy(p, mid, sizeof(mid) - 1);
    p += sizeof(mid) - 1;
    memcpy(p, date, CH__DATE_LEN);
    p += CH__DATE_LEN;
    memcpy(p, "\r\n", 2);
    out->len = (size_t)(p + 2 - out->ptr);
    return 0;
}

/* Whether a response with this status carries a body (not 1xx, 204 or 304). */
static int has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

int ch__write_head(struct ch_buf *o, int status, const char *date, struct ch_str content_type,
                   size_t body_len)
{
    if (write_status_line(o, status, date) != 0 || ch_buf_reserve(o, 64 + content_type.len) != 0)
        return CH_ENOMEM;
    if (content_type.len) {
        ch_buf_append(o, "Content-Type: ", 14);
        ch_buf_append_str(o, content_type);
        ch_buf_append(o, "\r\n", 2);
    }
    if (has_body(status)) {
        ch_buf_append(o, "Content-Length: ", 16);
        ch_buf_append_u64(o, body_len);
        ch_buf_append(o, "\r\n", 2);
    }
    return 0;
}

int ch__h1_write_response(struct ch_request *r)
{
    struct ch__conn *c = conn_of(r);
    struct ch_response *res = &r->res;
    if (ch__conn_wbuf_prepare(c) != 0) return CH_ENOMEM;
    struct ch_buf *o = &c->wbuf;
    size_t need = 160 + res->content_type.len + res->body.len;
    for (size_t i = 0; i < res->num_headers; i++)
        need += res->headers[i].name.len + res->headers[i].value.len + 4;
    if (ch_buf_reserve(o, need) != 0) return CH_ENOMEM;
    int status = res->status >= 100 && res->status <= 599 ? res->status : 500;

    ch__write_head(o, status, c->worker->date, res->content_type, res->body.len);
    for (size_t i = 0; i < res->num_headers; i++) {
        ch_buf_append_str(o, res->headers[i].name);
        ch_buf_append(o, ": ", 2);
        ch_buf_append_str(o, res->headers[i].value);
        ch_buf_append(o, "\r\n", 2);
    }
    if (!r->_keep_alive) ch_buf_append(o, "Connection: close\r\n", 19);
    else if (r->minor_version == 0) ch_buf_append(o, "Connection: keep-alive\r\n", 24);
    ch_buf_append(o, "\r\n", 2);
    if (has_body(status) && r->method != CH_HEAD) ch_buf_append(o, res->body.ptr, res->body.len);
    return 0;
}

const struct ch_str *ch__request_header_str(const struct ch_request *r, struct ch_str name)
{
    for (size_t i = 0; i < r->num_headers; i++)
        if (ch_str_case_eq(r->headers[i].name, name)) return &r->headers[i].value;
    return NULL;
}

const struct ch_str *ch_request_header(const struct ch_request *r, const char *name)
{
    return ch__request_header_str(r, ch_str_cstr(name));
}

int ch_res_header(struct ch_request *r, struct ch_str name, struct ch_str value)
{
    struct ch_response *res = &r->res;
    if (res->num_headers == res->_cap_headers) {
        size_t cap = res->_cap_headers ? res->_cap_headers * 2 : 8;
        struct ch_header *h = ch_arena_alloc(&r->arena, cap * sizeof(*h));
        if (!h) return CH_ENOMEM;
        if (res->num_headers) memcpy(h, res->headers, res->num_headers * sizeof(*h));
        res->headers = h;
        res->_cap_headers = cap;
    }
    char *n = ch_arena_strndup(&r->arena, name.ptr, name.len);
    char *v = ch_arena_strndup(&r->arena, value.ptr, value.len);
    if (!n || !v) return CH_ENOMEM;
    res->headers[res->num_headers++] = (struct ch_header){{n, name.len}, {v, value.len}};
    return 0;
}

struct ch_header *ch_res_find_header(struct ch_request *r, const char *name)
{
    struct ch_str n = ch_str_cstr(name);
    for (size_t i = 0; i < r->res.num_headers; i++)
        if (ch_str_case_eq(r->res.headers[i].name, n)) return &r->res.headers[i];
    return NULL;
}

int ch_res_send_text(struct ch_request *r, int status, const char *content_type,
                     struct ch_str body)
{
    r->res.status = status;
    r->res.content_type = ch_str_cstr(content_type);
    r->res.body.len = 0;
    if (ch_buf_append_str(&r->res.body, body) != 0) {
        r->res.status = 500;
        r->res.body.len = 0;
    }
    return ch_res_send(r);
}
