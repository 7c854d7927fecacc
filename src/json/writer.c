/* The JSON writer: string escaping, doubles, raw fragments and parsed trees.
 *
 * Output goes straight into the buffer through a cursor; room is reserved up front for the
 * common case (the input length plus SLACK) and grown only when an escape expands the text. */
#include <math.h>

#include "json/internal.h"

/* Room kept past the text still to be copied: the quotes, a colon, one escape and an 8-byte
 * speculative copy. */
enum { SLACK = 24 };

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

/* Makes room for `need` bytes at the cursor *p, which may move. */
static int room(struct ch_buf *b, char **p, size_t need)
{
    if ((size_t)(b->ptr + b->cap - *p) >= need) return 0;
    b->len = (size_t)(*p - b->ptr);
    if (ch__buf_grow(b, need) != 0) return CH_ENOMEM;
    *p = b->ptr + b->len;
    return 0;
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
static char *escape(struct ch_buf *b, char *p, const char *str, size_t len, int validate)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    for (;;) {
        /* Eight bytes at a time while they need nothing: the common case. */
        while (end - s >= 8) {
            uint64_t x = ch__json_load64(s);
            uint64_t m = ch__json_special(x, validate);
            memcpy(p, &x, 8);
            if (m == 0) {
                p += 8;
                s += 8;
                continue;
            }
            size_t k = (size_t)__builtin_ctzll(m) >> 3;
            p += k;
            s += k;
            goto special;
        }
        while (s < end && byte_class[*s] == 0) *p++ = (char)*s++;
        if (s == end) return p;
    special:
        if (*s < 0x80) {
            if (room(b, &p, (size_t)(end - s) + 6 + SLACK) != 0) return NULL;
            p = escape_byte(p, *s++);
            continue;
        }
        if (!validate) {
            *p++ = (char)*s++;
            continue;
        }
        unsigned n = ch__json_utf8_seq(s, (size_t)(end - s));
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

/* Serializes a subtree compactly at the cursor. The tape is in document order, so this is one
 * forward pass; the stack only counts the nodes left in each open container (an object's count
 * is doubled: keys and values alternate, and the parity tells ':' from ','). */
static char *write_tree(struct ch_buf *b, char *p, const struct ch_json_value *n)
{
    uint64_t left[CH_JSON_MAX_DEPTH + 1];
    unsigned char is_obj[CH_JSON_MAX_DEPTH + 1];
    int depth = 0;
    for (;;) {
        /* Room for any scalar but a string, and for closing every open container after it. */
        if (room(b, &p, CH_JSON_DTOA_SIZE + CH_JSON_MAX_DEPTH + 8) != 0) return NULL;
        switch (ch__json_type(n)) {
        case CH_JSON_NULL: memcpy(p, "null", 4), p += 4; break;
        case CH_JSON_BOOL:
            memcpy(p, n->u.i ? "true" : "false", 5);
            p += n->u.i ? 4 : 5;
            break;
        case CH_JSON_INT: p += ch_i64_to_dec(p, n->u.i); break;
        case CH_JSON_DOUBLE: p += ch_json_dtoa(p, n->u.d); break;
        case CH_JSON_STRING:
            if (room(b, &p, n->len + SLACK + CH_JSON_MAX_DEPTH) != 0) return NULL;
            *p++ = '"';
            p = escape(b, p, n->u.s, n->len, 0);
            if (!p || room(b, &p, CH_JSON_MAX_DEPTH + 8) != 0) return NULL;
            *p++ = '"';
            break;
        case CH_JSON_ARRAY:
        case CH_JSON_OBJECT: {
            int obj = ch__json_type(n) == CH_JSON_OBJECT;
            *p++ = obj ? '{' : '[';
            if (n->len == 0) {
                *p++ = obj ? '}' : ']';
                break;
            }
            left[depth] = (uint64_t)n->len << obj;
            is_obj[depth++] = (unsigned char)obj;
            n++;
            continue;
        }
        default: return NULL;
        }
        n++;
        /* A value (or key) is complete: close what it completes, then separate. */
        for (;;) {
            if (depth == 0) return p;
            uint64_t l = --left[depth - 1];
            if (l == 0) {
                *p++ = is_obj[--depth] ? '}' : ']';
                continue;
            }
            *p++ = is_obj[depth - 1] && (l & 1) ? ':' : ',';
            break;
        }
    }
}

int ch_json_write_value(struct ch_json_writer *w, const struct ch_json_value *v)
{
    if (!v) return ch__json_fail(w, CH_EINVAL), w->_err;
    char *p = ch__json_value_start(w, 1);
    if (!p) return w->_err;
    p = write_tree(w->_buf, p, v);
    if (!p) return ch__json_fail(w, CH_ENOMEM), w->_err;
    return ch__json_value_end(w, p);
}
