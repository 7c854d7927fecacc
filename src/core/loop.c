/* epoll loop and timer heap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chopin/error.h"
#include "core/loop.h"

enum { MAX_EVENTS = 512 };

uint64_t ch__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ch__loop_init(struct ch__loop *loop)
{
    memset(loop, 0, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) return CH_EIO;
    loop->now = ch__now_ms();
    return 0;
}

void ch__loop_cleanup(struct ch__loop *loop)
{
    if (loop->epfd >= 0) close(loop->epfd);
    loop->epfd = -1;
    free(loop->heap);
    loop->heap = NULL;
    loop->nheap = loop->capheap = 0;
}

static int ctl(struct ch__loop *loop, int op, struct ch__io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    return epoll_ctl(loop->epfd, op, io->fd, &ev) == 0 ? 0 : -errno;
}

int ch__loop_add(struct ch__loop *loop, struct ch__io *io, uint32_t events)
{
    return ctl(loop, EPOLL_CTL_ADD, io, events);
}

int ch__loop_mod(struct ch__loop *loop, struct ch__io *io, uint32_t events)
{
    return ctl(loop, EPOLL_CTL_MOD, io, events);
}

int ch__loop_del(struct ch__loop *loop, struct ch__io *io)
{
    return ctl(loop, EPOLL_CTL_DEL, io, 0);
}

/* Heap helpers: slot = index + 1 so that 0 can mean "not armed". */
static void place(struct ch__loop *loop, size_t i, struct ch__timer *t)
{
    loop->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(struct ch__loop *loop, size_t i)
{
    struct ch__timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->due <= t->due) break;
        place(loop, i, loop->heap[parent]);
        i = parent;
    }
    place(loop, i, t);
}

static void sift_down(struct ch__loop *loop, size_t i)
{
    struct ch__timer *t = loop->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= loop->nheap) break;
        if (c + 1 < loop->nheap && loop->heap[c + 1]->due < loop->heap[c]->due) c++;
        if (t->due <= loop->heap[c]->due) break;
        place(loop, i, loop->heap[c]);
        i = c;
    }
    place(loop, i, t);
}

void ch__timer_stop(struct ch__loop *loop, struct ch__timer *t)
{
    if (!t->slot) return;
    size_t i = t->slot - 1;
    t->slot = 0;
    struct ch__timer *last = loop->heap[--loop->nheap];
    if (last == t) return;
    place(loop, i, last);
    sift_down(loop, i);
    sift_up(loop, last->slot - 1);
}

int ch__timer_start(struct ch__loop *loop, struct ch__timer *t, uint64_t delay_ms, ch_timer_cb cb)
{
    ch__timer_stop(loop, t);
    if (loop->nheap == loop->capheap) {
        size_t cap = loop->capheap ? loop->capheap * 2 : 16;
        struct ch__timer **h = realloc(loop->heap, cap * sizeof(*h));
        if (!h) return CH_ENOMEM;
        loop->heap = h;
        loop->capheap = cap;
    }
    t->due = loop->now + delay_ms;
    t->cb = cb;
    place(loop, loop->nheap++, t);
    sift_up(loop, loop->nheap - 1);
    return 0;
}

static void run_timers(struct ch__loop *loop)
{
    while (loop->nheap && loop->heap[0]->due <= loop->now) {
        struct ch__timer *t = loop->heap[0];
        ch__timer_stop(loop, t);
        t->cb(t);
    }
}

void ch__loop_run_once(struct ch__loop *loop, int max_wait_ms)
{
    struct epoll_event events[MAX_EVENTS];
    int timeout = max_wait_ms;
    if (loop->nheap) {
        uint64_t due = loop->heap[0]->due;
        uint64_t wait = due > loop->now ? due - loop->now : 0;
        /* The coarse clock ticks every few ms; waking a little late is fine for timeouts. */
        if (timeout < 0 || wait < (uint64_t)timeout) timeout = (int)(wait > 60000 ? 60000 : wait);
    }
    int n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout);
    loop->now = ch__now_ms();
    if (loop->after_wait) loop->after_wait(loop);
    for (int i = 0; i < n; i++) {
        struct ch__io *io = events[i].data.ptr;
        io->cb(io, events[i].events);
    }
    run_timers(loop);
    if (loop->after_batch) loop->after_batch(loop);
}
