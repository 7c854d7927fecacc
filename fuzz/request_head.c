/* Fuzzes ch_http_parse_head(): the whole input, and the same input delivered in two reads.
 *
 * The first two bytes of the input choose where the head is split; the rest is the request.
 * Checked on every input:
 *   - the result is a head length in (0, min(len, max_head)], CH_INCOMPLETE or a CH_EHTTP_*
 *     code that ch_http_error_status() maps to a 4xx/5xx status;
 *   - every slice of a parsed head lies inside the head, num_headers <= max_headers, names
 *     are non-empty and values hold no CR, LF or NUL;
 *   - the prefix before the split gives CH_INCOMPLETE or the whole's error (or, once it holds
 *     the whole head, the whole's result), and prefix + rest, parsed in a buffer that grew
 *     as a connection's does, gives exactly the whole's result and slices;
 *   - a parsed head gives the same result when it is all the buffer holds.
 * Buffers are exact-size heap copies, and on ASan builds the bytes past the part being
 * parsed are poisoned, so any read past `len` is caught. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/error.h"
#include "chopin/http.h"

#include "util/asan.h"

#define POISON   CH__POISON
#define UNPOISON CH__UNPOISON

enum { MAX_HEADERS = 24 };

/* Small limits so that the limit paths (414, 431, 413, too many fields) are reachable. */
static const struct ch_http_limits lim = {
    .max_head = 2048, .max_headers = MAX_HEADERS, .max_body = 1 << 20};

#define FAIL(...)                                      \
    do {                                               \
        fprintf(stderr, "request_head: " __VA_ARGS__); \
        fputc('\n', stderr);                           \
        abort();                                       \
    } while (0)

static int inside(struct ch_str s, const char *buf, size_t len)
{
    if (s.len == 0) return 1; /* an empty slice may point anywhere (or be NULL) */
    return s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

static void check_slice(const char *what, struct ch_str s, const char *buf, size_t len)
{
    if (!inside(s, buf, len)) FAIL("%s slice lies outside the head", what);
}

static void check_head(const struct ch_http_head *h, const char *buf, int n)
{
    size_t len = (size_t)n;
    if (h->method.len == 0) FAIL("empty method");
    check_slice("method", h->method, buf, len);
    check_slice("target", h->target, buf, len);
    check_slice("query", h->query, buf, len);
    check_slice("host", h->host, buf, len);
    /* An absolute-form target without a path asks for "/", which is a literal. */
    if (!(h->path.len == 1 && h->path.ptr[0] == '/')) check_slice("path", h->path, buf, len);
    if (h->path.len == 0) FAIL("empty path");
    if (h->minor_version != 0 && h->minor_version != 1) FAIL("minor version %d", h->minor_version);
    if (h->num_headers > MAX_HEADERS) FAIL("%zu headers", h->num_headers);
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct ch_header *f = &h->headers[i];
        if (f->name.len == 0) FAIL("empty field name");
        check_slice("field name", f->name, buf, len);
        check_slice("field value", f->value, buf, len);
        for (size_t j = 0; j < f->value.len; j++) {
            char c = f->value.ptr[j];
            if (c == '\r' || c == '\n' || c == '\0') FAIL("control byte in field value");
        }
    }
    if (h->body_kind == CH_BODY_LENGTH && h->content_length == 0) FAIL("empty length body");
    if (h->body_kind == CH_BODY_LENGTH && h->content_length > lim.max_body) FAIL("body limit");
    if (h->body_kind == CH_BODY_CHUNKED && h->minor_version == 0) FAIL("chunked HTTP/1.0");
}

static void check_result(int rc, size_t len)
{
    if (rc > 0) {
        if ((size_t)rc > len || (size_t)rc > lim.max_head) FAIL("length %d of %zu", rc, len);
        return;
    }
    if (rc == CH_INCOMPLETE) {
        if (len >= lim.max_head) FAIL("incomplete at the head limit");
        return;
    }
    if (rc > CH_EHTTP_REQUEST_LINE || rc <= CH_EHTTP_REQUEST_LINE - 100)
        FAIL("not a parse error: %d", rc);
    int status = ch_http_error_status(rc);
    if (status < 400 || status > 599) FAIL("error %d maps to status %d", rc, status);
}

