/* The database layer: one process-wide handle, a pool per worker, and batches of prepared
 * statements answered asynchronously on the worker's loop.
 *
 * DATABASE_URL picks the driver:
 *   (unset or empty)                 SQLite file ./chopin.db, created on first start
 *   sqlite:///abs/path.db            SQLite file at an absolute path
 *   sqlite://rel/path.db, sqlite:x   SQLite file relative to the working directory
 *   sqlite::memory:                  a private in-memory SQLite database
 *   postgres://u:p@host:port/db      PostgreSQL (also postgresql://, and libpq's
 *   host=... dbname=...              key=value form; every libpq parameter is accepted)
 *
 * Lifecycle, on the threads that own each step:
 *   main thread:  db = ch_db_open(url, &opts, err, sizeof(err));   schema + seed data
 *                 id = ch_db_stmt(db, "name", pg_sql, sqlite_sql, err, sizeof(err));  ...
 *   each worker:  ch_db_worker_start(db, w)  (from the server's worker_init hook)
 *                 handlers: ch_db_batch_new / _add / _submit, callbacks on the same thread
 *                 ch_db_worker_stop(db, w)   (from the worker_cleanup hook)
 *   main thread:  ch_db_free(db) once every worker has stopped.
 *
 * A batch is the queries of one HTTP request. They run in order, in one implicit
 * transaction (a failure rolls back the batch's earlier writes and the later statements
 * report "aborted"), without affecting any other batch. On PostgreSQL the batch is pipelined
 * with one Sync, and many batches are in flight on each connection at once.
 *
 * Two consequences of pipelining to keep in mind. A batch that waits (a row lock held by
 * another request's batch, a long scan) delays the batches queued behind it on the same
 * connection, though new batches go to the least busy connections; keep slow statements out
 * of hot paths, or give the pool more connections. And there is no transaction spanning
 * several batches: logic between statements (read, decide, write) belongs in the SQL of one
 * batch (UPDATE ... WHERE ... RETURNING, INSERT ... ON CONFLICT), which is atomic as a whole.
 *
 * Every callback of a submitted batch runs exactly once, on the worker's thread, never from
 * inside ch_db_batch_submit(): first each query's result callback, in order, then the batch's
 * done callback. When the database is down, the pool's queue is full or the worker stops,
 * they run promptly with CH_EUNAVAILABLE (answer 503 Service Unavailable). The layer never
 * touches the batch after the last of them returned, so the done callback may release the
 * request whose arena held the batch.
 *
 * Schema created at startup (idempotent), the same on both drivers:
 *   world(id integer primary key, randomnumber integer)       ids 1..10000
 *   fortune(id integer primary key, message text)              the 12 TechEmpower rows
 *   notes(id integer primary key (auto), title text, body text,
 *         created_at timestamp, read back as text "YYYY-MM-DDTHH:MM:SS.mmmZ") */
#ifndef CHOPIN_DB_H
#define CHOPIN_DB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ch_worker;
struct ch_request;
struct ch_db;        /* process-wide: URL, statements, driver state */
struct ch_db_worker; /* one worker's pool; used only on that worker's thread */
struct ch_db_batch;  /* the queries of one request, allocated in its arena */
struct ch_db_result; /* a read-only view of one query's outcome, valid during its callback */

/* Statements every database has, prepared on every connection (ids for ch_db_batch_add). */
enum ch_db_builtin {
    /* $1 = id. One row (id, randomnumber), or none. */
    CH_DB_WORLD_BY_ID = 0,
    /* No parameters. All fortune rows (id, message), in no particular order. */
    CH_DB_FORTUNES = 1,
    /* $1 = ids, $2 = new randomnumbers: two int arrays of the same length. Updates every
     * listed row in one statement and reports the rows changed (ch_db_affected). Pass ids
     * sorted ascending and without duplicates: concurrent updates then lock rows in the same
     * order and cannot deadlock, and each row gets a well-defined value. */
    CH_DB_WORLD_UPDATE = 2,
    CH_DB_BUILTIN_COUNT = 3
};

