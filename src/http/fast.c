/* Raw routes: performance mode's answers written straight into the output buffer, with no
 * request object, no routing, no middleware and no allocation (see ch_app_raw_get()). */
#include <stdint.h>

#include "chopin/app.h"
#include "chopin/error.h"
#include "http/engine.h"
#include "util/date.h"

_Static_assert(CH_HTTP_DATE_LEN == CH__DATE_LEN, "the public Date length is the cache's");

/* Paths are a few bytes long, where a call to memcmp costs more than the comparison: 8 to 16
 * bytes take two overlapping word loads. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i]) return 0;
        return 1;
    }
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) return 0;
    }
    memcpy(&u, a + n - 8, 8);
    memcpy(&v, b + n - 8, 8);
    return u == v;
}

int ch__fast_serve(const struct ch__http_app *app, const struct ch_http_head *h, struct ch_buf *out,
                   const char *date)
{
    if (h->method_id != CH_GET || !h->keep_alive || h->minor_version != 1 ||
        h->target.len != h->path.len)
        return 0;
    for (size_t i = 0; i < app->nraw; i++) {
        const struct ch__raw_route *r = &app->raw[i];
        if (r->len != h->path.len || !same_bytes(r->path, h->path.ptr, r->len)) continue;
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

char *ch__raw_status(char *p, int status)
{
    if (status < 100 || status > 599) status = 500;
    const char *reason = ch_http_status_text(status);
    PUT(p, "HTTP/1.1 ");
    *p++ = (char)('0' + status / 100 % 10);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    put(&p, reason, strlen(reason));
    PUT(p, "\r\nServer: chopin\r\nContent-Type: ");
    return p;
}

/* The placeholder holds two digits, which most small bodies need; ch_raw_end() moves the body
 * in the rare case the length needs another width. */
int ch_raw_begin(struct ch_buf *out, int status, const char *date, const char *content_type,
                 size_t *mark)
{
    size_t ctlen = strlen(content_type);
    if (ch_buf_reserve(out, CH__RAW_HEAD_ROOM + ctlen) != 0) return CH_ENOMEM;
    char *start = out->ptr + out->len;
    char *end = ch__raw_head(start, status, date, content_type, ctlen, 10);
    /* "10" stands for the length: its two digits sit before "\r\nDate: ", date, "\r\n\r\n". */
    *mark = (size_t)(end - out->ptr) - (2 + 8 + CH__DATE_LEN + 4);
    out->len = (size_t)(end - out->ptr);
    return 0;
}

int ch_raw_end(struct ch_buf *out, size_t mark)
{
    size_t body_at = mark + 2 + 8 + CH__DATE_LEN + 4;
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
