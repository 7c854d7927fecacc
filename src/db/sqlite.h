/* What the SQLite driver's two halves share: sqlite.c (startup, parameters, result values)
 * and sqlite_pool.c (the query threads and the per-worker completion queues). */
#ifndef CH_DB_SQLITE_H
#define CH_DB_SQLITE_H

#include <sqlite3.h>

#include "db/internal.h"

/* One result value, copied out of SQLite on the query thread. */
struct ch__sq_cell {
    int type; /* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB or _NULL */
    union {
        int64_t i;
        double d;
        struct {
            size_t off, len; /* in the holder's heap */
        } bytes;
    } u;
};

struct ch__sq_db;

struct ch__sq_thread {
    struct ch__sq_db *s;
    sqlite3 *conn;
    sqlite3_stmt **stmts; /* prepared on first use, by statement id */
    pthread_t tid;
    struct ch_db_worker *running; /* whose batch runs now (under s->mu), for interrupts */
};

/* Process-wide driver state (db->drv_data). */
struct ch__sq_db {
    const struct ch_db *db;
    int memory; /* sqlite::memory: one connection, so one thread */
    int nthreads, started;
    struct ch__sq_thread *threads; /* threads[0].conn is also the startup connection */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ch_db_batch *qhead, *qtail; /* waiting for a thread */
    int quit;
};

/* How a prepared statement's parameters are bound: *nparams, and for $1..$N an allocated map
 * from N-1 to SQLite's bind index (0: unused), else NULL (positional). -1 for a mix. */
int ch__sq_param_map(sqlite3_stmt *p, int *nparams, int **index);

/* SQLite result codes to CH_E* codes. */
int ch__sq_map_rc(int rc);

/* A query thread's body: takes batches off the queue until s->quit. */
void *ch__sq_thread_main(void *arg);

int ch__sq_worker_start(struct ch_db_worker *dw);
void ch__sq_worker_stop(struct ch_db_worker *dw);
void ch__sq_submit(struct ch_db_batch *b);
void ch__sq_stats(const struct ch_db_worker *dw, struct ch_db_stats *st);

#endif
