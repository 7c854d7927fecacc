/* The per-request arena: bump allocation, released all at once.
 *
 * Handlers allocate from their request's arena and never free; the framework resets the arena
 * when the response is finished. The first block may be caller-provided storage, so an arena
 * that stays within it never touches the heap. */
#ifndef CHOPIN_ARENA_H
#define CHOPIN_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ch_arena_block;

struct ch_arena {
    char *_cur;
    char *_end;
    char *_initial;                /* caller-provided first block, or NULL */
    size_t _initial_size;
    struct ch_arena_block *_blocks; /* heap blocks, newest first */
};

/* Prepares an arena whose first allocations come from `storage` (`size` bytes, may be NULL/0).
 * The storage must outlive the arena. */
void ch_arena_init(struct ch_arena *a, void *storage, size_t size);

/* Returns `size` bytes aligned to 16, or NULL when the heap is exhausted. Never returns memory
 * that overlaps a live allocation; the memory is uninitialised. */
void *ch_arena_alloc(struct ch_arena *a, size_t size);

/* Like ch_arena_alloc with the memory zeroed. */
void *ch_arena_calloc(struct ch_arena *a, size_t size);

/* Copies `len` bytes into the arena and appends a NUL; NULL when out of memory. */
char *ch_arena_strndup(struct ch_arena *a, const char *src, size_t len);

/* Releases every allocation at once. Heap blocks are returned, the first block is kept. */
void ch_arena_reset(struct ch_arena *a);

/* Releases the arena's heap blocks; the arena must be initialised again before reuse. */
void ch_arena_cleanup(struct ch_arena *a);

/* Bytes of heap the arena holds beyond its initial storage (for tests and limits). */
size_t ch_arena_heap_bytes(const struct ch_arena *a);

#ifdef __cplusplus
}
#endif

#endif
