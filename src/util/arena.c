/* Per-request bump allocator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/arena.h"

struct ch_arena_block {
    struct ch_arena_block *next;
    size_t size;
    /* Placed last and aligned so that the payload starts on a 16-byte boundary. */
    _Alignas(16) char data[];
};

enum { ALIGN = 16, MIN_BLOCK = 16 * 1024 };

static char *align_up(char *p)
{
    return (char *)(((uintptr_t)p + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1));
}

void ch_arena_init(struct ch_arena *a, void *storage, size_t size)
{
    a->_initial = storage;
    a->_initial_size = storage ? size : 0;
    a->_blocks = NULL;
    a->_cur = storage;
    a->_end = storage ? (char *)storage + size : NULL;
}

static void *alloc_slow(struct ch_arena *a, size_t size)
{
    /* Each new block at least doubles the previous one so a large document costs O(log n)
     * mallocs; an oversized request gets a block of its own. */
    size_t want = a->_blocks ? a->_blocks->size * 2 : MIN_BLOCK;
    if (want > 1024 * 1024) want = 1024 * 1024;
    if (want < size) want = size;
    if (size > SIZE_MAX - sizeof(struct ch_arena_block) - ALIGN) return NULL;
    struct ch_arena_block *b = malloc(sizeof(*b) + want);
    if (!b) return NULL;
    b->size = want;
    b->next = a->_blocks;
    a->_blocks = b;
    a->_cur = b->data + size;
    a->_end = b->data + want;
    return b->data;
}

void *ch_arena_alloc(struct ch_arena *a, size_t size)
{
    if (size == 0) size = 1;
    if (a->_cur) {
        char *p = align_up(a->_cur);
        if (p <= a->_end && (size_t)(a->_end - p) >= size) {
            a->_cur = p + size;
            return p;
        }
    }
    return alloc_slow(a, size);
}

void *ch_arena_calloc(struct ch_arena *a, size_t size)
{
    void *p = ch_arena_alloc(a, size);
    if (p) memset(p, 0, size);
    return p;
}

char *ch_arena_strndup(struct ch_arena *a, const char *src, size_t len)
{
    char *p = ch_arena_alloc(a, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, src, len);
    p[len] = '\0';
    return p;
}

void ch_arena_cleanup(struct ch_arena *a)
{
    struct ch_arena_block *b = a->_blocks;
    while (b) {
        struct ch_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->_blocks = NULL;
}

void ch_arena_reset(struct ch_arena *a)
{
    ch_arena_cleanup(a);
    a->_cur = a->_initial;
    a->_end = a->_initial ? a->_initial + a->_initial_size : NULL;
}

size_t ch_arena_heap_bytes(const struct ch_arena *a)
{
    size_t n = 0;
    for (const struct ch_arena_block *b = a->_blocks; b; b = b->next) n += b->size;
    return n;
}
