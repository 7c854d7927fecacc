/* Growable buffers on the heap or in an arena. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "chopin/buf.h"
#include "chopin/error.h"

int ch__buf_grow(struct ch_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len) return CH_ENOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p;
    if (b->arena) {
        p = ch_arena_alloc(b->arena, cap);
        if (!p) return CH_ENOMEM;
        if (b->len) memcpy(p, b->ptr, b->len);
    } else {
        p = realloc(b->ptr, cap);
        if (!p) return CH_ENOMEM;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

void ch_buf_cleanup(struct ch_buf *b)
{
    if (!b->arena) free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

int ch_buf_append_u64(struct ch_buf *b, uint64_t v)
{
    if (ch_buf_reserve(b, 20) != 0) return CH_ENOMEM;
    b->len += ch_u64_to_dec(b->ptr + b->len, v);
    return 0;
}

int ch_buf_append_i64(struct ch_buf *b, int64_t v)
{
    if (ch_buf_reserve(b, 21) != 0) return CH_ENOMEM;
    b->len += ch_i64_to_dec(b->ptr + b->len, v);
    return 0;
}

int ch_buf_printf(struct ch_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return CH_EINVAL;
    if (ch_buf_reserve(b, (size_t)n + 1) != 0) return CH_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}
