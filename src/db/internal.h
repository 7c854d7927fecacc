/* What the database front end (db.c) shares with its drivers (pg*.c, sqlite.c).
 *
 * The front end owns the statement registry, the per-worker handles, batches and the
 * deferred-failure queue; a driver owns connections and turns batches into results. All
 * batch and query memory comes from the caller's arena, so a driver never frees it. */
#ifndef CH_DB_INTERNAL_H
#define CH_DB_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "chopin/db.h"
#include "core/loop.h"

enum { CH__DB_MAX_WORKERS = 1024 };

struct ch__db_stmt {
    char *name;
    char *sql; /* in the active driver's dialect */
    int nparams;
    unsigned *ptypes; /* PostgreSQL: the parameter type OIDs the server inferred */
    int readonly;     /* SQLite: sqlite3_stmt_readonly() */
    int *sq_index;    /* SQLite, $N parameters: the bind index of $1..$nparams (0: unused);
                       * NULL when bound by position (?, ?NNN) */
};

struct ch__db_query {
    struct ch__db_query *next;
    int stmt;
    ch_db_result_fn cb;
    void *arg;
    union {
        struct {
            const char **values; /* wire form of each parameter, in the arena */
            int *lengths;
            int *formats;
            void *res; /* PGresult held until the batch's Sync arrives */
        } pg;
        struct {
            struct ch_db_param *params; /* deep copies, in the arena */
            int err;
            int nrows, ncols;
            size_t cell0; /* index of the first cell in the batch's result holder */
            size_t meta0; /* index of the first column's cell (name, kind) */
            int64_t changes;
            size_t msg_off, msg_len; /* error message in the holder's heap */
        } sq;
    } u;
};

struct ch_db_batch {
    struct ch_db_worker *dw;
    struct ch_arena *arena;
    struct ch__db_query *head;
    struct ch__db_query **tail;
    int nqueries;
    int writes; /* some statement is not read-only */
    int err;    /* set when the whole batch fails (deferred failures) */
    ch_db_done_fn done;
    void *done_arg;
    struct ch_db_batch *next; /* in whichever queue holds the batch */
    void *drv;                /* driver's per-batch state (SQLite: the result holder) */
};

/* The view handed to result callbacks; filled by the driver. */
struct ch_db_result {
    const struct ch__db_driver *drv;
    struct ch_arena *arena;
    int err;
    struct ch_str msg;
    const char *sqlstate;
    int nrows, ncols;
    int64_t affected;
    const void *p;    /* PostgreSQL: the PGresult; SQLite: the first cell */
    const char *heap; /* SQLite: the holder's byte heap */
    const void *meta; /* SQLite: one cell per column (its name and declared kind) */
};

struct ch__db_driver {
    const char *name;
    int pool_per_worker; /* pool_size counts connections of each worker, not of the process */
    /* Startup, main thread: connect, keep what stmt_check and the migrations need. */
    int (*open)(struct ch_db *db, const char *target, char *err, size_t errlen);
    /* Startup: validates st->sql and fills nparams/ptypes/readonly. */
    int (*stmt_check)(struct ch_db *db, struct ch__db_stmt *st, int id, char *err, size_t errlen);
    /* Migrations, main thread, on the startup connection (before seal): runs a script of
     * one or more statements; and a query with text parameters ($1...) whose rows (values
     * NUL-terminated, NULL for SQL NULL) go to `row`. 0 or -1 with the driver's message. */
    int (*exec)(struct ch_db *db, const char *sql, char *err, size_t errlen);
    int (*query)(struct ch_db *db, const char *sql, int nparams, const char *const *params,
                 void (*row)(void *arg, int ncols, const char *const *vals), void *arg, char *err,
                 size_t errlen);
    /* First worker start, under db->lock: startup-only resources may go. */
    void (*seal)(struct ch_db *db);
    void (*close)(struct ch_db *db);
    int (*worker_start)(struct ch_db_worker *dw);
    void (*worker_stop)(struct ch_db_worker *dw);
    /* Stores `q`'s parameters in the batch's arena. 0, CH_ERANGE or CH_ENOMEM. */
    int (*encode)(struct ch_db_batch *b, struct ch__db_query *q, const struct ch__db_stmt *st,
                  const struct ch_db_param *params);
    /* Takes the batch; must answer it asynchronously (ch__db_defer_fail for early refusals). */
    void (*submit)(struct ch_db_batch *b);
    void (*stats)(const struct ch_db_worker *dw, struct ch_db_stats *st);
    int (*is_null)(const struct ch_db_result *r, int row, int col);
    int64_t (*get_int)(const struct ch_db_result *r, int row, int col);
    struct ch_str (*get_text)(const struct ch_db_result *r, int row, int col);
    double (*get_float)(const struct ch_db_result *r, int row, int col);
    int (*get_bool)(const struct ch_db_result *r, int row, int col);
    const char *(*col_name)(const struct ch_db_result *r, int col);
    enum ch_db_type (*col_type)(const struct ch_db_result *r, int col);
    /* The type of the value at (row, col), not NULL: the column's, except on SQLite where a
     * cell's storage class may differ from its column's declaration. */
    enum ch_db_type (*cell_type)(const struct ch_db_result *r, int row, int col);
};

struct ch_db {
    const struct ch__db_driver *drv;
    struct ch_db_options opt;
    struct ch__db_stmt *stmts;
    int nstmts, capstmts;
    pthread_mutex_t lock; /* guards `sealed` while workers start */
    int sealed;
    struct ch_db_worker *workers[CH__DB_MAX_WORKERS];
    void *drv_data;
};

struct ch_db_worker {
    struct ch_db *db;
    struct ch_worker *w;
    struct ch__loop *loop;
    struct ch_db_batch *failed; /* refused batches, answered on the next timer pass */
    struct ch_db_batch **failed_tail;
    struct ch__timer defer;
    int stopping;
    uint64_t rng;
    struct ch_db_stats st; /* counters kept by the front end and the driver */
    void *drv;
};

extern const struct ch__db_driver ch__db_pg_driver;
extern const struct ch__db_driver ch__db_sqlite_driver;

/* Answers `b` with `err` (every query callback, then done) from the worker's loop, soon but
 * never from inside the current call. */
void ch__db_defer_fail(struct ch_db_worker *dw, struct ch_db_batch *b, int err);

/* Answers `b` with `err` right now (for drivers outside of a submit call). */
void ch__db_fail_now(struct ch_db_batch *b, int err, const char *msg);

/* Records query `index`'s result `v` in the batch's outcome if it is the first failure. */
static inline void ch__db_outcome_note(struct ch_db_outcome *o, int index,
                                       const struct ch_db_result *v)
{
    if (!v->err || o->err) return;
    o->err = v->err;
    o->query = index;
    o->message = v->msg;
    o->sqlstate = v->sqlstate ? v->sqlstate : "";
}

/* A random number for jitter (xorshift, per worker). */
uint64_t ch__db_random(struct ch_db_worker *dw);

/* snprintf into err, for the drivers' startup messages. */
void ch__db_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats a time (util.c; milliseconds since the Unix epoch, UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * into dst (at least 32 bytes); returns the length. */
size_t ch__db_format_time(char *dst, int64_t unix_ms);

/* Parses SQLite's time text, "YYYY-MM-DD", optionally followed by ' ' or 'T' and
 * "HH:MM[:SS[.fff...]]", optionally by "Z" or a "+HH:MM"/"-HH:MM" offset, into milliseconds
 * since the Unix epoch (UTC). 0 or CH_EINVAL. */
int ch__db_parse_time(struct ch_str s, int64_t *unix_ms);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t ch__db_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
