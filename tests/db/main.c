/* The database test runner: finds or starts a PostgreSQL cluster, prepares a SQLite file,
 * runs every test (pg_* ones only with a cluster), checks for leaks under ASan, and prints
 * "db: N passed, N failed".
 *
 * Environment: CHOPIN_PG_URL (and CHOPIN_PG_DIR, for the restart test) name a running
 * cluster, as printed by tests/db/pg-test-cluster.sh start; without them this program starts
 * its own with that script and stops it at the end. CHOPIN_REQUIRE_PG=1 turns a missing
 * cluster into a failure instead of a skip. Arguments filter tests by substring. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "chopin/error.h"
#include "dbtest.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#endif

const char *dbt_pg_url;
const char *dbt_pg_dir;
const char *dbt_sqlite_url;
const char *dbt_tmpdir;
int dbt_in_submit;
int dbt_sync_calls;

void dbt_worker_init(struct dbt_worker *t, int id)
{
    memset(t, 0, sizeof(*t));
    ASSERT_EQ(ch__worker_init(&t->w, &t->srv, id), 0);
}

void dbt_worker_cleanup(struct dbt_worker *t)
{
    /* What the worker thread's own cleanup does for a worker that never served. */
    free(t->w.blocks);
    close(t->w.wake_io.fd);
    ch__loop_cleanup(&t->w.loop);
}

int dbt_run_until(struct ch_worker *w, const int *counter, int target, unsigned timeout_ms)
{
    uint64_t end = ch__now_ms() + timeout_ms;
    while (*counter < target && ch__now_ms() < end) ch__loop_run_once(&w->loop, 5);
    return *counter >= target;
}

void dbt_run_for(struct ch_worker *w, unsigned ms)
{
    uint64_t end = ch__now_ms() + ms;
    while (ch__now_ms() < end) ch__loop_run_once(&w->loop, 5);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

void dbt_exec(const char *url, const char *sql)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (strncmp(path, "//", 2) == 0) path += 2;
        sqlite3 *c;
        ASSERT_EQ(sqlite3_open(path, &c), SQLITE_OK);
        sqlite3_busy_timeout(c, 5000);
        char *msg = NULL;
        int rc = sqlite3_exec(c, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) fprintf(stderr, "    sqlite: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(c);
        ASSERT_EQ(rc, SQLITE_OK);
        return;
    }
    PGconn *c = PQconnectdb(url);
    ASSERT_EQ(PQstatus(c), CONNECTION_OK);
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    int st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fprintf(stderr, "    postgres: %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    ASSERT(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

struct ch_db *dbt_open_bare(const char *url, const struct ch_db_options *opts)
{
    char err[512] = "";
    struct ch_db *db = ch_db_open(url, opts, err, sizeof(err));
    if (!db) ch_test_fail(__FILE__, __LINE__, "ch_db_open(%s): %s", url, err);
    return db;
}

struct ch_db *dbt_open(const char *url, const struct ch_db_options *opts)
{
    char err[512] = "";
    struct ch_db *db = dbt_open_bare(url, opts);
    if (dbt_fixture(db, err, sizeof(err)) != 0) {
        ch_db_free(db);
        ch_test_fail(__FILE__, __LINE__, "fixture on %s: %s", url, err);
    }
    return db;
}

/* Schemas made by dbt_fresh, dropped at the end so that other suites sharing the cluster
 * see only the public schema. */
static char schemas[64][64];
static int nschemas;

static void drop_schemas(void)
{
    char sql[256];
    for (int i = 0; dbt_pg_url && i < nschemas; i++) {
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %.63s CASCADE", schemas[i]);
        dbt_exec(dbt_pg_url, sql);
    }
}

void dbt_fresh(const char *url, const char *name, char *out, size_t outlen)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        snprintf(out, outlen, "%s/%s.db", dbt_tmpdir, name);
        unlink(out);
        snprintf(out, outlen, "sqlite://%s/%s.db", dbt_tmpdir, name);
        return;
    }
    /* A schema of its own, first on the search path: as good as a new database for what the
     * tests look at, and the test role may create schemas but not databases. */
    char sql[300];
    int known = 0;
    for (int i = 0; i < nschemas; i++) known |= strcmp(schemas[i], name) == 0;
    if (!known && nschemas < 64) snprintf(schemas[nschemas++], sizeof(schemas[0]), "%s", name);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", name);
    dbt_exec(url, sql);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", name);
    dbt_exec(url, sql);
    snprintf(out, outlen, "%s%coptions=-csearch_path%%3D%s", url, strchr(url, '?') ? '&' : '?',
             name);
}

