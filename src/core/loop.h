/* One epoll loop per worker thread, with millisecond timers.
 *
 * File descriptors are registered once with a callback (struct ch_io). Timers live in a
 * binary heap; the loop sleeps until the earliest one. Time is read once per wake-up
 * (CLOCK_MONOTONIC_COARSE) and cached in loop->now: good to a few milliseconds. */
#ifndef CH_CORE_LOOP_H
#define CH_CORE_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ch_io;
typedef void (*ch_io_cb)(struct ch_io *io, uint32_t events);

struct ch_io {
    ch_io_cb cb;
    int fd;
};

struct ch_timer;
typedef void (*ch_timer_cb)(struct ch_timer *t);

struct ch_timer {
    uint64_t due; /* loop time in ms */
    ch_timer_cb cb;
    size_t slot; /* heap index + 1; 0 when not armed */
};

struct ch_loop {
    int epfd;
    uint64_t now;
    struct ch_timer **heap;
    size_t nheap, capheap;
    /* Called when epoll_wait returns, before any callback (e.g. to refresh cached time). */
    void (*after_wait)(struct ch_loop *loop);
    /* Called after each batch of events and timers, e.g. to release closed connections. */
    void (*after_batch)(struct ch_loop *loop);
    void *data;
};

/* Creates the epoll instance. 0 or a negative CH_E* code. */
int ch_loop_init(struct ch_loop *loop);
void ch_loop_cleanup(struct ch_loop *loop);

/* Registers, changes or removes a descriptor; `events` are EPOLL* flags. 0 or -errno. */
int ch_loop_add(struct ch_loop *loop, struct ch_io *io, uint32_t events);
int ch_loop_mod(struct ch_loop *loop, struct ch_io *io, uint32_t events);
int ch_loop_del(struct ch_loop *loop, struct ch_io *io);

/* Arms (or re-arms) `t` to fire `delay_ms` from now. CH_ENOMEM if the heap cannot grow. */
int ch_timer_start(struct ch_loop *loop, struct ch_timer *t, uint64_t delay_ms, ch_timer_cb cb);

/* Disarms `t`; harmless when it is not armed. */
void ch_timer_stop(struct ch_loop *loop, struct ch_timer *t);

static inline int ch_timer_armed(const struct ch_timer *t)
{
    return t->slot != 0;
}

/* Waits for events (at most until the next timer, or max_wait_ms if >= 0 and sooner),
 * dispatches them, runs due timers, then after_batch. */
void ch_loop_run_once(struct ch_loop *loop, int max_wait_ms);

/* Milliseconds on the monotonic coarse clock. */
uint64_t ch_now_ms(void);

#endif
