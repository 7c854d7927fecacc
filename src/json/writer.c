/* The JSON writer: string escaping, doubles, raw fragments and parsed trees.
 *
 * Output goes straight into the buffer through a cursor; room is reserved up front for the
 * common case (the input length plus SLACK) and grown only when an escape expands the text. */
#include <math.h>

#include "json/internal.h"

/* Room kept past the text still to be copied: the quotes, a colon, one escape, a speculative
 * block copy, and TREE_SLACK: the tree writer keeps that much room past every node it writes,
 * enough for the closing brackets of every open container and a separator, so that only nodes
 * need to check. */
enum { TREE_SLACK = CH_JSON_MAX_DEPTH + 8, SLACK = 24 + CH__JSON_SCAN + TREE_SLACK };

/* Per byte: 0 copy as is, 1 escape, 2 start of a multi-byte (or invalid) UTF-8 sequence. */
static const uint8_t byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};

char *ch__json_fail(struct ch_json_writer *w, int err)
{
    if (!w->_err) w->_err = err;
    w->_state = CH__JSON_W_ERROR;
    return NULL;
}

int ch_json_writer_finish(struct ch_json_writer *w)
{
    if (w->_err) return w->_err;
    return w->_state == CH__JSON_W_DONE ? 0 : CH_EINVAL;
}

static int grow(struct ch_buf *b, char **p, size_t need)
{
    b->len = (size_t)(*p - b->ptr);
    if (ch__buf_grow(b, need) != 0) return CH_ENOMEM;
    *p = b->ptr + b->len;
    return 0;
}

/* Makes room for `need` bytes at the cursor *p, which may move. */
static inline int room(struct ch_buf *b, char **p, size_t need)
{
    return (size_t)(b->ptr + b->cap - *p) >= need ? 0 : grow(b, p, need);
}

/* Writes the escape for the ASCII byte c (a control character, '"' or '\\'). */
static char *escape_byte(char *p, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    p[0] = '\\';
    switch (c) {
    case '"': p[1] = '"'; return p + 2;
    case '\\': p[1] = '\\'; return p + 2;
    case '\b': p[1] = 'b'; return p + 2;
    case '\f': p[1] = 'f'; return p + 2;
    case '\n': p[1] = 'n'; return p + 2;
    case '\r': p[1] = 'r'; return p + 2;
    case '\t': p[1] = 't'; return p + 2;
    }
    memcpy(p + 1, "u00", 3);
    p[4] = hex[c >> 4];
    p[5] = hex[c & 15];
    return p + 6;
}

/* Copies s[0..len) escaped (without quotes) to the cursor, which must have room for len + SLACK
 * bytes. With `validate`, bytes that do not form well-formed UTF-8 become U+FFFD; without it
 * the caller vouches for the encoding (strings from the parser). Returns the new cursor, or
 * NULL when the buffer cannot grow. */
static char *escape_any(struct ch_buf *b, char *p, const char *str, size_t len, int validate);

static inline __attribute__((always_inline)) char *escape(struct ch_buf *b, char *p,
                                                          const char *str, size_t len, int validate)
{
    const char *s = str, *end = s + len;
    /* Short strings (keys, mostly): two overlapping loads cover them; clean ones are copied as
     * they are. */
    if (len < 16 && len >= 4 && ch__json_clean_short(s, len, validate)) {
        /* Copied by the same two overlapping moves. */
        if (len >= 8) {
            memcpy(p, s, 8);
            memcpy(p + len - 8, end - 8, 8);
        } else {
            memcpy(p, s, 4);
            memcpy(p + len - 4, end - 4, 4);
        }
        return p + len;
    }
    return escape_any(b, p, str, len, validate);
}

