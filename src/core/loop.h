/* One epoll loop per worker thread, with millisecond timers.
 *
 * File descriptors are registered once with a callback (struct ch__io). Timers live in a
 * binary heap; the loop sleeps until the earliest one. Time is read once per wake-up
 * (CLOCK_MONOTONIC_COARSE) and cached in loop->now: good to a few milliseconds. */
#ifndef CH_CORE_LOOP_H
#define CH_CORE_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ch__io;
typedef void (*ch_io_cb)(struct ch__io *io, uint32_t events);

struct ch__io {
    ch_io_cb cb;
    int fd;
};

struct ch__timer;
typedef void (*ch_timer_cb)(struct ch__timer *t);

struct ch__timer {
    uint64_t due; /* loop time in ms */
    ch_timer_cb cb;
    size_t slot; /* heap index + 1; 0 when not armed */
};

struct ch__loop {
    int epfd;
    uint64_t now;
    struct ch__timer **heap;
    size_t nheap, capheap;
    /* Called when epoll_wait returns, before any callback (e.g. to refresh cached time). */
    void (*after_wait)(struct ch__loop *loop);
    /* Called after each batch of events and timers, e.g. to release closed connections. */
    void (*after_batch)(struct ch__loop *loop);
    void *data;
};

/* Creates the epoll instance. 0 or a negative CH_E* code. */
int ch__loop_init(struct ch__loop *loop);
void ch__loop_cleanup(struct ch__loop *loop);

/* Registers, changes or removes a descriptor; `events` are EPOLL* flags. 0 or -errno. */
int ch__loop_add(struct ch__loop *loop, struct ch__io *io, uint32_t events);
int ch__loop_mod(struct ch__loop *loop, struct ch__io *io, uint32_t events);
int ch__loop_del(struct ch__loop *loop, struct ch__io *io);

/* Arms (or re-arms) `t` to fire `delay_ms` from now. CH_ENOMEM if the heap cannot grow. */
int ch__timer_start(struct ch__loop *loop, struct ch__timer *t, uint64_t delay_ms, ch_timer_cb cb);

/* Disarms `t`; harmless when it is not armed. */
void ch__timer_stop(struct ch__loop *loop, struct ch__timer *t);

static inline int ch__timer_armed(const struct ch__timer *t)
{
    return t->slot != 0;
}

/* Waits for events (at most until the next timer, or max_wait_ms if >= 0 and sooner),
 * dispatches them, runs due timers, then after_batch. */
void ch__loop_run_once(struct ch__loop *loop, int max_wait_ms);

/* Milliseconds on the monotonic coarse clock. */
uint64_t ch__now_ms(void);

#endif
