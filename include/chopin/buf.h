/* Growable byte buffers.
 *
 * A buffer grows on the heap (realloc) or, when it is bound to an arena, inside that arena
 * (the old storage is simply abandoned to the arena). Appends report CH_ENOMEM instead of
 * aborting; once an append failed, the buffer keeps its previous contents. */
#ifndef CHOPIN_BUF_H
#define CHOPIN_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ch_buf {
    char *ptr;
    size_t len;
    size_t cap;
    struct ch_arena *arena; /* NULL: storage is malloc'd and owned by the buffer */
};

/* An empty heap buffer (no storage until the first append). */
static inline void ch_buf_init(struct ch_buf *b)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->arena = NULL;
}

/* An empty buffer that grows inside `arena`. */
static inline void ch_buf_init_arena(struct ch_buf *b, struct ch_arena *arena)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->arena = arena;
}

/* Frees heap storage (arena storage is left to its arena) and empties the buffer. */
void ch_buf_cleanup(struct ch_buf *b);

/* Ensures room for `extra` more bytes past len. 0 or CH_ENOMEM. */
int ch__buf_grow(struct ch_buf *b, size_t extra);

static inline int ch_buf_reserve(struct ch_buf *b, size_t extra)
{
    return b->cap - b->len >= extra ? 0 : ch__buf_grow(b, extra);
}

static inline int ch_buf_append(struct ch_buf *b, const void *src, size_t n)
{
    if (b->cap - b->len < n && ch__buf_grow(b, n) != 0) return CH_ENOMEM;
    if (n) memcpy(b->ptr + b->len, src, n);
    b->len += n;
    return 0;
}

static inline int ch_buf_append_str(struct ch_buf *b, struct ch_str s)
{
    return ch_buf_append(b, s.ptr, s.len);
}

static inline int ch_buf_append_cstr(struct ch_buf *b, const char *s)
{
    return ch_buf_append(b, s, strlen(s));
}

static inline int ch_buf_putc(struct ch_buf *b, char c)
{
    if (b->cap == b->len && ch__buf_grow(b, 1) != 0) return CH_ENOMEM;
    b->ptr[b->len++] = c;
    return 0;
}

/* Appends v in decimal. 0 or CH_ENOMEM. */
int ch_buf_append_u64(struct ch_buf *b, uint64_t v);
int ch_buf_append_i64(struct ch_buf *b, int64_t v);

/* Appends printf-formatted text. 0, or CH_ENOMEM. Not for hot paths. */
int ch_buf_printf(struct ch_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