static char *escape_any(struct ch_buf *b, char *p, const char *str, size_t len, int validate)
{
    const char *s = str, *end = s + len;
    for (;;) {
        /* A block at a time while nothing needs attention: the common case. */
        while (end - s >= CH__JSON_SCAN) {
            memcpy(p, s, CH__JSON_SCAN);
            unsigned k = ch__json_stop(s, validate);
            p += k;
            s += k;
            if (k < CH__JSON_SCAN) goto special;
        }
        while (s < end && byte_class[(unsigned char)*s] == 0) *p++ = *s++;
        if (s == end) return p;
    special:;
        unsigned c = (unsigned char)*s;
        if (c < 0x80) {
            if (room(b, &p, (size_t)(end - s) + 6 + SLACK) != 0) return NULL;
            p = escape_byte(p, c);
            s++;
            continue;
        }
        if (!validate) {
            *p++ = *s++;
            continue;
        }
        unsigned n = ch__json_utf8_seq((const unsigned char *)s, (size_t)(end - s));
        if (n) {
            memcpy(p, s, 4 <= end - s ? 4 : n); /* room: end - s + SLACK */
            p += n;
            s += n;
            continue;
        }
        if (room(b, &p, (size_t)(end - s) + 3 + SLACK) != 0) return NULL;
        memcpy(p, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
        p += 3;
        s++;
    }
}

int ch_json_str(struct ch_json_writer *w, struct ch_str s)
{
    char *p = ch__json_value_start(w, s.len + SLACK);
    if (!p) return w->_err;
    *p++ = '"';
    p = escape(w->_buf, p, s.ptr, s.len, 1);
    if (!p) return ch__json_fail(w, CH_ENOMEM), w->_err;
    *p++ = '"';
    return ch__json_value_end(w, p);
}

int ch_json_key_str(struct ch_json_writer *w, struct ch_str key)
{
    unsigned st = w->_state;
    if (st != CH__JSON_W_OBJ_FIRST && st != CH__JSON_W_OBJ_NEXT)
        return ch__json_fail(w, CH_EINVAL), w->_err;
    struct ch_buf *b = w->_buf;
    if (ch_buf_reserve(b, key.len + SLACK) != 0) return ch__json_fail(w, CH_ENOMEM), w->_err;
    char *p = b->ptr + b->len;
    *p = ',';
    p += st == CH__JSON_W_OBJ_NEXT;
    *p++ = '"';
    p = escape(b, p, key.ptr, key.len, 1);
    if (!p) return ch__json_fail(w, CH_ENOMEM), w->_err;
    memcpy(p, "\":", 2);
    w->_state = CH__JSON_W_OBJ_VALUE;
    return ch__json_value_end(w, p + 2);
}

int ch_json_double(struct ch_json_writer *w, double v)
{
    if (!isfinite(v)) return ch_json_null(w);
    char *p = ch__json_value_start(w, CH_JSON_DTOA_SIZE);
    if (!p) return w->_err;
    return ch__json_value_end(w, p + ch_json_dtoa(p, v));
}

int ch_json_raw(struct ch_json_writer *w, const char *json, size_t len)
{
    char *p = ch__json_value_start(w, len);
    if (!p) return w->_err;
    if (len) memcpy(p, json, len);
    return ch__json_value_end(w, p + len);
}

/* Writes a scalar node at the cursor. */
/* The tree writer's cursor: p and the end of the buffer's storage live in registers (stores
 * through p could alias the struct ch_buf's fields, which would force reloads). */
static int tree_grow(struct ch_buf *b, char **p, char **lim, size_t need)
{
    if (grow(b, p, need) != 0) return CH_ENOMEM;
    *lim = b->ptr + b->cap;
    return 0;
}

/* Writes a string node (a value or a key) at the cursor. */
static inline __attribute__((always_inline)) char *string(struct ch_buf *b, char *p, char **lim,
                                                          const struct ch_json_value *n)
{
    if ((size_t)(*lim - p) < n->len + SLACK && tree_grow(b, &p, lim, n->len + SLACK) != 0)
        return NULL;
    *p++ = '"';
    /* escape() keeps room for what is left of the string plus SLACK. */
    p = escape(b, p, n->u.s, n->len, 0);
    if (!p) return NULL;
    *lim = b->ptr + b->cap; /* escape() may have grown the buffer */
    *p++ = '"';
    return p;
}

/* Writes a scalar node at the cursor. */
static inline __attribute__((always_inline)) char *scalar(struct ch_buf *b, char *p, char **lim,
                                                          const struct ch_json_value *n)
{
    unsigned t = ch__json_type(n);
    if (t == CH_JSON_STRING) return string(b, p, lim, n);
    if ((size_t)(*lim - p) < CH_JSON_DTOA_SIZE + TREE_SLACK &&
        tree_grow(b, &p, lim, CH_JSON_DTOA_SIZE + TREE_SLACK) != 0)
        return NULL;
    switch (t) {
    case CH_JSON_INT: return p + ch__json_itoa(p, n->u.i);
    case CH_JSON_DOUBLE: return p + ch_json_dtoa(p, n->u.d);
    case CH_JSON_BOOL: memcpy(p, n->u.i ? "true" : "false", 5); return p + (n->u.i ? 4 : 5);
    default: memcpy(p, "null", 4); return p + 4;
    }
}

/* Serializes the subtree at *pn compactly at the cursor and advances *pn past it. Recursion is
 * bounded by the parser's depth limit; the tape's order makes each container a simple loop. */
static char *tree(struct ch_buf *b, char *p, const struct ch_json_value **pn)
{
    const struct ch_json_value *n = *pn;
    char *lim = b->ptr + b->cap;
    unsigned t = ch__json_type(n);
    if (t != CH_JSON_ARRAY && t != CH_JSON_OBJECT) {
        *pn = n + 1;
        return scalar(b, p, &lim, n);
    }
    int obj = t == CH_JSON_OBJECT;
    uint32_t count = n->len;
    n++;
    if ((size_t)(lim - p) < 1 + TREE_SLACK && tree_grow(b, &p, &lim, 1 + TREE_SLACK) != 0)
        return NULL;
    *p++ = obj ? '{' : '[';
    for (uint32_t i = 0; i < count; i++) {
        if (i) *p++ = ',';
        if (obj) {
            if (!(p = string(b, p, &lim, n++))) return NULL;
            *p++ = ':';
        }
        unsigned ct = ch__json_type(n);
        if (ct == CH_JSON_ARRAY || ct == CH_JSON_OBJECT) {
            p = tree(b, p, &n);
            lim = b->ptr + b->cap;
        } else {
            p = scalar(b, p, &lim, n++);
        }
        if (!p) return NULL;
    }
    *p++ = obj ? '}' : ']';
    *pn = n;
    return p;
}

int ch_json_write_value(struct ch_json_writer *w, const struct ch_json_value *v)
{
    if (!v) return ch__json_fail(w, CH_EINVAL), w->_err;
    char *p = ch__json_value_start(w, 1);
    if (!p) return w->_err;
    p = tree(w->_buf, p, &v);
    if (!p) return ch__json_fail(w, CH_ENOMEM), w->_err;
    return ch__json_value_end(w, p);
}
