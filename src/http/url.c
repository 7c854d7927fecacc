/* Percent-decoding and query-string parsing. */
#include <stdint.h>
#include <string.h>

#include "chopin/error.h"
#include "chopin/url.h"

static inline int hex_value(unsigned char c)
{
    if ((unsigned char)(c - '0') < 10) return c - '0';
    c |= 0x20;
    if ((unsigned char)(c - 'a') < 6) return c - 'a' + 10;
    return -1;
}

int ch_url_decode(struct ch_str src, char *dst, size_t *out_len, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)src.ptr;
    const size_t n = src.len;
    const int plus = (flags & CH_URL_PLUS_AS_SPACE) != 0;
    size_t i = 0, j = 0;

    /* Most components have nothing to decode: skip the prefix that needs no work, and when
     * decoding in place do not even copy it. */
    while (i < n && s[i] != '%' && !(plus && s[i] == '+')) i++;
    if (dst != src.ptr && i) memcpy(dst, s, i);
    j = i;

    while (i < n) {
        unsigned char c = s[i];
        if (c == '%') {
            if (n - i < 3) return CH_EINVAL;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return CH_EINVAL;
            c = (unsigned char)(hi << 4 | lo);
            i += 3;
        } else {
            if (c == '+' && plus) c = ' ';
            i++;
        }
        dst[j++] = (char)c;
    }
    *out_len = j;
    return 0;
}

int ch_url_decode_arena(struct ch_arena *a, struct ch_str src, unsigned flags, struct ch_str *out)
{
    if (src.len == SIZE_MAX) return CH_ENOMEM;
    char *dst = ch_arena_alloc(a, src.len + 1);
    if (!dst) return CH_ENOMEM;
    size_t len;
    int rc = ch_url_decode(src, dst, &len, flags);
    if (rc != 0) return rc;
    dst[len] = '\0';
    *out = ch_str_make(dst, len);
    return 0;
}

/* Decodes one key or value to `*out`, NUL-terminates it and advances *out past the NUL. */
static int decode_into(const char *p, size_t len, char **out, struct ch_str *res)
{
    size_t n;
    int rc = ch_url_decode(ch_str_make(p, len), *out, &n, CH_URL_PLUS_AS_SPACE);
    if (rc != 0) return rc;
    (*out)[n] = '\0';
    *res = ch_str_make(*out, n);
    *out += n + 1;
    return 0;
}

/* Stores the next non-empty '&'-separated piece in *piece and returns 1, or returns 0 at the end.
 * *cursor is where the search resumes, NULL once the last piece has been taken. */
static int next_piece(const char **cursor, const char *end, struct ch_str *piece)
{
    const char *p = *cursor;
    while (p) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        *cursor = amp ? amp + 1 : NULL;
        if (e > p) {
            *piece = ch_str_make(p, (size_t)(e - p));
            return 1;
        }
        p = *cursor;
    }
    return 0;
}

int ch_query_parse(struct ch_arena *a, struct ch_str query, struct ch_query *q)
{
    q->pairs = NULL;
    q->count = 0;
    if (query.len == 0) return 0;
    const char *end = query.ptr + query.len, *cursor;
    struct ch_str piece;

    /* First pass: count the pairs, so everything fits in one arena allocation. */
    size_t count = 0;
    for (cursor = query.ptr; next_piece(&cursor, end, &piece);)
        if (++count > CH_QUERY_MAX_PAIRS) return CH_ERANGE;
    if (count == 0) return 0;

    /* Decoded text is never longer than its source, and each pair needs two NULs. The length
     * check keeps the sum from wrapping on absurd inputs. */
    if (query.len > SIZE_MAX / 2) return CH_ENOMEM;
    size_t size = count * sizeof(struct ch_query_pair) + query.len + 2 * count;
    struct ch_query_pair *pairs = ch_arena_alloc(a, size);
    if (!pairs) return CH_ENOMEM;
    char *out = (char *)(pairs + count);

    size_t k = 0;
    for (cursor = query.ptr; next_piece(&cursor, end, &piece); k++) {
        const char *eq = memchr(piece.ptr, '=', piece.len);
        size_t key_len = eq ? (size_t)(eq - piece.ptr) : piece.len;
        size_t value_off = eq ? key_len + 1 : piece.len;
        int rc = decode_into(piece.ptr, key_len, &out, &pairs[k].key);
        if (rc == 0)
            rc = decode_into(piece.ptr + value_off, piece.len - value_off, &out, &pairs[k].value);
        if (rc != 0) return rc;
    }
    q->pairs = pairs;
    q->count = count;
    return 0;
}

const struct ch_query_pair *ch_query_next(const struct ch_query *q, struct ch_str key,
                                          const struct ch_query_pair *prev)
{
    size_t i = prev ? (size_t)(prev - q->pairs) + 1 : 0;
    for (; i < q->count; i++)
        if (ch_str_eq(q->pairs[i].key, key)) return &q->pairs[i];
    return NULL;
}

int ch_query_get(const struct ch_query *q, struct ch_str key, struct ch_str *value)
{
    const struct ch_query_pair *p = ch_query_next(q, key, NULL);
    if (!p) return CH_ENOTFOUND;
    *value = p->value;
    return 0;
}

size_t ch_query_count(const struct ch_query *q, struct ch_str key)
{
    size_t n = 0;
    for (size_t i = 0; i < q->count; i++) n += ch_str_eq(q->pairs[i].key, key);
    return n;
}
