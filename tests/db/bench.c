/* The database driver alone under load: W worker threads, each with its own loop and pool,
 * keep K single-query batches in flight (the /db request's shape: one random World row by id),
 * each batch in its own request-like arena that the done callback resets.
 *
 *   build/db-bench URL [seconds=10] [workers=2] [connections=16] [in_flight=256]
 *
 * `connections` is the total over all workers (as pgbench's -c); in_flight is per worker.
 * Prints batches per second after a one-second warm-up, and heap allocations per batch, counted
 * by interposing malloc: what remains is libpq's own (each PGresult), not this layer's. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chopin/db.h"
#include "chopin/error.h"
#include "core/server.h"
#include "dbtest.h"

struct slot {
    struct ch_arena arena;
    char storage[1024]; /* like a request's inline arena block: no heap for a /db batch */
    struct bench *b;
};

struct bench {
    struct ch_db *db;
    struct ch__server srv;
    struct ch_worker w;
    struct ch_db_worker *dw;
    int id, in_flight, running;
    struct slot *slots;
    uint64_t done, errors, sum;
};

/* A counting allocator over glibc's. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
static _Atomic uint64_t nallocs;

void *malloc(size_t size)
{
    atomic_fetch_add_explicit(&nallocs, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&nallocs, 1, memory_order_relaxed);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    atomic_fetch_add_explicit(&nallocs, 1, memory_order_relaxed);
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}

static _Atomic int phase; /* 0 warm-up, 1 measuring, 2 stop */
static int seconds = 10;
static unsigned rng_seed = 1;

static void on_row(void *arg, const struct ch_db_result *res)
{
    struct bench *b = arg;
    if (ch_db_rows(res) == 1) b->sum += (uint64_t)ch_db_int(res, 0, 1);
}

static void submit(struct slot *s);

static void on_done(void *arg, const struct ch_db_outcome *o)
{
    int err = o->err;
    struct slot *s = arg;
    struct bench *b = s->b;
    if (atomic_load_explicit(&phase, memory_order_relaxed) == 1) {
        b->done++;
        if (err) b->errors++;
    }
    ch_arena_reset(&s->arena);
    if (atomic_load_explicit(&phase, memory_order_relaxed) < 2)
        submit(s);
    else
        b->running--;
}

static void submit(struct slot *s)
{
    struct bench *b = s->b;
    struct ch_db_batch *batch = ch_db_batch_new(b->dw, &s->arena);
    struct ch_db_param id = ch_db_param_int(1 + rand_r(&rng_seed) % 10000);
    if (!batch || ch_db_batch_add(batch, DBT_WORLD_BY_ID, &id, 1, on_row, b) != 0) {
        fprintf(stderr, "db-bench: cannot build a batch\n");
        exit(1);
    }
    ch_db_batch_submit(batch, on_done, s);
}

static void *worker_main(void *arg)
{
    struct bench *b = arg;
    if (ch__worker_init(&b->w, &b->srv, b->id) != 0 || ch_db_worker_start(b->db, &b->w) != 0) {
        fprintf(stderr, "db-bench: worker %d cannot start\n", b->id);
        exit(1);
    }
    b->dw = ch_db_worker_get(b->db, b->id);
    b->slots = calloc((size_t)b->in_flight, sizeof(*b->slots));
    for (int i = 0; i < b->in_flight; i++) {
        b->slots[i].b = b;
        ch_arena_init(&b->slots[i].arena, b->slots[i].storage, sizeof(b->slots[i].storage));
        submit(&b->slots[i]);
    }
    b->running = b->in_flight;
    while (b->running > 0) ch__loop_run_once(&b->w.loop, 100);
    ch_db_worker_stop(b->db, &b->w);
    for (int i = 0; i < b->in_flight; i++) ch_arena_cleanup(&b->slots[i].arena);
    free(b->slots);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [seconds] [workers] [connections] [in_flight]\n", argv[0]);
        return 2;
    }
    seconds = argc > 2 ? atoi(argv[2]) : 10;
    int workers = argc > 3 ? atoi(argv[3]) : 2;
    int conns = argc > 4 ? atoi(argv[4]) : 16;
    int in_flight = argc > 5 ? atoi(argv[5]) : 256;
    if (seconds < 1 || workers < 1 || conns < workers || in_flight < 1) {
        fprintf(stderr, "db-bench: bad arguments\n");
        return 2;
    }
    char err[512];
    struct ch_db_options o = {.pool_size = conns / workers};
    struct ch_db *db = ch_db_open(argv[1], &o, err, sizeof(err));
    if (db && dbt_fixture(db, err, sizeof(err)) != 0) { /* world and its statement */
        ch_db_free(db);
        db = NULL;
    }
    if (!db) {
        fprintf(stderr, "db-bench: %s\n", err);
        return 1;
    }
    struct bench *bs = calloc((size_t)workers, sizeof(*bs));
    pthread_t *th = calloc((size_t)workers, sizeof(*th));
    for (int i = 0; i < workers; i++) {
        bs[i].db = db;
        bs[i].id = i;
        bs[i].in_flight = in_flight;
        pthread_create(&th[i], NULL, worker_main, &bs[i]);
    }
    sleep(1);
    uint64_t a0 = atomic_load(&nallocs);
    atomic_store(&phase, 1);
    uint64_t t0 = ch__now_ms();
    sleep((unsigned)seconds);
    atomic_store(&phase, 2);
    uint64_t t1 = ch__now_ms();
    uint64_t a1 = atomic_load(&nallocs);
    uint64_t done = 0, errors = 0;
    for (int i = 0; i < workers; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < workers; i++) {
        done += bs[i].done;
        errors += bs[i].errors;
    }
    double tps = (double)done * 1000.0 / (double)(t1 - t0);
    printf("db-bench: %.0f batches/s (1 query each), %llu errors, %d workers x %d connections, "
           "%d in flight per worker, %.2f heap allocations per batch\n",
           tps, (unsigned long long)errors, workers, conns / workers, in_flight,
           done ? (double)(a1 - a0) / (double)done : 0.0);
    ch_db_free(db);
    free(bs);
    free(th);
    return errors ? 1 : 0;
}