/* Slices of two parses match when they sit at the same offset of their buffers (`n` bytes
 * of head each), or are both the same literal outside them. */
static int same_slice(struct ch_str a, const char *abuf, struct ch_str b, const char *bbuf,
                      size_t n)
{
    if (a.len != b.len) return 0;
    if (a.len == 0) return 1;
    int ain = inside(a, abuf, n), bin = inside(b, bbuf, n);
    if (ain != bin) return 0;
    if (!ain) return memcmp(a.ptr, b.ptr, a.len) == 0;
    return a.ptr - abuf == b.ptr - bbuf;
}

static void compare(const struct ch_http_head *a, const char *abuf, const struct ch_http_head *b,
                    const char *bbuf, size_t n)
{
    if (a->method_id != b->method_id || a->minor_version != b->minor_version ||
        a->num_headers != b->num_headers || a->body_kind != b->body_kind ||
        a->content_length != b->content_length || a->keep_alive != b->keep_alive ||
        a->expect_continue != b->expect_continue)
        FAIL("split parse differs from whole parse");
    if (!same_slice(a->method, abuf, b->method, bbuf, n) ||
        !same_slice(a->target, abuf, b->target, bbuf, n) ||
        !same_slice(a->path, abuf, b->path, bbuf, n) ||
        !same_slice(a->query, abuf, b->query, bbuf, n) ||
        !same_slice(a->host, abuf, b->host, bbuf, n))
        FAIL("split parse slices differ");
    for (size_t i = 0; i < a->num_headers; i++)
        if (!same_slice(a->headers[i].name, abuf, b->headers[i].name, bbuf, n) ||
            !same_slice(a->headers[i].value, abuf, b->headers[i].value, bbuf, n))
            FAIL("split parse field %zu differs", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ch_header wh[MAX_HEADERS], sh[MAX_HEADERS];
    struct ch_http_head whole_head, split_head;
    if (size < 2) return 0;
    size_t len = size - 2;
    size_t split = ((size_t)data[0] | (size_t)data[1] << 8) % (len + 1);

    char *buf = malloc(len ? len : 1);
    if (!buf) return 0;
    memcpy(buf, data + 2, len);
    int whole = ch_http_parse_head(buf, len, &whole_head, wh, &lim);
    check_result(whole, len);
    if (whole > 0) {
        check_head(&whole_head, buf, whole);
        /* The head alone, with nothing after it, parses the same. */
        struct ch_http_head alone;
        char *only = malloc((size_t)whole);
        if (only) {
            memcpy(only, buf, (size_t)whole);
            if (ch_http_parse_head(only, (size_t)whole, &alone, sh, &lim) != whole)
                FAIL("head alone parses differently");
            compare(&whole_head, buf, &alone, only, (size_t)whole);
            free(only);
        }
    }

    /* Two reads into one buffer that grows, as a connection's does: first `split` bytes
     * with the rest of the buffer poisoned, then all of it. */
    char *grow = malloc(len ? len : 1);
    if (!grow) {
        free(buf);
        return 0;
    }
    memcpy(grow, buf, split);
    POISON(grow + split, len - split);
    int first = ch_http_parse_head(grow, split, &split_head, sh, &lim);
    UNPOISON(grow + split, len - split);
    check_result(first, split);
    if (whole > 0 && split >= (size_t)whole) {
        if (first != whole) FAIL("prefix holding the head gave %d, whole %d", first, whole);
        compare(&whole_head, buf, &split_head, grow, (size_t)whole);
    } else if (whole > 0 || whole == CH_INCOMPLETE) {
        if (first != CH_INCOMPLETE) FAIL("prefix %zu of a valid head gave %d", split, first);
    } else if (first != CH_INCOMPLETE && first != whole) {
        FAIL("prefix %zu gave %d, whole gave %d", split, first, whole);
    }
    memcpy(grow + split, buf + split, len - split);
    int second = ch_http_parse_head(grow, len, &split_head, sh, &lim);
    if (second != whole) FAIL("prefix + rest gave %d, whole gave %d", second, whole);
    if (whole > 0) compare(&whole_head, buf, &split_head, grow, (size_t)whole);

    free(grow);
    free(buf);
    return 0;
}
