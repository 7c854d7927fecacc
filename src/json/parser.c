/* The JSON parser: one forward pass over the text, appending nodes to the tape.
 *
 * Containers are tracked on a fixed stack of CH_JSON_MAX_DEPTH entries instead of recursion, so
 * hostile nesting costs neither C stack nor time. The text is never read outside [src, end):
 * eight-byte loads happen only while eight bytes remain. */
#include <stdlib.h>

#include "json/internal.h"

/* Whitespace per RFC 8259: space, tab, LF, CR. */
static const uint8_t is_space[256] = {['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1};

/* Bytes a string scan stops at: controls, '"', '\\', and 0x80 and above (UTF-8 to check). */
static const uint8_t string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static inline const char *skip_space(const char *p, const char *end)
{
    /* Compact text has no whitespace between tokens: one comparison decides. */
    if (p < end && (unsigned char)*p > ' ') return p;
    while (p < end && is_space[(unsigned char)*p]) p++;
    return p;
}

static inline int hex_value(unsigned c)
{
    if (c - '0' < 10) return (int)(c - '0');
    c |= 0x20;
    if (c - 'a' < 6) return (int)(c - 'a' + 10);
    return -1;
}

/* The code unit of the four hex digits at p, or -1. */
static inline long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)p[i]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Decoded strings go to one pool per parse, allocated at the first escaped string with room for
 * the rest of the document: a decoded string (plus its NUL) is never longer than its quoted
 * text, so every later string fits too, and the scanner may store a whole scan block ahead. */
struct strings {
    struct ch_arena *arena;
    char *cur; /* NULL until the first escaped string */
};

static char *put_utf8(char *d, unsigned long cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xc0 | cp >> 6);
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xe0 | cp >> 12);
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *d++ = (char)(0xf0 | cp >> 18);
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    }
    return d;
}

/* Decodes the escape at p (a backslash) to *d; returns the text after it, or NULL. */
static const char *escape(const char *p, const char *end, char **d, struct ch__json_failure *f)
{
    if (end - p < 2) {
        f->at = end, f->reason = "unterminated string";
        return NULL;
    }
    char c;
    switch (p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': c = 0; break;
    default: f->at = p, f->reason = "invalid escape sequence"; return NULL;
    }
    if (c) {
        *(*d)++ = c;
        return p + 2;
    }
    long u = end - p >= 6 ? hex4(p + 2) : -1;
    if (u < 0) {
        f->at = p, f->reason = "invalid \\u escape";
        return NULL;
    }
    if (u >= 0xdc00 && u <= 0xdfff) {
        f->at = p, f->reason = "lone surrogate in \\u escape";
        return NULL;
    }
    if (u < 0xd800 || u > 0xdbff) {
        *d = put_utf8(*d, (unsigned long)u);
        return p + 6;
    }
    /* A high surrogate must be followed by an escaped low surrogate. */
    long lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
    if (lo < 0xdc00 || lo > 0xdfff) {
        f->at = p, f->reason = "lone surrogate in \\u escape";
        return NULL;
    }
    *d = put_utf8(*d, 0x10000 + ((unsigned long)(u - 0xd800) << 10) + (unsigned long)(lo - 0xdc00));
    return p + 12;
}

/* The first byte in [p, end) that a string scan stops at (see string_stop), or end. A short
 * tail is checked with one block load that ends at `end` when the text is that long. */
static inline const char *scan(const char *p, const char *end, const char *src)
{
    while (end - p >= CH__JSON_SCAN) {
        unsigned k = ch__json_stop(p, 1);
        if (k < CH__JSON_SCAN) return p + k;
        p += CH__JSON_SCAN;
    }
    unsigned r = (unsigned)(end - p);
    if (r == 0) return end;
    if (end - src >= CH__JSON_SCAN) return p + ch__json_stop_tail(end, r, 1);
    while (p < end && !string_stop[(unsigned char)*p]) p++;
    return p;
}

static const char *bad_utf8(const char *at, struct ch__json_failure *f)
{
    f->at = at, f->reason = "invalid UTF-8";
    return NULL;
}

/* Advances over plain string content (ASCII other than '"', '\\' and controls, and well-formed
 * UTF-8), copying it to *d unless d is NULL. Returns the first byte that is not plain, or end;
 * NULL after malformed UTF-8. A block is classified once and every UTF-8 sequence in it checked
 * from that one classification; with d, whole blocks are stored ahead (the pool has room). */