void dbt_env_open(struct dbt_env *e, const char *url, const struct ch_db_options *opts)
{
    memset(e, 0, sizeof(*e));
    ch_arena_init(&e->arena, NULL, 0);
    e->db = dbt_open(url, opts);
}

void dbt_env_open_bare(struct dbt_env *e, const char *url)
{
    memset(e, 0, sizeof(*e));
    ch_arena_init(&e->arena, NULL, 0);
    e->db = dbt_open_bare(url, NULL);
}

int dbt_env_stmt(struct dbt_env *e, const char *name, const char *pg, const char *sqlite)
{
    char err[512] = "";
    int id = ch_db_stmt(e->db, name, pg, sqlite, err, sizeof(err));
    if (id < 0) ch_test_fail(__FILE__, __LINE__, "ch_db_stmt(%s): %s", name, err);
    return id;
}

void dbt_env_start(struct dbt_env *e)
{
    dbt_worker_init(&e->tw, 0);
    ASSERT_EQ(ch_db_worker_start(e->db, &e->tw.w), 0);
    e->dw = ch_db_worker_get(e->db, 0);
    ASSERT(e->dw != NULL);
    /* Wait for the pool (PostgreSQL connects in the background). */
    struct ch_db_stats st;
    uint64_t end = ch__now_ms() + 5000;
    do {
        ch__loop_run_once(&e->tw.w.loop, 5);
        ch_db_worker_stats(e->dw, &st);
    } while (st.ready < st.connections && ch__now_ms() < end);
    ASSERT_EQ(st.ready, st.connections);
}

void dbt_env_close(struct dbt_env *e)
{
    if (e->dw) ch_db_worker_stop(e->db, &e->tw.w);
    if (e->dw) dbt_worker_cleanup(&e->tw);
    ch_db_free(e->db);
    ch_arena_cleanup(&e->arena);
    memset(e, 0, sizeof(*e));
}

void dbt_on_result(void *arg, const struct ch_db_result *res)
{
    struct dbt_call *c = arg;
    if (dbt_in_submit) dbt_sync_calls++;
    c->calls++;
    c->err = ch_db_error(res);
    c->rows = ch_db_rows(res);
    c->cols = ch_db_cols(res);
    c->affected = ch_db_affected(res);
    struct ch_str m = ch_db_error_message(res);
    snprintf(c->msg, sizeof(c->msg), "%.*s", (int)m.len, m.ptr);
    for (int r = 0; r < c->rows && r < 64; r++)
        for (int k = 0; k < 2 && k < c->cols; k++) c->ints[r][k] = ch_db_int(res, r, k);
    if (c->rows > 0 && c->cols > 1) {
        struct ch_str t = ch_db_text(res, 0, 1);
        snprintf(c->text, sizeof(c->text), "%.*s", (int)t.len, t.ptr);
    }
}

void dbt_on_done(void *arg, const struct ch_db_outcome *out)
{
    int err = out->err;
    struct dbt_done *d = arg;
    if (dbt_in_submit) dbt_sync_calls++;
    d->calls++;
    d->err = err;
    d->query = out->query;
    snprintf(d->msg, sizeof(d->msg), "%.*s", (int)out->message.len,
             out->message.ptr ? out->message.ptr : "");
    snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", out->sqlstate ? out->sqlstate : "");
    if (d->counter) (*d->counter)++;
}

void dbt_submit(struct ch_db_batch *b, struct dbt_done *d)
{
    dbt_in_submit = 1;
    ch_db_batch_submit(b, dbt_on_done, d);
    dbt_in_submit = 0;
}

