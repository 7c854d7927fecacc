/* The database layer: one process-wide handle, a pool per worker, and batches of prepared
 * statements answered asynchronously on the worker's loop; migrations; and the one call that
 * wires all of it into an app.
 *
 * DATABASE_URL picks the driver:
 *   (unset or empty)                 SQLite file ./chopin.db, created on first start
 *   sqlite:///abs/path.db            SQLite file at an absolute path
 *   sqlite://rel/path.db, sqlite:x   SQLite file relative to the working directory
 *   sqlite::memory:                  a private in-memory SQLite database
 *   postgres://u:p@host:port/db      PostgreSQL (also postgresql://, and libpq's
 *   host=... dbname=...              key=value form; every libpq parameter is accepted)
 *
 * The library owns no application data: opening a database creates no table (migrations
 * create chopin_migrations, below) and registers no statement. An app brings its schema as
 * migrations and its SQL as statements.
 *
 * Most apps need one call (see "Wiring on the app" at the end):
 *
 *     static const struct ch_migration migrations[] = {
 *         {.version = 1,
 *          .name = "create_posts",
 *          .sql = "CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL)",
 *          .down = "DROP TABLE posts"},
 *     };
 *     static int post_by_id;
 *
 *     ch_app_use_database(app, NULL);          DATABASE_URL, DB_POOL_SIZE, WORKERS
 *     ch_app_migrations(app, "app", migrations, 1);
 *     post_by_id = ch_app_statement(app, "post_by_id",
 *                                   "SELECT id, title FROM posts WHERE id = $1", NULL);
 *     ... handlers: ch_db_batch_new(ch_request_db(req), &req->arena) ...
 *     return ch_app_run(app, argc, argv);
 *
 * Lifecycle without the app, on the threads that own each step:
 *   main thread:  db = ch_db_open(url, &opts, err, sizeof(err));
 *                 ch_db_migrate(db, migrations, err, sizeof(err));
 *                 id = ch_db_stmt(db, "name", sql, sqlite_sql_or_NULL, err, sizeof(err));  ...
 *   each worker:  ch_db_worker_start(db, w)  (from the server's worker_init hook)
 *                 handlers: ch_db_batch_new / _add / _submit, callbacks on the same thread
 *                 ch_db_worker_stop(db, w)   (from the worker_cleanup hook)
 *   main thread:  ch_db_free(db) once every worker has stopped.
 *
 * SQL text: parameters are numbered $1, $2... on both drivers, so one text serves both
 * (SQLite binds them by name; a parameter may appear several times, in any order). SQLite
 * also takes ? and ?NNN, bound by position.
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
 * request whose arena held the batch. */
#ifndef CHOPIN_DB_H
#define CHOPIN_DB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
 * startup: validates the URL and connects once synchronously (the only blocking connect; the
 * startup connection also runs the migrations and checks the statements). Creates nothing.
 * `opts` may be NULL for the defaults. Returns the handle, or NULL with a one-line reason in `err`
 * (bad URL, unreachable server, authentication, unwritable file...). */
struct ch_db *ch_db_open(const char *url, const struct ch_db_options *opts, char *err,
                         size_t errlen);

/* Closes the handle and everything it owns. Every worker must have stopped. NULL is allowed. */
void ch_db_free(struct ch_db *db);

/* "postgres" or "sqlite". */
const char *ch_db_driver(const struct ch_db *db);

/* Registers a statement under `name` (for messages). `sql` serves both drivers (parameters
 * $1, $2...); `sqlite_sql`, when not NULL, replaces it on SQLite (for SQL that differs, e.g.
 * arrays). A NULL `sql` with a `sqlite_sql` makes a SQLite-only statement (an error on
 * PostgreSQL). The statement is checked now on the startup connection (syntax, tables,
 * parameter types), so a mistake is a startup error naming it, and later prepared on every
 * pool connection. Call it on the main thread after ch_db_open (and after the migrations that
 * create its tables) and before the first ch_db_worker_start. Returns the statement id (0, 1,
 * 2... in registration order) or a negative CH_E* code with the reason in `err` (CH_EBUSY
 * once workers have started). */
