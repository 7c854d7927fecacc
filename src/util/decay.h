/* Sizing a free list by its load: it keeps what the load used, and gives back, slowly, what
 * the load stopped using.
 *
 * The owner reports every take with ch__decay_took() (with how many entries are left, 0 when
 * the list was empty) and calls ch__decay_tick() on its periodic tick. Every `period` ticks,
 * that returns how many entries to free now: half of those no one took during the whole
 * period, above the `keep` a list always holds. A steady load thus allocates nothing, and a
 * burst's memory is returned a few periods after it. */
#ifndef CH_UTIL_DECAY_H
#define CH_UTIL_DECAY_H

#include <stddef.h>

struct ch__decay {
    size_t low; /* the fewest entries cached since the last trim */
    unsigned ticks;
};

static inline void ch__decay_took(struct ch__decay *d, size_t left)
{
    if (left < d->low) d->low = left;
}

/* `cached`: the entries in the list now. The caller frees the count returned. */
static inline size_t ch__decay_tick(struct ch__decay *d, size_t cached, size_t keep, unsigned period)
{
    if (++d->ticks < period) return 0;
    size_t unused = d->low > keep ? d->low - keep : 0;
    size_t n = (unused + 1) / 2;
    if (n > cached) n = cached;
    d->ticks = 0;
    d->low = cached - n;
    return n;
}

#endif
