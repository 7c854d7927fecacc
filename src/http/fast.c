/* Raw routes: performance mode's answers written straight into the output buffer, with no
 * request object, no routing, no middleware and no allocation (see ch_app_raw_get()). */
#include "chopin/app.h"
#include "chopin/error.h"
#include "http/engine.h"
#include "util/date.h"

_Static_assert(CH_HTTP_DATE_LEN == CH__DATE_LEN, "the public Date length is the cache's");

int ch__fast_serve(const struct ch__http_app *app, const struct ch_http_head *h, struct ch_buf *out,
                   const char *date)
{
    if (h->method_id != CH_GET || !h->keep_alive || h->minor_version != 1 ||
        h->target.len != h->path.len)
        return 0;
    for (size_t i = 0; i < app->nraw; i++) {
        const struct ch__raw_route *r = &app->raw[i];
        if (r->len != h->path.len || memcmp(r->path, h->path.ptr, r->len) != 0) continue;
        size_t start = out->len;
        if (r->fn(out, date) == 0) return 1;
        out->len = start; /* a failed writer leaves nothing: the request is routed instead */
        return 0;
    }
    return 0;
}

static void put(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

#define PUT(p, lit) put(&(p), (lit), sizeof(lit) - 1)

/* Everything up to the Content-Length value: status line, Server, Content-Type, then the
 * Content-Length name. The buffer has room (the caller reserved it). */
static char *head_start(char *p, int status, const char *content_type, size_t ctlen)
{
    if (status == 200) {
        PUT(p, "HTTP/1.1 200 OK\r\nServer: chopin\r\nContent-Type: ");
    } else {
        const char *reason = ch_http_status_text(status);
        PUT(p, "HTTP/1.1 ");
        *p++ = (char)('0' + status / 100 % 10);
        *p++ = (char)('0' + status / 10 % 10);
        *p++ = (char)('0' + status % 10);
        *p++ = ' ';
        put(&p, reason, strlen(reason));
        PUT(p, "\r\nServer: chopin\r\nContent-Type: ");
    }
    put(&p, content_type, ctlen);
    PUT(p, "\r\nContent-Length: ");
    return p;
}

static char *head_end(char *p, const char *date)
{
    PUT(p, "\r\nDate: ");
    memcpy(p, date, CH__DATE_LEN);
    p += CH__DATE_LEN;
    PUT(p, "\r\n\r\n");
    return p;
}

/* Status line, headers and separators: the fixed text around the variable parts. */
enum { HEAD_ROOM = 128 + CH__DATE_LEN };

int ch_raw_head(struct ch_buf *out, int status, const char *date, const char *content_type,
                size_t content_length)
{
    size_t ctlen = strlen(content_type);
    if (status < 100 || status > 599) status = 500;
    if (ch_buf_reserve(out, HEAD_ROOM + ctlen) != 0) return CH_ENOMEM;
    char *p = head_start(out->ptr + out->len, status, content_type, ctlen);
    p += ch_u64_to_dec(p, content_length);
    p = head_end(p, date);
    out->len = (size_t)(p - out->ptr);
    return 0;
}

/* The placeholder holds two digits, which most small bodies need; ch_raw_end() moves the body
 * in the rare case the length needs another width. */
int ch_raw_begin(struct ch_buf *out, int status, const char *date, const char *content_type,
                 size_t *mark)
{
    size_t ctlen = strlen(content_type);
    if (status < 100 || status > 599) status = 500;
    if (ch_buf_reserve(out, HEAD_ROOM + ctlen) != 0) return CH_ENOMEM;
    char *p = head_start(out->ptr + out->len, status, content_type, ctlen);
    *mark = (size_t)(p - out->ptr);
    PUT(p, "00");
    p = head_end(p, date);
    out->len = (size_t)(p - out->ptr);
    return 0;
}

int ch_raw_end(struct ch_buf *out, size_t mark)
{
    size_t body_at = mark + 2 + 8 + CH__DATE_LEN + 4; /* "00", "\r\nDate: ", date, "\r\n\r\n" */
    if (body_at > out->len) return CH_EINVAL;
    char digits[20];
    size_t nd = ch_u64_to_dec(digits, out->len - body_at);
    if (nd != 2) {
        if (ch_buf_reserve(out, nd) != 0) return CH_ENOMEM;
        memmove(out->ptr + mark + nd, out->ptr + mark + 2, out->len - mark - 2);
        out->len = out->len + nd - 2;
    }
    memcpy(out->ptr + mark, digits, nd);
    return 0;
}