int ch_db_stmt(struct ch_db *db, const char *name, const char *sql, const char *sqlite_sql,
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

/* The pool of the worker serving `req`, in its app's database (ch_app_use_database() or
 * ch_app_set_db()); NULL when the app has none or the pool is not started. */
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

/* How a batch ended, for its done callback: the first failure's own code and message (not
 * the "aborted" of the queries after it). Valid during the call only. */
struct ch_db_outcome {
    int err;               /* 0 when every query succeeded, else a code as ch_db_error() gives */
    int query;             /* 0-based index of the failing query; -1 on success, and when the
                              whole batch was refused (database unavailable, pool stopping) */
    struct ch_str message; /* the database's message for that query; "" on success */
    const char *sqlstate;  /* PostgreSQL's SQLSTATE of that error, else "" */
};

/* Called once per batch after every result callback, with how it ended. */
typedef void (*ch_db_done_fn)(void *arg, const struct ch_db_outcome *out);

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

/* 0 if the query succeeded, else a CH_E* code, the same on both drivers:
 *   CH_ECONFLICT     unique or primary key, foreign key, exclusion violation (PostgreSQL
 *                    SQLSTATE 23505, 23503, 23001, 23P01; SQLite SQLITE_CONSTRAINT_UNIQUE,
 *                    _PRIMARYKEY, _FOREIGNKEY)
 *   CH_EINVAL        not-null or check violation, invalid or out-of-range data (23502, 23514,
 *                    class 22; SQLITE_CONSTRAINT_NOTNULL, _CHECK, _DATATYPE, SQLITE_MISMATCH...)
 *   CH_EUNAVAILABLE  database unreachable, shutting down, out of resources, pool full,
 *                    connection lost (classes 08, 53, 57; SQLITE_CANTOPEN, _IOERR, _FULL)
 *   CH_EBUSY         serialization failure, deadlock or lock timeout: retryable
 *   CH_EIO           any other SQL error, or aborted after an earlier failure in the batch.
 * ch_db_error_kind() (db_respond.h) maps each to its HTTP answer. */
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

/* Column types, the same on both drivers for the same schema. PostgreSQL: from the column's
 * type (int2/4/8 and oid, float4/8, numeric, bool, text/varchar/char/name, timestamp[tz],
 * date, bytea, json/jsonb, uuid as text; anything else is CH_DB_TYPE_OTHER). SQLite: from the
 * declared type (BOOLEAN/BOOL, TIMESTAMP/DATETIME, DATE, then SQLite's affinity rules: INT,
 * CHAR/CLOB/TEXT, BLOB, REAL/FLOA/DOUB, JSON, else NUMERIC); a column without one (an
 * expression) takes the storage class of its first non-NULL value, CH_DB_TYPE_NULL if none. */
enum ch_db_type {
    CH_DB_TYPE_NULL,      /* SQLite: no declared type and no value to tell */
    CH_DB_TYPE_INT,       /* JSON integer */
    CH_DB_TYPE_FLOAT,     /* JSON number */
    CH_DB_TYPE_NUMERIC,   /* JSON number, PostgreSQL's exact decimal text */
    CH_DB_TYPE_BOOL,      /* JSON true/false */
    CH_DB_TYPE_TEXT,      /* JSON string */
    CH_DB_TYPE_TIMESTAMP, /* JSON string "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC */
    CH_DB_TYPE_DATE,      /* JSON string "YYYY-MM-DD" */
    CH_DB_TYPE_BYTES,     /* JSON string, base64 */
    CH_DB_TYPE_JSON,      /* the JSON value itself */
    CH_DB_TYPE_OTHER,     /* PostgreSQL types not listed: cast them to text in the SQL */
};

/* Column `col`'s name as the statement returns it (its alias), or "" out of range. */
const char *ch_db_col_name(const struct ch_db_result *res, int col);

/* Column `col`'s type (CH_DB_TYPE_NULL out of range). */
enum ch_db_type ch_db_col_type(const struct ch_db_result *res, int col);

/* The index of the first column called `name` (exact, case-sensitive), or -1. */
int ch_db_col(const struct ch_db_result *res, const char *name);

/* The value as a double: floats, integers, numerics and numeric text; 0 for NULL, out of range
 * or anything else. */
double ch_db_float(const struct ch_db_result *res, int row, int col);

/* The value as a boolean (0 or 1): booleans; integers and floats are true when non-zero; text
 * is true when it is "t", "true", "y", "yes", "on" or "1" (any case); 0 for NULL. */
int ch_db_bool(const struct ch_db_result *res, int row, int col);

/* The value as text: text columns without copying; integers, floats, booleans, timestamps
 * ("YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC) and dates formatted into the batch's arena. Empty for
 * NULL or out of range. Other PostgreSQL types come in their binary form: cast them to text
 * in the SQL. Valid during the callback (formatted values: as long as the arena). */
struct ch_str ch_db_text(const struct ch_db_result *res, int row, int col);

struct ch_json_writer;

/* Writes row `row` as one JSON object keyed by column name, in column order, each value typed
 * by its column (see enum ch_db_type): integers, floats, booleans, null, text, timestamps and
 * dates as ISO 8601 text, bytes as base64, JSON columns as their value. SQLite has no boolean
 * or time storage: a column declared BOOLEAN holding 0/1 becomes false/true, and one declared
 * TIMESTAMP/DATETIME/DATE holding text ("YYYY-MM-DD[ HH:MM[:SS[.fff]]][Z|+HH:MM]"), unix
 * seconds (integer) or a Julian day (real) becomes the same ISO text as on PostgreSQL. So the
 * same schema and data give the same bytes on both drivers. Returns the writer's status: 0, its
 * sticky error, or CH_EINVAL for a value that has no JSON form (CH_DB_TYPE_OTHER, a row out of
 * range), which then fails the writer. */
int ch_db_write_row(struct ch_json_writer *w, const struct ch_db_result *res, int row);

/* Writes every row as a JSON array of such objects ([] when there are none). */
int ch_db_write_rows(struct ch_json_writer *w, const struct ch_db_result *res);

/* ---- Migrations ----------------------------------------------------------------------------
 *
 * An app declares its schema as ordered migrations, in named sets: "app" for the app's own,
 * and one per library component that ships tables (e.g. "auth"), so versions never clash
 * between them. At startup the pending ones are applied: sets in the order they were added,
 * each set by ascending version, each migration in its own transaction together with its
 * record in the table
 *
 *   chopin_migrations(id, set_name, version, name, checksum, applied_at)
 *
 * so a failing migration leaves nothing half-applied; startup stops with one line naming it.
 * Do not put BEGIN/COMMIT in a migration, nor statements PostgreSQL refuses inside a
 * transaction (CREATE INDEX CONCURRENTLY, VACUUM).
 *
 * Checks, before anything is applied:
 *  - an applied migration whose text (for the current driver) changed since is an error that
 *    names it: edit the schema with a new migration, never by changing an applied one;
 *  - an applied version that this program does not declare (in a set it declares) is a
 *    warning, not an error: during a rolling deploy or after rolling back to the previous
 *    release, the older program must still start against the newer schema. --migrate-status
 *    lists such versions as "missing".
 *
 * Several processes starting at once against one database apply each migration exactly once:
 * on PostgreSQL they serialize on an advisory lock for the whole run; on SQLite each migration
 * runs in an exclusive transaction that first checks whether another process applied it.
 *
 * Migrations in code: an array of struct ch_migration. SQL texts: `sql` serves both drivers;
 * `sql_postgres` / `sql_sqlite` replace it on one of them. Same for the optional down step. A
 * migration with no SQL for the driver in use is an error when it would be applied.
 *
 * Migrations as files, one directory per set (ch_migrations_dir()):
 *   0001_create_posts.sql              up, both drivers
 *   0001_create_posts.postgres.sql     up, PostgreSQL only (replaces the plain file there)
 *   0001_create_posts.sqlite.sql       up, SQLite only
 *   0001_create_posts.down.sql         down step, both drivers (optional)
 *   0001_create_posts.down.postgres.sql / .down.sqlite.sql   per-driver down steps
 * The version is the leading number (0001 and 1 are the same version), the name is what
 * follows the first '_' up to the first '.'. Other files ending in .sql, two names for one
 * version, or an up step missing for a version that has down steps are errors; files not
 * ending in .sql (README, .keep) are ignored. */
struct ch_migration {
    int64_t version;  /* > 0, unique within its set */
    const char *name; /* shown in messages and recorded: letters, digits, '_' and '-' */
    const char *sql;  /* the up step on both drivers, unless overridden */
    const char *sql_postgres;
    const char *sql_sqlite;
    const char *down; /* optional down step (--migrate-down); NULL: none */
    const char *down_postgres;
    const char *down_sqlite;
};

/* A registry of migration sets, before any database is open. */
struct ch_migrations;

struct ch_migrations *ch_migrations_new(void);
void ch_migrations_free(struct ch_migrations *ms);

/* Adds `n` migrations (copied) to set `set` ("app", "auth": letters, digits and '_'). Fails
 * with a one-line reason for a bad set or name, a version <= 0, or a version already in the
 * set. 0 or a negative CH_E* code. */
int ch_migrations_add(struct ch_migrations *ms, const char *set, const struct ch_migration *m,
                      size_t n, char *err, size_t errlen);

/* Reads every migration of directory `dir` into set `set` (the file convention above), now.
 * 0 or a negative CH_E* code with a one-line reason naming the file. */
int ch_migrations_dir(struct ch_migrations *ms, const char *set, const char *dir, char *err,
                      size_t errlen);

/* Applies the pending migrations of `ms` (NULL: none, but chopin_migrations is created), on the
 * main thread before any worker starts. 0, or a negative CH_E* code with one line in `err`. */
int ch_db_migrate(struct ch_db *db, const struct ch_migrations *ms, char *err, size_t errlen);

/* Writes a table of every migration to `out`: set, version, name, status (applied, pending,
 * changed: applied with another text, missing: applied but not declared), applied time. Changes
 * nothing in the database. 0 or a negative CH_E* code. */
int ch_db_migrate_status(struct ch_db *db, const struct ch_migrations *ms, FILE *out, char *err,
                         size_t errlen);

/* Rolls back the last `n` applied migrations (latest first), each with its down step in its
 * own transaction, deleting its record. Refuses, changing nothing, when fewer than `n` are
 * applied or when one of them has no down step for this driver or is not declared. 0 or a
 * negative CH_E* code with one line in `err`. */
int ch_db_migrate_down(struct ch_db *db, const struct ch_migrations *ms, int n, char *err,
                       size_t errlen);

/* ---- Wiring on the app ---------------------------------------------------------------------
 *
 * ch_app_use_database() makes ch_app_serve() (and ch_app_run()):
 *   1. open the database (DATABASE_URL unless opts->url; DB_POOL_SIZE and WORKERS fill
 *      opts->db.pool_size and .workers when those are 0),
 *   2. apply the migrations declared with ch_app_migrations() / ch_app_migrations_dir(),
 *   3. check every statement declared with ch_app_statement(), in order (so a typo or a
 *      missing column is a startup error naming the statement),
 *   4. start each worker's pool on that worker's thread before the app's own worker start
 *      hook (ch_app_on_worker) runs, and stop it before the app's stop hook runs (every
 *      batch's callbacks have then run, so the hook may free what they used),
 *   5. close the database and free everything once the workers stopped.
 * Any failure is one line on stderr and exit status 1. Handlers reach their worker's pool with
 * ch_request_db(req); worker hooks with ch_db_worker_get(ch_app_db(app), ch_worker_index(w)).
 *
 * The command line gains (ch_app_configure()):
 *   --migrate-status   prints the migrations table and exits 0
 *   --migrate-only     applies the pending migrations and exits 0 (1 on failure)
 *   --migrate-down N   rolls back the last N migrations (see ch_db_migrate_down) and exits
 * Declaring migrations or statements without ch_app_use_database() is a startup error.
 * An app that opens and manages its database itself uses ch_app_set_db() instead (chopin/app.h);
 * the two are exclusive. */
struct ch_app;

struct ch_app_db_options {
    const char *url;         /* NULL: the configuration's DATABASE_URL */
    struct ch_db_options db; /* 0 fields: DB_POOL_SIZE, WORKERS, then the layer's defaults */
};

/* `opts` may be NULL (copied, with the url string). 0 or a negative CH_E* code. */
int ch_app_use_database(struct ch_app *app, const struct ch_app_db_options *opts);

/* ch_migrations_add() / ch_migrations_dir() into the app's registry. Errors are also kept
 * and reported by ch_app_serve(). 0 or a negative CH_E* code. */
int ch_app_migrations(struct ch_app *app, const char *set, const struct ch_migration *m, size_t n);
int ch_app_migrations_dir(struct ch_app *app, const char *set, const char *dir);

/* Declares a statement (ch_db_stmt() rules: `sql` for both drivers, `sql_sqlite` may replace it
 * on SQLite), checked at startup after the migrations. Returns its id for ch_db_batch_add(),
 * known at once (0, 1, 2... in declaration order), or a negative CH_E* code (the error is also
 * kept and reported by ch_app_serve()). */
int ch_app_statement(struct ch_app *app, const char *name, const char *sql, const char *sql_sqlite);

/* The open database while the app serves (in worker hooks and handlers), else NULL. */
struct ch_db *ch_app_db(const struct ch_app *app);

#ifdef __cplusplus
}
#endif

#endif