static inline __attribute__((always_inline)) const char *
plain(const char *p, const char *end, const char *src, char **d, struct ch__json_failure *f)
{
    char *o = d ? *d : NULL; /* only used, and only moved, when d is given */
    while (end - p >= CH__JSON_SCAN) {
        if (d) memcpy(o, p, CH__JSON_SCAN);
        unsigned k = ch__json_stop(p, 1);
        if (k == CH__JSON_SCAN || (unsigned char)p[k] < 0x80) {
            /* ASCII up to a stop, or no stop in the block: the common cases. */
            p += k;
            if (d) o += k;
            if (k < CH__JSON_SCAN) goto out;
            continue;
        }
        unsigned special, high;
        ch__json_classify(p, &special, &high);
        unsigned stop = special ? (unsigned)__builtin_ctz(special) : CH__JSON_SCAN;
        unsigned h = high & ((1u << stop) - 1); /* non-ASCII bytes before the stop */
        unsigned i = stop;
        if (h) {
            i = (unsigned)__builtin_ctz(h);
            for (;;) {
                unsigned n = ch__json_utf8_seq((const unsigned char *)p + i, (size_t)(end - p) - i);
                if (!n) return bad_utf8(p + i, f);
                i += n;
                if (i >= stop) break; /* past the block: the sequence crossed its end */
                h = high & ((1u << stop) - 1) & ~((1u << i) - 1);
                if (!h) {
                    i = stop;
                    break;
                }
                i = (unsigned)__builtin_ctz(h);
            }
            /* Up to three bytes of a sequence that crossed the block's end. */
            if (d)
                for (unsigned j = CH__JSON_SCAN; j < i; j++) o[j] = p[j];
        }
        p += i;
        if (d) o += i;
        if (i == stop && stop < CH__JSON_SCAN) break;
    }
    if (end - p < CH__JSON_SCAN) {
        for (;;) {
            const char *q = scan(p, end, src);
            if (d) {
                memcpy(o, p, (size_t)(q - p));
                o += q - p;
            }
            p = q;
            if (p == end || (unsigned char)*p < 0x80) break;
            unsigned n = ch__json_utf8_seq((const unsigned char *)p, (size_t)(end - p));
            if (!n) return bad_utf8(p, f);
            if (d) {
                memcpy(o, p, n);
                o += n;
            }
            p += n;
        }
    }
out:
    if (d) *d = o;
    return p;
}

/* The rest of a string with escapes, from p (the first backslash): decoded into the pool while
 * being validated. Returns the text after the closing quote, or NULL. */
static const char *parse_escaped(const char *start, const char *p, const char *end, const char *src,
                                 struct ch_json_value *out, struct strings *pool,
                                 struct ch__json_failure *f)
{
    if (!pool->cur) {
        pool->cur = ch_arena_alloc(pool->arena, (size_t)(end - start) + 2 * CH__JSON_SCAN);
        if (!pool->cur) {
            f->at = NULL, f->reason = NULL; /* out of memory */
            return NULL;
        }
    }
    char *d0 = pool->cur, *d = d0;
    memcpy(d, start, (size_t)(p - start));
    d += p - start;
    for (;;) {
        unsigned c = (unsigned char)*p;
        if (c == '"') break;
        if (c == '\\') {
            if (!(p = escape(p, end, &d, f))) return NULL;
        } else {
            f->at = p, f->reason = "control character in string";
            return NULL;
        }
        if (!(p = plain(p, end, src, &d, f))) return NULL;
        if (p == end) {
            f->at = end, f->reason = "unterminated string";
            return NULL;
        }
    }
    *d = '\0';
    out->tag = CH_JSON_STRING | CH__JSON_NUL_TERM;
    out->len = (uint32_t)(d - d0);
    out->u.s = d0;
    pool->cur = d + 1;
    return p + 1;
}

/* Parses a string whose opening quote precedes p into *out; returns the text after the closing
 * quote, or NULL. Strings without escapes stay in the source. */
static inline __attribute__((always_inline)) const char *
parse_string(const char *p, const char *end, const char *src, struct ch_json_value *out,
             struct strings *pool, struct ch__json_failure *f)
{
    const char *start = p;
    unsigned k;
    if (end - p >= CH__JSON_SCAN ? ch__json_quote_first(p, &k)
                                 : end - src >= CH__JSON_SCAN &&
                                       ch__json_quote_first_tail(end, (unsigned)(end - p), &k)) {
        out->tag = CH_JSON_STRING;
        out->len = k;
        out->u.s = start;
        return p + k + 1;
    }
    if (!(p = plain(p, end, src, NULL, f))) return NULL;
    if (p == end) {
        f->at = end, f->reason = "unterminated string";
        return NULL;
    }
    unsigned c = (unsigned char)*p;
    if (c == '"') {
        out->tag = CH_JSON_STRING;
        out->len = (uint32_t)(p - start);
        out->u.s = start;
        return p + 1;
    }
    if (c == '\\') return parse_escaped(start, p, end, src, out, pool, f);
    f->at = p, f->reason = "control character in string";
    return NULL;
}

/* Fills *err for a failure at `at`: line and column are counted up to it. */
static void locate(const char *src, const char *at, const char *reason, struct ch_json_error *err)
{
    if (!err) return;
    uint32_t line = 1, column = 1;
    for (const char *q = src; q < at; q++) {
        if (*q == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)*q & 0xc0) != 0x80) {
            column++;
        }
    }
    err->reason = reason;
    err->line = line;
    err->column = column;
    err->offset = (size_t)(at - src);
}