struct ch_db_options {
    /* PostgreSQL: connections per worker. SQLite: threads of the shared query pool (capped
     * at twice the CPUs, at least 2; one for :memory:). 0: for PostgreSQL, 16 connections in
     * all split among `workers` (at least one each): pipelining lets one connection carry a
     * worker's load, and a fixed number per worker would exceed the server's
     * max_connections (100 by default) on a many-core machine; for SQLite, 16. */
    int pool_size;
    /* How many workers will start a pool, for the default pool_size. 0: 1. */
    int workers;
    /* PostgreSQL: batches in flight on one connection. 0: 64. */
    int pipeline_depth;
    /* Batches waiting per worker when every pipeline is full (SQLite: per worker, queued or
     * running). Beyond this, a batch fails at once with CH_EUNAVAILABLE. 0: 4096. */
    int max_queued;
    /* PostgreSQL: limit on one connection attempt, startup included. 0: 5000 ms. */
    unsigned connect_timeout_ms;
    /* PostgreSQL: a connection with work in flight that receives nothing for this long is
     * considered dead and reset (its batches get CH_EUNAVAILABLE). 0: 60000 ms. */
    unsigned stall_timeout_ms;
};

/* Opens the database named by `url` (NULL or "" for ./chopin.db), on the main thread at
 * startup: validates the URL, connects once synchronously (the only blocking connect), creates
 * the schema and seed data if missing, and prepares the built-in statements. `opts` may be
 * NULL for the defaults. Returns the handle, or NULL with a one-line reason in `err` (bad URL,
 * unreachable server, authentication, unwritable file...). */
struct ch_db *ch_db_open(const char *url, const struct ch_db_options *opts, char *err,
                         size_t errlen);

/* Closes the handle and everything it owns. Every worker must have stopped. NULL is allowed. */
void ch_db_free(struct ch_db *db);

/* "postgres" or "sqlite". */
const char *ch_db_driver(const struct ch_db *db);

/* Registers a statement under `name` (for messages), with its SQL in each dialect: PostgreSQL
 * numbers parameters $1, $2...; SQLite takes ? or ?NNN. The SQL of the other driver may be
 * NULL. The statement is checked now on the startup connection (syntax, tables, parameter
 * types), so a mistake is a startup error, and later prepared on every pool connection.
 * Call it on the main thread after ch_db_open and before the first ch_db_worker_start.
 * Returns the statement id (>= CH_DB_BUILTIN_COUNT) or a negative CH_E* code with the reason
 * in `err` (CH_EBUSY once workers have started). */
int ch_db_stmt(struct ch_db *db, const char *name, const char *pg_sql, const char *sqlite_sql,
               char *err, size_t errlen);

/* Creates worker `w`'s pool on its loop, on that worker's thread (its worker_init hook). The
 * connections open in the background; batches submitted meanwhile wait for them. 0 or a
 * negative CH_E* code. */
int ch_db_worker_start(struct ch_db *db, struct ch_worker *w);

/* Destroys worker `w`'s pool, on that worker's thread (its worker_cleanup hook), never from
 * inside one of its callbacks. Batches still queued or in flight are answered with
 * CH_EUNAVAILABLE before it returns (finished SQLite batches with their results), and batches
 * those callbacks submit are refused the same way; connections are closed and everything is
 * freed. Harmless if the pool was never started. */
void ch_db_worker_stop(struct ch_db *db, struct ch_worker *w);

/* The pool of worker `worker_id` (e.g. req->worker_id), or NULL if it is not started. Only
 * meaningful on that worker's thread. */
struct ch_db_worker *ch_db_worker_get(const struct ch_db *db, int worker_id);

/* The pool of the worker serving `req`, in the database given to its app (ch_app_set_db());
 * NULL when the app has none or the pool is not started. */
struct ch_db_worker *ch_request_db(const struct ch_request *req);

/* Counters of one worker's pool, for tests, logs and health checks. */
struct ch_db_stats {
    uint64_t batches;     /* submitted */
    uint64_t queries;     /* submitted */
    uint64_t unavailable; /* batches answered CH_EUNAVAILABLE (down, queue full, reset) */
    uint64_t failed;      /* queries that failed with any other error */
    uint64_t reconnects;  /* connections re-established after a failure */
    uint64_t conn_errors; /* connections lost, and connection attempts that failed */
    int connections;      /* pool size */
    int ready;            /* connections open and usable (SQLite: pool threads) */
    int in_flight;        /* batches sent and not yet answered */
    int queued;           /* batches waiting for a connection or for the end of the pass */
};
void ch_db_worker_stats(const struct ch_db_worker *dw, struct ch_db_stats *out);

/* Query parameters. Each is converted to the statement's declared type: an int can feed an
 * int2/int4/int8 (range-checked), bool, numeric or text parameter; text feeds any type through
 * its text form; an int array feeds int4[]/int8[] (SQLite receives it as a JSON array, for
 * json_each()). ch_db_batch_add copies the values, so they may live on the caller's stack. */
enum ch_db_param_type {
    CH_DB_PARAM_NULL,
    CH_DB_PARAM_INT,
    CH_DB_PARAM_TEXT,
    CH_DB_PARAM_INT_ARRAY,
};