void dbt_add(struct ch_db_batch *b, int stmt, const int64_t *ints, int n, struct dbt_call *c)
{
    struct ch_db_param p[8] = {{0}};
    ASSERT(n <= 8);
    for (int i = 0; i < n; i++) p[i] = ch_db_param_int(ints[i]);
    ASSERT_EQ(ch_db_batch_add(b, stmt, p, n, dbt_on_result, c), 0);
}

/* PostgreSQL tests (named pg_*) are skipped when no cluster could be found or started. */
static int skip_without_pg(const char *name)
{
    return !dbt_pg_url && strncmp(name, "pg_", 3) == 0;
}

static char own_dir[512];

/* Starts a throwaway cluster with the script unless the environment names one. */
static void find_cluster(void)
{
    dbt_pg_url = getenv("CHOPIN_PG_URL");
    dbt_pg_dir = getenv("CHOPIN_PG_DIR");
    if (dbt_pg_url && *dbt_pg_url) return;
    dbt_pg_url = dbt_pg_dir = NULL;
    const char *script = getenv("CHOPIN_PG_SCRIPT");
    if (!script) script = "tests/db/pg-test-cluster.sh";
    if (access(script, X_OK) != 0) return;
    fprintf(stderr, "db: starting a PostgreSQL test cluster (%s start)\n", script);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s start", script);
    FILE *f = popen(cmd, "r");
    if (!f) return;
    static char url[512];
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "CHOPIN_PG_URL=", 14) == 0) snprintf(url, sizeof(url), "%s", line + 14);
        if (strncmp(line, "CHOPIN_PG_DIR=", 14) == 0)
            snprintf(own_dir, sizeof(own_dir), "%s", line + 14);
    }
    if (pclose(f) == 0 && url[0] && own_dir[0]) {
        dbt_pg_url = url;
        dbt_pg_dir = own_dir;
    } else {
        own_dir[0] = '\0';
    }
}

static void stop_own_cluster(void)
{
    if (!own_dir[0]) return;
    const char *script = getenv("CHOPIN_PG_SCRIPT");
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s stop '%s'", script ? script : "tests/db/pg-test-cluster.sh",
             own_dir);
    if (system(cmd) != 0) fprintf(stderr, "db: could not stop the test cluster in %s\n", own_dir);
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(dbt_tmpdir);
    const struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof(p), "%s/%s", dbt_tmpdir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    static const char *const files[] = {
        "test.db",       "test.db-wal", "test.db-shm", "chopin.db",  "chopin.db-wal",
        "chopin.db-shm", "rel.db",      "rel.db-wal",  "rel.db-shm", NULL};
    char path[512];
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", dbt_tmpdir, files[i]);
        unlink(path);
    }
    rmdir(dbt_tmpdir);
}

int main(int argc, char **argv)
{
    static char tmp[] = "/tmp/chopin-dbtest.XXXXXX";
    static char sqlite_url[600];
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    dbt_tmpdir = tmp;
    snprintf(sqlite_url, sizeof(sqlite_url), "sqlite://%s/test.db", tmp);
    dbt_sqlite_url = sqlite_url;
    find_cluster();
    int require_pg = getenv("CHOPIN_REQUIRE_PG") && strcmp(getenv("CHOPIN_REQUIRE_PG"), "1") == 0;

    struct ch_test_counts n = {0, 0, 0};
    ch_test_run(argc, argv, skip_without_pg, &n);
    int passed = n.passed, failed = n.failed, skipped = n.skipped;
    if (skipped) {
        fprintf(stderr,
                "db: SKIPPED %d PostgreSQL tests: no cluster (set CHOPIN_PG_URL, or install "
                "PostgreSQL so tests/db/pg-test-cluster.sh can start one)%s\n",
                skipped, require_pg ? "; CHOPIN_REQUIRE_PG=1 counts this as a failure" : "");
        if (require_pg) failed++;
    }
    if (dbt_sync_calls) {
        fprintf(stderr, "FAIL %d callbacks ran inside ch_db_batch_submit\n", dbt_sync_calls);
        failed++;
    }
    drop_schemas();
    stop_own_cluster();
    remove_tmpdir();
#ifdef HAVE_LSAN
    if (__lsan_do_recoverable_leak_check() != 0) {
        fprintf(stderr, "FAIL LeakSanitizer found leaks\n");
        failed++;
    }
#endif
    printf("db: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
