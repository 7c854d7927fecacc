/* The request head parser (RFC 9112 sections 2-7, strictly).
 *
 * Stateless: each call scans from the start of the buffer. A head is at most max_head bytes,
 * so re-scanning after a short read costs little and keeps the parser free of resumable state,
 * which is where incremental parsers usually hide their bugs. The scan never reads past
 * buf + min(len, max_head). */
#include "chopin/error.h"
#include "chopin/http.h"

enum {
    C_TOKEN = 1, /* tchar */
    C_VALUE = 2, /* field-vchar, SP, HTAB: what a field value may contain */
    C_HOST = 4,  /* what a Host value or an authority may contain */
};

static unsigned char cls[256];

__attribute__((constructor)) static void init_classes(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char f = 0;
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (alnum || (c && strchr("!#$%&'*+-.^_`|~", c))) f |= C_TOKEN;
        if ((c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t') f |= C_VALUE;
        if (alnum || (c && strchr("-._~!$&'()*+,;=:[]%", c))) f |= C_HOST;
        cls[c] = f;
    }
}

#define IS(c, f) (cls[(unsigned char)(c)] & (f))

#if defined(__SSE2__)
#include <emmintrin.h>

/* 16 bytes at a time: the mask of bytes that are controls other than HTAB, or DEL - the end
 * of a field value (CR) or an error. With `space_too`, SP and HTAB end the run as well: the
 * request-target, which is bounded by SP and holds only visible characters (and, unlike a
 * field value, no obs-text: bytes >= 0x80 end it too). */
static inline unsigned stop_mask(const char *p, int target)
{
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i flip = _mm_xor_si128(v, _mm_set1_epi8((char)0x80));
    /* Signed compares of the flipped bytes are unsigned compares of the bytes. */
    __m128i ctl = _mm_cmplt_epi8(flip, _mm_set1_epi8((char)(0x20 ^ 0x80)));
    __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    __m128i bad = _mm_or_si128(ctl, del);
    if (target) {
        __m128i sp = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
        __m128i high = _mm_cmplt_epi8(v, _mm_setzero_si128());
        bad = _mm_or_si128(bad, _mm_or_si128(sp, high));
    } else {
        bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), bad);
    }
    return (unsigned)_mm_movemask_epi8(bad);
}

