/* Helpers shared by the database tests: a bare worker (loop without HTTP), a loop driver,
 * direct SQL for fixtures, and callback trackers that check "exactly once, never inside
 * submit". */
#ifndef CHOPIN_DBTEST_H
#define CHOPIN_DBTEST_H

#include <stdint.h>

#include "chopin/db.h"
#include "core/server.h"
#include "test.h"

/* The PostgreSQL URL under test (NULL when no cluster), the cluster's directory when this
 * run may restart it (NULL otherwise), and the SQLite URL (a file in a temporary directory). */
extern const char *dbt_pg_url;
extern const char *dbt_pg_dir;
extern const char *dbt_sqlite_url;
extern const char *dbt_tmpdir;

/* A worker with its loop, as the server would create it, minus threads and listeners. */
struct dbt_worker {
    struct ch__server srv;
    struct ch_worker w;
};
void dbt_worker_init(struct dbt_worker *t, int id);
void dbt_worker_cleanup(struct dbt_worker *t);

/* Runs the loop until *counter >= target or `timeout_ms` passed; returns *counter >= target. */
int dbt_run_until(struct ch_worker *w, const int *counter, int target, unsigned timeout_ms);

/* Runs the loop for `ms` milliseconds. */
void dbt_run_for(struct ch_worker *w, unsigned ms);

/* Runs `sql` directly (libpq or sqlite3), for fixtures; fails the test on error. */
void dbt_exec(const char *url, const char *sql);

/* The fixture (fixture.c): migrations creating and seeding world and fortune, then these
 * statements, with these ids: world_by_id ($1 = id), fortunes, world_update ($1 = ids, $2 =
 * new numbers, int arrays). */
enum { DBT_WORLD_BY_ID = 0, DBT_FORTUNES = 1, DBT_WORLD_UPDATE = 2, DBT_FIXTURE_STMTS = 3 };
int dbt_fixture(struct ch_db *db, char *err, size_t errlen);

/* ch_db_open, then the fixture; fails the test with the reason. */
struct ch_db *dbt_open(const char *url, const struct ch_db_options *opts);

/* ch_db_open alone (nothing created), failing the test with the reason. */
struct ch_db *dbt_open_bare(const char *url, const struct ch_db_options *opts);

/* A fresh, empty database named `name` for `url`'s driver: a new SQLite file in the temporary
 * directory, or a PostgreSQL database created (dropped first) on the test cluster. Returns its
 * URL in `out`. */
void dbt_fresh(const char *url, const char *name, char *out, size_t outlen);

/* Opens `url`, starts a pool on a fresh worker and waits until it is usable. */
struct dbt_env {
    struct ch_db *db;
    struct dbt_worker tw;
    struct ch_db_worker *dw;
    struct ch_arena arena;
};
void dbt_env_open(struct dbt_env *e, const char *url, const struct ch_db_options *opts);
/* The same without the fixture. */
void dbt_env_open_bare(struct dbt_env *e, const char *url);
/* Registers a statement after open (before the pool starts: call dbt_env_start after). */
int dbt_env_stmt(struct dbt_env *e, const char *name, const char *pg, const char *sqlite);
void dbt_env_start(struct dbt_env *e);
void dbt_env_close(struct dbt_env *e);

/* What one query callback saw. */
struct dbt_call {
    int calls;
    int err;
    int rows, cols;
    int64_t affected;
    int64_t ints[64][2]; /* the first two columns of up to 64 rows, as ints */
    char text[256];      /* column 1 of row 0, as text */
    char msg[256];
};

/* Counts calls into *(int *)arg-adjacent trackers; submit through dbt_submit so that a call
 * from inside submit is detected. */
extern int dbt_in_submit;
extern int dbt_sync_calls; /* callbacks that ran inside a submit: must stay 0 */
void dbt_on_result(void *arg, const struct ch_db_result *res);

struct dbt_done {
    int calls;
    int err;
    int query;     /* the outcome's failing query */
    char msg[256]; /* the outcome's message */
    char sqlstate[8];
    int *counter; /* incremented too, when set */
};
void dbt_on_done(void *arg, const struct ch_db_outcome *out);
void dbt_submit(struct ch_db_batch *b, struct dbt_done *d);

/* Adds a query with int parameters; asserts success. */
void dbt_add(struct ch_db_batch *b, int stmt, const int64_t *ints, int n, struct dbt_call *c);

/* Tests for both drivers: DB_TEST(x) defines sqlite_x and pg_x, bodies taking the URL. */
#define DB_TEST(name)                         \
    static void body_##name(const char *url); \
    TEST(sqlite_##name)                       \
    {                                         \
        body_##name(dbt_sqlite_url);          \
    }                                         \
    TEST(pg_##name)                           \
    {                                         \
        body_##name(dbt_pg_url);              \
    }                                         \
    static void body_##name(const char *url)

#endif