/* Doubles the tape inside the arena (the old copy is abandoned to it). */
static struct ch_json_value *grow(struct ch_arena *arena, struct ch_json_value *tape, size_t n,
                                  size_t *cap)
{
    struct ch_json_value *t = ch_arena_alloc(arena, *cap * 2 * sizeof(*t));
    if (!t) return NULL;
    memcpy(t, tape, n * sizeof(*t));
    *cap *= 2;
    return t;
}

int ch_json_parse(const char *src, size_t len, struct ch_arena *arena,
                  const struct ch_json_value **root, struct ch_json_error *err)
{
    if (len > UINT32_MAX) return CH_ERANGE;
    const char *p = src, *end = src + len;
    /* Compact documents average six to ten bytes a node; the tape doubles if that was not
     * enough. `v` is the next node; `limit` leaves room for a key and its value. */
    size_t cap = len / 6 + 8;
    struct ch_json_value *t = ch_arena_alloc(arena, cap * sizeof(*t));
    if (!t) return CH_ENOMEM;
    struct ch_json_value *v = t, *limit = t + cap - 2;
    /* The innermost open container lives in registers (tape index, children so far, kind);
     * the outer ones on these stacks. */
    uint32_t open_at[CH_JSON_MAX_DEPTH], open_count[CH_JSON_MAX_DEPTH];
    uint32_t at = 0, count = 0;
    int depth = 0, in_array = 0;
    struct ch__json_failure f = {NULL, NULL};
    struct strings pool = {arena, NULL};

value:
    p = skip_space(p, end);
    if (p == end) goto truncated;
    if (v >= limit) {
        size_t n = (size_t)(v - t);
        if (!(t = grow(arena, t, n, &cap))) return CH_ENOMEM;
        v = t + n, limit = t + cap - 2;
    }
    /* Strings first: the most common value, and cheaper to test for than a jump table. */
    if (*p == '"') {
        if (!(p = parse_string(p + 1, end, src, v, &pool, &f))) goto failed;
        v++;
        goto after_value;
    }
    switch (*p) {
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        if (!(p = ch__json_parse_number(p, end, v, arena, &f))) goto failed;
        v++;
        goto after_value;
    case '{':
    case '[': {
        if (depth == CH_JSON_MAX_DEPTH) {
            f.at = p, f.reason = "nesting too deep";
            goto failed;
        }
        int obj = *p == '{';
        v->tag = obj ? CH_JSON_OBJECT : CH_JSON_ARRAY;
        if (depth) {
            open_at[depth - 1] = at;
            open_count[depth - 1] = count;
        }
        depth++;
        at = (uint32_t)(v - t);
        count = 0;
        in_array = !obj;
        v++;
        p = skip_space(p + 1, end);
        if (p < end && *p == (obj ? '}' : ']')) {
            p++;
            goto close;
        }
        if (obj) goto key;
        goto value;
    }
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0) goto bad_literal;
        v->tag = CH_JSON_BOOL, v->u.i = 1, v++, p += 4;
        goto after_value;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0) goto bad_literal;
        v->tag = CH_JSON_BOOL, v->u.i = 0, v++, p += 5;
        goto after_value;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0) goto bad_literal;
        v->tag = CH_JSON_NULL, v->u.i = 0, v++, p += 4;
        goto after_value;
    default: f.at = p, f.reason = "expected a value"; goto failed;
    }

after_value:
    if (depth == 0) goto done;
    count++;
    p = skip_space(p, end);
    if (p == end) goto truncated;
    if (*p == ',') {
        p++;
        if (in_array) goto value;
        p = skip_space(p, end);
        goto key;
    }
    if (*p == (in_array ? ']' : '}')) {
        p++;
        goto close;
    }
    f.at = p, f.reason = in_array ? "expected ',' or ']'" : "expected ',' or '}'";
    goto failed;

close:
    t[at].len = count;
    t[at].u.span = (uint64_t)(v - t) - at;
    if (--depth) {
        at = open_at[depth - 1];
        count = open_count[depth - 1];
        in_array = ch__json_type(&t[at]) == CH_JSON_ARRAY;
    }
    goto after_value;

key:
    if (p == end) goto truncated;
    if (*p != '"') {
        f.at = p, f.reason = "expected a string key";
        goto failed;
    }
    /* limit keeps room for the key; its value checks again. */
    if (!(p = parse_string(p + 1, end, src, v, &pool, &f))) goto failed;
    v++;
    if (p == end || *p != ':') {
        p = skip_space(p, end);
        if (p == end) goto truncated;
        if (*p != ':') {
            f.at = p, f.reason = "expected ':'";
            goto failed;
        }
    }
    p++;
    goto value;

done:
    p = skip_space(p, end);
    if (p != end) {
        f.at = p, f.reason = "unexpected data after the value";
        goto failed;
    }
    *root = t;
    return 0;

bad_literal:
    f.at = p, f.reason = "invalid literal";
    goto failed;
truncated:
    f.at = end, f.reason = "unexpected end of input";
failed:
    if (!f.reason) return CH_ENOMEM;
    locate(src, f.at, f.reason, err);
    return CH_EINVAL;
}