/* Skips field-value bytes (VCHAR, obs-text, SP, HTAB); stops at the first other byte. */
static inline const char *skip_value(const char *p, const char *end)
{
    while (end - p >= 16) {
        unsigned m = stop_mask(p, 0);
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
    while (p < end && IS(*p, C_VALUE)) p++;
    return p;
}

/* Skips request-target bytes (0x21-0x7E). */
static inline const char *skip_target(const char *p, const char *end)
{
    while (end - p >= 16) {
        unsigned m = stop_mask(p, 1);
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
    while (p < end && (unsigned char)(*p - 0x21) < 0x5e) p++;
    return p;
}
#else
static inline const char *skip_value(const char *p, const char *end)
{
    while (p < end && IS(*p, C_VALUE)) p++;
    return p;
}

static inline const char *skip_target(const char *p, const char *end)
{
    while (p < end && (unsigned char)(*p - 0x21) < 0x5e) p++;
    return p;
}
#endif

enum { STAGE_LINE, STAGE_FIELDS };

struct scan {
    const char *buf, *end;
    int stage;
    unsigned seen_cl : 1, seen_te : 1, seen_host : 1, conn_close : 1, conn_keep : 1;
};

static int host_ok(struct ch_str v)
{
    for (size_t i = 0; i < v.len; i++)
        if (!IS(v.ptr[i], C_HOST)) return 0;
    return 1;
}

static int lower_eq(const char *p, size_t n, const char *lit)
{
    return ch_str_case_eq(ch_str_make(p, n), ch_str_make(lit, strlen(lit)));
}

/* Transfer-Encoding is a list of codings and only "chunked" alone is supported. When chunked
 * is last and appears once, the framing is clear and the other codings are merely not
 * implemented: 501 (RFC 9112 6.1, SHOULD). Anything else - chunked missing or not last, twice,
 * with parameters, empty elements - leaves the body length unknown: 400 (6.3, MUST). */
static int transfer_coding(struct ch_str v)
{
    if (lower_eq(v.ptr, v.len, "chunked")) return 0;
    size_t i = 0, chunked = 0, others = 0;
    int last_chunked = 0;
    while (i <= v.len) {
        size_t j = i;
        while (j < v.len && v.ptr[j] != ',') j++;
        struct ch_str t = ch_str_trim_ows(ch_str_make(v.ptr + i, j - i));
        if (t.len == 0) return CH_EHTTP_TRANSFER_ENCODING;
        for (size_t k = 0; k < t.len; k++)
            if (!IS(t.ptr[k], C_TOKEN)) return CH_EHTTP_TRANSFER_ENCODING;
        last_chunked = lower_eq(t.ptr, t.len, "chunked");
        if (last_chunked) chunked++;
        else others++;
        i = j + 1;
    }
    if (chunked == 1 && last_chunked && others) return CH_EHTTP_TE_UNSUPPORTED;
    return CH_EHTTP_TRANSFER_ENCODING;
}

/* Connection is a comma-separated list of tokens; only "close" and "keep-alive" matter. */
static void scan_connection(struct scan *s, struct ch_str v)
{
    size_t i = 0;
    while (i < v.len) {
        size_t j = i;
        while (j < v.len && v.ptr[j] != ',') j++;
        struct ch_str t = ch_str_trim_ows(ch_str_make(v.ptr + i, j - i));
        if (lower_eq(t.ptr, t.len, "close")) s->conn_close = 1;
        else if (lower_eq(t.ptr, t.len, "keep-alive")) s->conn_keep = 1;
        i = j + 1;
    }
}

/* Fields that decide framing or routing are checked as soon as their line is complete. */
static int field(struct scan *s, struct ch_http_head *h, const struct ch_header *f)
{
    const char *n = f->name.ptr;
    switch (f->name.len) {
    case 4:
        if (lower_eq(n, 4, "host")) {
            if (s->seen_host || !host_ok(f->value)) return CH_EHTTP_HOST;
            s->seen_host = 1;
            if (h->host.ptr == NULL) h->host = f->value;
        }
        break;
    case 6:
        if (lower_eq(n, 6, "expect") && lower_eq(f->value.ptr, f->value.len, "100-continue"))
            h->expect_continue = 1;
        break;
    case 10:
        if (lower_eq(n, 10, "connection")) scan_connection(s, f->value);
        break;
    case 14:
        if (lower_eq(n, 14, "content-length")) {
            /* One field, 1*DIGIT: "+5", "-1", "0x5", "5, 5" and "5, 6" are all refused,
             * since a proxy in front may have read them differently (RFC 9112 6.3). */
            if (s->seen_cl || ch_str_to_u64(f->value, &h->content_length) != 0)
                return CH_EHTTP_CONTENT_LENGTH;
            s->seen_cl = 1;
        }
        break;
    case 17:
        if (lower_eq(n, 17, "transfer-encoding")) {
            /* A second field line could be read as a list or as a replacement. */
            if (s->seen_te) return CH_EHTTP_TRANSFER_ENCODING;
            int rc = transfer_coding(f->value);
            if (rc != 0) return rc;
            s->seen_te = 1;
        }
        break;
    }
    return 0;
}

/* Splits origin-form and absolute-form targets into path and query; checks the others. */
static int target_form(struct ch_http_head *h)
{
    struct ch_str t = h->target;
    const char *q;
    if (h->method_id == CH_CONNECT) {
        /* CONNECT takes the authority-form and only it (RFC 9112 3.2.3). */
        if (!host_ok(t) || memchr(t.ptr, ':', t.len) == NULL) return CH_EHTTP_TARGET;
        h->path = t;
        return 0;
    }
    if (t.ptr[0] == '/') {
        h->path = t;
    } else if (t.len == 1 && t.ptr[0] == '*') {
        if (h->method_id != CH_OPTIONS) return CH_EHTTP_TARGET;
        h->path = t;
        return 0;
    } else {
        size_t skip;
        if (t.len > 7 && lower_eq(t.ptr, 7, "http://")) skip = 7;
        else if (t.len > 8 && lower_eq(t.ptr, 8, "https://")) skip = 8;
        else return CH_EHTTP_TARGET;
        const char *a = t.ptr + skip, *e = t.ptr + t.len, *p = a;
        while (p < e && *p != '/' && *p != '?') p++;
        struct ch_str authority = ch_str_make(a, (size_t)(p - a));
        if (authority.len == 0 || !host_ok(authority)) /* userinfo ("@") is refused too */
            return CH_EHTTP_TARGET;
        h->host = authority;
        /* An absolute-form target without a path asks for "/" (RFC 9112 3.2.2). */
        h->path = p < e && *p == '/' ? ch_str_make(p, (size_t)(e - p)) : CH_STR("/");
        if (p < e && *p == '?') {
            h->query = ch_str_make(p + 1, (size_t)(e - p - 1));
            return 0;
        }
    }
    if ((q = memchr(h->path.ptr, '?', h->path.len)) != NULL) {
        h->query = ch_str_make(q + 1, (size_t)(h->path.ptr + h->path.len - q - 1));
        h->path.len = (size_t)(q - h->path.ptr);
    }
    return 0;
}

/* Returns a pointer past the request line's CRLF, or NULL with *rc set. */
static const char *request_line(struct scan *s, const char *p, struct ch_http_head *h, int *rc)
{
    const char *end = s->end, *start;
    *rc = CH_INCOMPLETE;

    /* A server SHOULD ignore empty lines before the request line (RFC 9112 2.2). */
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2;
    if (p == end || (p[0] == '\r' && end - p == 1)) return NULL;

    start = p;
    while (p < end && IS(*p, C_TOKEN)) p++;
    if (p == end) return NULL;
    if (*p != ' ' || p == start) return (*rc = CH_EHTTP_REQUEST_LINE), NULL;
    h->method = ch_str_make(start, (size_t)(p - start));
    h->method_id = ch_method_parse(h->method);
    p++;

    start = p;
    p = skip_target(p, end);
    if (p == end) return NULL;
    if (*p == '\r' || *p == '\n') return (*rc = CH_EHTTP_HTTP09), NULL;
    if (*p != ' ') return (*rc = CH_EHTTP_TARGET), NULL;
    if (p == start) return (*rc = CH_EHTTP_REQUEST_LINE), NULL;
    h->target = ch_str_make(start, (size_t)(p - start));
    p++;

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF; checked byte by byte so that a
     * prefix is always "incomplete", never an error the whole line would not give. */
    static const char shape[] = "HTTP/0.0\r\n";
    for (int i = 0; i < 10; i++) {
        if (p + i == end) return NULL;
        char c = p[i];
        int ok = shape[i] == '0' ? (c >= '0' && c <= '9') : c == shape[i];
        if (!ok) return (*rc = i == 9 ? CH_EHTTP_BARE_CR : CH_EHTTP_REQUEST_LINE), NULL;
    }
    int major = p[5] - '0', minor = p[7] - '0';
    p += 10;

    if (major == 2 && minor == 0 && h->method.len == 3 && memcmp(h->method.ptr, "PRI", 3) == 0)
        return (*rc = CH_EHTTP_H2_PREFACE), NULL;
    if (major != 1) return (*rc = CH_EHTTP_VERSION), NULL;
    if (h->method_id < 0) return (*rc = CH_EHTTP_METHOD), NULL;
    h->minor_version = minor >= 1;
    if ((*rc = target_form(h)) != 0) return NULL;
    return p;
}

static int scan_head(struct scan *s, struct ch_http_head *h, struct ch_header *headers,
                     const struct ch_http_limits *lim)
{
    const char *end = s->end;
    int rc;
    const char *p = request_line(s, s->buf, h, &rc);
    if (!p) return rc;
    s->stage = STAGE_FIELDS;

    for (;;) {
        if (p == end) return CH_INCOMPLETE;
        if (*p == '\r') {
            if (end - p < 2) return CH_INCOMPLETE;
            if (p[1] != '\n') return CH_EHTTP_BARE_CR;
            p += 2;
            break;
        }
        if (*p == '\n') return CH_EHTTP_LINE_ENDING;
        if (*p == ' ' || *p == '\t') return CH_EHTTP_OBS_FOLD;

        const char *name = p;
        while (p < end && IS(*p, C_TOKEN)) p++;
        if (p == end) return CH_INCOMPLETE;
        /* Covers whitespace between the name and the colon (RFC 9112 5.1: MUST reject). */
        if (*p != ':' || p == name) return CH_EHTTP_FIELD_NAME;
        struct ch_str n = ch_str_make(name, (size_t)(p - name));
        p++;

        while (p < end && (*p == ' ' || *p == '\t')) p++;
        const char *value = p;
        p = skip_value(p, end);
        if (p == end) return CH_INCOMPLETE;
        if (*p == '\r') {
            if (end - p < 2) return CH_INCOMPLETE;
            if (p[1] != '\n') return CH_EHTTP_BARE_CR;
        } else {
            return *p == '\n' ? CH_EHTTP_LINE_ENDING : CH_EHTTP_FIELD_VALUE;
        }
        const char *vend = p;
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t')) vend--;
        p += 2;

        if (h->num_headers == lim->max_headers) return CH_EHTTP_TOO_MANY_FIELDS;
        struct ch_header *f = &headers[h->num_headers++];
        f->name = n;
        f->value = ch_str_make(value, (size_t)(vend - value));
        if ((rc = field(s, h, f)) != 0) return rc;
    }

    if (s->seen_te) {
        /* Transfer-Encoding in HTTP/1.0 means faulty framing (RFC 9112 6.1); with
         * Content-Length it is the classic smuggling vector (RFC 9112 6.3). */
        if (s->seen_cl) return CH_EHTTP_CL_AND_TE;
        if (h->minor_version == 0) return CH_EHTTP_TRANSFER_ENCODING;
        h->body_kind = CH_BODY_CHUNKED;
    } else if (s->seen_cl) {
        if (h->content_length > lim->max_body) return CH_EHTTP_BODY_TOO_LARGE;
        h->body_kind = h->content_length ? CH_BODY_LENGTH : CH_BODY_NONE;
    }
    if (h->minor_version == 1 && !s->seen_host) return CH_EHTTP_HOST;
    if (h->minor_version == 1) h->keep_alive = !s->conn_close;
    else h->keep_alive = s->conn_keep && !s->conn_close;
    if (h->minor_version == 0) h->expect_continue = 0;
    return (int)(p - s->buf);
}

int ch_http_parse_head(const char *buf, size_t len, struct ch_http_head *h,
                       struct ch_header *headers, const struct ch_http_limits *lim)
{
    size_t avail = len < lim->max_head ? len : lim->max_head;
    struct scan s = {.buf = buf, .end = buf + avail, .stage = STAGE_LINE};
    memset(h, 0, sizeof(*h));
    h->headers = headers;
    int rc = scan_head(&s, h, headers, lim);
    if (rc == CH_INCOMPLETE && len >= lim->max_head)
        return s.stage == STAGE_LINE ? CH_EHTTP_URI_TOO_LONG : CH_EHTTP_HEAD_TOO_LARGE;
    return rc;
}