struct ch_db_param {
    enum ch_db_param_type type;
    union {
        int64_t i;
        struct ch_str text;
        struct {
            const int64_t *v;
            size_t n;
        } ints;
    } u;
};

static inline struct ch_db_param ch_db_param_null(void)
{
    struct ch_db_param p;
    memset(&p, 0, sizeof(p));
    p.type = CH_DB_PARAM_NULL;
    return p;
}

static inline struct ch_db_param ch_db_param_int(int64_t v)
{
    struct ch_db_param p;
    memset(&p, 0, sizeof(p));
    p.type = CH_DB_PARAM_INT;
    p.u.i = v;
    return p;
}

static inline struct ch_db_param ch_db_param_text(struct ch_str s)
{
    struct ch_db_param p;
    memset(&p, 0, sizeof(p));
    p.type = CH_DB_PARAM_TEXT;
    p.u.text = s;
    return p;
}

static inline struct ch_db_param ch_db_param_ints(const int64_t *v, size_t n)
{
    struct ch_db_param p;
    memset(&p, 0, sizeof(p));
    p.type = CH_DB_PARAM_INT_ARRAY;
    p.u.ints.v = v;
    p.u.ints.n = n;
    return p;
}

/* Called once per query with its result (or its error): read it with ch_db_rows() and the
 * accessors below; the view and its strings are valid only during the call. */
typedef void (*ch_db_result_fn)(void *arg, const struct ch_db_result *res);

/* Called once per batch after every result callback: 0 when all its queries succeeded, else
 * the first query's error (CH_EUNAVAILABLE when the database could not be reached). */
typedef void (*ch_db_done_fn)(void *arg, int err);

/* Starts a batch for pool `dw`, allocated in `arena` (the request's), which must stay valid
 * until the batch's last callback returned. No heap allocation. NULL if `dw` is NULL or the
 * arena is exhausted. A batch that is never submitted needs no cleanup. */
struct ch_db_batch *ch_db_batch_new(struct ch_db_worker *dw, struct ch_arena *arena);

/* Appends statement `stmt` with `nparams` parameters (copied). `cb` (may be NULL) receives its
 * result with `arg`. Returns 0, CH_EINVAL for an unknown statement or a wrong parameter count,
 * CH_ERANGE for an int that does not fit its parameter's type, or CH_ENOMEM; on error the
 * batch is unchanged and may still be submitted. */
int ch_db_batch_add(struct ch_db_batch *b, int stmt, const struct ch_db_param *params, int nparams,
                    ch_db_result_fn cb, void *arg);

/* Sends the batch (or queues it behind the busy pipelines). Its callbacks, then `done` (may
 * be NULL) with `done_arg`, run later on this worker's loop; never from inside this call.
 * The batch must not be used afterwards. */
void ch_db_batch_submit(struct ch_db_batch *b, ch_db_done_fn done, void *done_arg);

/* 0 if the query succeeded, else a CH_E* code: CH_EUNAVAILABLE (database unreachable, pool
 * full, connection lost), CH_EINVAL (constraint violation or invalid data), CH_EBUSY
 * (serialization failure, deadlock or lock timeout: retryable), CH_EIO (any other SQL error,
 * or aborted after an earlier failure in the same batch). */
int ch_db_error(const struct ch_db_result *res);

/* The error's message (empty on success). */
struct ch_str ch_db_error_message(const struct ch_db_result *res);

/* The five-character SQLSTATE of a PostgreSQL error, else "". */
const char *ch_db_sqlstate(const struct ch_db_result *res);

/* Rows and columns returned (0 on error, and for statements returning nothing). */
int ch_db_rows(const struct ch_db_result *res);
int ch_db_cols(const struct ch_db_result *res);

/* Rows inserted, updated or deleted by the statement. */
int64_t ch_db_affected(const struct ch_db_result *res);

/* Non-zero when the value at (row, col) is NULL or out of range. */
int ch_db_is_null(const struct ch_db_result *res, int row, int col);

/* The value as an integer: integer and boolean columns directly, floats truncated, text parsed
 * as decimal; 0 for NULL, out of range, or anything else. */
int64_t ch_db_int(const struct ch_db_result *res, int row, int col);

/* The value as text: text columns without copying; integers, floats, booleans, timestamps
 * ("YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC) and dates formatted into the batch's arena. Empty for
 * NULL or out of range. Other PostgreSQL types come in their binary form: cast them to text
 * in the SQL. Valid during the callback (formatted values: as long as the arena). */
struct ch_str ch_db_text(const struct ch_db_result *res, int row, int col);

#ifdef __cplusplus
}
#endif

#endif
