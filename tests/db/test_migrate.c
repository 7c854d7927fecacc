/* Migrations on both drivers: a fresh database holds only what the app declares, order and
 * one transaction per migration, checksums, versions missing from the code, status, down
 * steps, directories with per-driver variants, concurrent processes; and $N parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chopin/error.h"
#include "dbtest.h"

static int is_pg(const char *url)
{
    return strncmp(url, "sqlite:", 7) != 0;
}

/* Runs one query on `db` (opened, not started) through a pool and returns column 0 of each
 * row as text joined by ',' (or "ERR:<message>"). */
static void query_text(const char *url, const char *sql, char *out, size_t outlen);

struct collect {
    char *out;
    size_t len;
};

static void on_collect(void *arg, const struct ch_db_result *res)
{
    struct collect *c = arg;
    size_t n = 0;
    if (ch_db_error(res)) {
        struct ch_str m = ch_db_error_message(res);
        snprintf(c->out, c->len, "ERR:%.*s", (int)m.len, m.ptr);
        return;
    }
    c->out[0] = '\0';
    for (int r = 0; r < ch_db_rows(res); r++) {
        struct ch_str t = ch_db_text(res, r, 0);
        int k = snprintf(c->out + n, c->len - n, "%s%.*s", r ? "," : "", (int)t.len, t.ptr);
        if (k < 0 || (size_t)k >= c->len - n) break;
        n += (size_t)k;
    }
}

static void query_text(const char *url, const char *sql, char *out, size_t outlen)
{
    struct dbt_env e;
    dbt_env_open_bare(&e, url);
    char err[512] = "";
    int id = ch_db_stmt(e.db, "q", sql, NULL, err, sizeof(err));
    if (id < 0) {
        snprintf(out, outlen, "ERR:%s", err);
        dbt_env_close(&e);
        return;
    }
    dbt_env_start(&e);
    struct collect c = {out, outlen};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    ASSERT_EQ(ch_db_batch_add(b, id, NULL, 0, on_collect, &c), 0);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 10000));
    dbt_env_close(&e);
}

/* The tables of the database (of the schema in use on PostgreSQL), sorted, joined by ','. */
static void tables(const char *url, char *out, size_t outlen)
{
    query_text(url,
               is_pg(url) ? "SELECT table_name::text FROM information_schema.tables WHERE "
                            "table_schema = current_schema() ORDER BY 1"
                          : "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
               out, outlen);
}

static int migrate(const char *url, const struct ch_migration *m, size_t n, char *err,
                   size_t errlen)
{
    struct ch_db *db = dbt_open_bare(url, NULL);
    struct ch_migrations *ms = ch_migrations_new();
    int rc = ch_migrations_add(ms, "app", m, n, err, errlen);
    if (rc == 0) rc = ch_db_migrate(db, ms, err, errlen);
    ch_migrations_free(ms);
    ch_db_free(db);
    return rc;
}

static const struct ch_migration posts[] = {
    {.version = 1,
     .name = "create_posts",
     .sql = "CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL)",
     .down = "DROP TABLE posts"},
    {.version = 2,
     .name = "add_tags",
     .sql = "CREATE TABLE tags (post_id integer NOT NULL REFERENCES posts (id), tag text);"
            "INSERT INTO posts (id, title) VALUES (1, 'first')",
     .down = "DROP TABLE tags; DELETE FROM posts"},
};

DB_TEST(fresh_database_holds_only_the_apps_tables)
{
    char fresh[1024], out[512], err[512] = "";
    dbt_fresh(url, "mig_fresh", fresh, sizeof(fresh));
    /* Opening creates nothing at all. */
    ch_db_free(dbt_open_bare(fresh, NULL));
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "");
    ASSERT_EQ(migrate(fresh, posts, 2, err, sizeof(err)), 0);
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "chopin_migrations,posts,tags");
    query_text(fresh, "SELECT set_name || ':' || version || ':' || name || ':' || "
                      "length(checksum) FROM chopin_migrations ORDER BY id",
               out, sizeof(out));
    ASSERT_CSTR_EQ(out, "app:1:create_posts:16,app:2:add_tags:16");
    /* A second start applies nothing (the INSERT of version 2 would fail on its key). */
    ASSERT_EQ(migrate(fresh, posts, 2, err, sizeof(err)), 0);
    query_text(fresh, "SELECT count(*) FROM posts", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "1");
}

DB_TEST(migrations_run_in_version_order_each_in_a_transaction)
{
    char fresh[1024], out[512], err[512] = "";
    dbt_fresh(url, "mig_order", fresh, sizeof(fresh));
    /* Declared out of order: 2 needs 1's table, so only version order works. Version 3
     * writes a row, then fails: its row and its table must not survive, and 4 never runs. */
    const struct ch_migration m[] = {
        {.version = 3,
         .name = "half_done",
         .sql = "CREATE TABLE t3 (x integer); INSERT INTO t1 (x) VALUES (30);"
                " INSERT INTO no_such_table VALUES (1)"},
        {.version = 1, .name = "one", .sql = "CREATE TABLE t1 (x integer)"},
        {.version = 4, .name = "four", .sql = "CREATE TABLE t4 (x integer)"},
        {.version = 2, .name = "two", .sql = "INSERT INTO t1 (x) VALUES (20)"},
    };
    ASSERT_EQ(migrate(fresh, m, 4, err, sizeof(err)), CH_EIO);
    if (!strstr(err, "migration app/0003_half_done failed") || !strstr(err, "no_such_table"))
        ch_test_fail(__FILE__, __LINE__, "error '%s'", err);
    ASSERT(strchr(err, '\n') == NULL);
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "chopin_migrations,t1");
    query_text(fresh, "SELECT x FROM t1 ORDER BY x", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "20");
    query_text(fresh, "SELECT version FROM chopin_migrations ORDER BY id", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "1,2");
}

DB_TEST(changed_and_missing_migrations)
{
    char fresh[1024], out[512], err[512] = "";
    dbt_fresh(url, "mig_changed", fresh, sizeof(fresh));
    ASSERT_EQ(migrate(fresh, posts, 2, err, sizeof(err)), 0);

    /* Version 2's text edited after it was applied: an error naming it, nothing applied. */
    struct ch_migration edited[3] = {posts[0], posts[1]};
    edited[1].sql = "CREATE TABLE tags (post_id integer, tag text)";
    edited[2] = (struct ch_migration){.version = 3, .name = "three", .sql = "CREATE TABLE t3 (x int)"};
    ASSERT_EQ(migrate(fresh, edited, 3, err, sizeof(err)), CH_EINVAL);
    if (!strstr(err, "migration app/0002_add_tags was changed after it was applied"))
        ch_test_fail(__FILE__, __LINE__, "error '%s'", err);
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "chopin_migrations,posts,tags");

    /* Version 2 missing from the code (an older release): a warning, the start goes on. */
    ASSERT_EQ(migrate(fresh, posts, 1, err, sizeof(err)), 0);

    /* --migrate-status shows all four states. */
    struct ch_db *db = dbt_open_bare(fresh, NULL);
    struct ch_migrations *ms = ch_migrations_new();
    struct ch_migration st[3] = {posts[0], posts[1], edited[2]};
    st[0].sql = "CREATE TABLE posts (id integer PRIMARY KEY)"; /* changed */
    st[1].version = 5;                                         /* 2 is missing, 5 pending */
    ASSERT_EQ(ch_migrations_add(ms, "app", st, 3, err, sizeof(err)), 0);
    FILE *f = tmpfile();
    ASSERT(f != NULL);
    ASSERT_EQ(ch_db_migrate_status(db, ms, f, err, sizeof(err)), 0);
    rewind(f);
    char text[2048];
    size_t got = fread(text, 1, sizeof(text) - 1, f);
    text[got] = '\0';
    fclose(f);
    ch_migrations_free(ms);
    ch_db_free(db);
    /* Declared ones by version, then the applied ones the code lacks. */
    const char *want[] = {" 1  create_posts", "changed", " 3  three",  "pending",
                          " 5  add_tags",     "pending", " 2  add_tags", "missing"};
    const char *p = text;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *q = strstr(p, want[i]);
        if (!q) ch_test_fail(__FILE__, __LINE__, "'%s' missing in order from:\n%s", want[i], text);
        p = q + strlen(want[i]);
    }
    ASSERT(strstr(text, "SET") == text);
}

DB_TEST(down_steps)
{
    char fresh[1024], out[512], err[512] = "";
    dbt_fresh(url, "mig_down", fresh, sizeof(fresh));
    struct ch_migration m[3] = {posts[0], posts[1]};
    m[2] = (struct ch_migration){.version = 3, .name = "no_way_back", .sql = "CREATE TABLE t3 (x int)"};
    ASSERT_EQ(migrate(fresh, m, 3, err, sizeof(err)), 0);
    struct ch_db *db = dbt_open_bare(fresh, NULL);
    struct ch_migrations *ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_add(ms, "app", m, 3, err, sizeof(err)), 0);
    /* The last one declares no down step: refused, nothing done. */
    ASSERT_EQ(ch_db_migrate_down(db, ms, 2, err, sizeof(err)), CH_EINVAL);
    if (!strstr(err, "app/0003_no_way_back") || !strstr(err, "no down step"))
        ch_test_fail(__FILE__, __LINE__, "error '%s'", err);
    ASSERT_EQ(ch_db_migrate_down(db, ms, 4, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "only 3 applied") != NULL);
    ch_migrations_free(ms);
    ch_db_free(db);
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "chopin_migrations,posts,t3,tags");

    /* Without it, the two others roll back, latest first (tags references posts). */
    db = dbt_open_bare(fresh, NULL);
    dbt_exec(fresh, "DROP TABLE t3");
    dbt_exec(fresh, "DELETE FROM chopin_migrations WHERE version = 3");
    ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_add(ms, "app", m, 2, err, sizeof(err)), 0);
    ASSERT_EQ(ch_db_migrate_down(db, ms, 1, err, sizeof(err)), 0);
    ch_db_free(db);
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "chopin_migrations,posts");
    query_text(fresh, "SELECT count(*) FROM posts", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "0");
    db = dbt_open_bare(fresh, NULL);
    ASSERT_EQ(ch_db_migrate_down(db, ms, 1, err, sizeof(err)), 0);
    ch_db_free(db);
    tables(fresh, out, sizeof(out));
    ASSERT_CSTR_EQ(out, "chopin_migrations");
    /* And up again. */
    db = dbt_open_bare(fresh, NULL);
    ASSERT_EQ(ch_db_migrate(db, ms, err, sizeof(err)), 0);
    ch_db_free(db);
    ch_migrations_free(ms);
    query_text(fresh, "SELECT name FROM chopin_migrations ORDER BY id", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "create_posts,add_tags");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
}

DB_TEST(directory_with_driver_variants)
{
    char dir[600], fresh[1024], out[512], err[512] = "";
    snprintf(dir, sizeof(dir), "%s/migrations-%s", dbt_tmpdir, is_pg(url) ? "pg" : "sqlite");
    ASSERT_EQ(mkdir(dir, 0700), 0);
    write_file(dir, "0001_create_posts.sql",
               "CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL);");
    write_file(dir, "0001_create_posts.down.sql", "DROP TABLE posts;");
    write_file(dir, "0002_driver.postgres.sql", "INSERT INTO posts VALUES (1, 'postgres');");
    write_file(dir, "0002_driver.sqlite.sql", "INSERT INTO posts VALUES (1, 'sqlite');");
    write_file(dir, "0010_later.sql", "INSERT INTO posts VALUES (10, 'ten');");
    write_file(dir, "0010_later.down.postgres.sql", "DELETE FROM posts WHERE id >= 10;");
    write_file(dir, "README.md", "ignored");
    dbt_fresh(url, "mig_dir", fresh, sizeof(fresh));
    struct ch_migrations *ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_dir(ms, "app", dir, err, sizeof(err)), 0);
    struct ch_db *db = dbt_open_bare(fresh, NULL);
    ASSERT_EQ(ch_db_migrate(db, ms, err, sizeof(err)), 0);
    ch_db_free(db);
    query_text(fresh, "SELECT title FROM posts ORDER BY id", out, sizeof(out));
    ASSERT_CSTR_EQ(out, is_pg(url) ? "postgres,ten" : "sqlite,ten");
    query_text(fresh, "SELECT version || name FROM chopin_migrations ORDER BY id", out,
               sizeof(out));
    ASSERT_CSTR_EQ(out, "1create_posts,2driver,10later");
    /* The down step of 10 exists for PostgreSQL only. */
    db = dbt_open_bare(fresh, NULL);
    int rc = ch_db_migrate_down(db, ms, 1, err, sizeof(err));
    ch_db_free(db);
    ch_migrations_free(ms);
    if (is_pg(url)) {
        ASSERT_EQ(rc, 0);
        query_text(fresh, "SELECT title FROM posts ORDER BY id", out, sizeof(out));
        ASSERT_CSTR_EQ(out, "postgres");
    } else {
        ASSERT_EQ(rc, CH_EINVAL);
        ASSERT(strstr(err, "app/0010_later") && strstr(err, "no down step for sqlite"));
    }

    /* Badly named files and two names for one version are errors naming the file. */
    write_file(dir, "2_x.mysql.sql", "SELECT 1;");
    ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_dir(ms, "app", dir, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "2_x.mysql.sql") != NULL);
    ch_migrations_free(ms);
    char path[1024];
    snprintf(path, sizeof(path), "%s/2_x.mysql.sql", dir);
    unlink(path);
    write_file(dir, "0002_other.sql", "SELECT 1;");
    ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_dir(ms, "app", dir, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "version 2 has two names") != NULL);
    ch_migrations_free(ms);
    ms = ch_migrations_new();
    snprintf(path, sizeof(path), "%s/nope", dir);
    ASSERT_EQ(ch_migrations_dir(ms, "app", path, err, sizeof(err)), CH_EIO);
    ASSERT(strstr(err, "nope") != NULL);
    ch_migrations_free(ms);
    static const char *const files[] = {
        "0001_create_posts.sql", "0001_create_posts.down.sql", "0002_driver.postgres.sql",
        "0002_driver.sqlite.sql", "0010_later.sql", "0010_later.down.postgres.sql",
        "README.md", "0002_other.sql"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

TEST(registry_rejects_bad_declarations)
{
    char err[512] = "";
    struct ch_migrations *ms = ch_migrations_new();
    const struct ch_migration ok = {.version = 1, .name = "a", .sql = "SELECT 1"};
    ASSERT_EQ(ch_migrations_add(ms, "bad set", &ok, 1, err, sizeof(err)), CH_EINVAL);
    const struct ch_migration zero = {.version = 0, .name = "a", .sql = "SELECT 1"};
    ASSERT_EQ(ch_migrations_add(ms, "app", &zero, 1, err, sizeof(err)), CH_EINVAL);
    const struct ch_migration nosql = {.version = 1, .name = "a"};
    ASSERT_EQ(ch_migrations_add(ms, "app", &nosql, 1, err, sizeof(err)), CH_EINVAL);
    ASSERT_EQ(ch_migrations_add(ms, "app", &ok, 1, err, sizeof(err)), 0);
    ASSERT_EQ(ch_migrations_add(ms, "app", &ok, 1, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "declared twice") != NULL);
    /* Another set may reuse the version. */
    ASSERT_EQ(ch_migrations_add(ms, "auth", &ok, 1, err, sizeof(err)), 0);
    ch_migrations_free(ms);
}

/* Sets apply in the order they were added and keep their versions apart. */
TEST(sqlite_sets_and_memory)
{
    char err[512] = "", out[256];
    const struct ch_migration auth = {.version = 1, .name = "users",
                                      .sql = "CREATE TABLE users (id integer PRIMARY KEY)"};
    const struct ch_migration app = {.version = 1, .name = "posts",
                                     .sql = "CREATE TABLE posts (id integer PRIMARY KEY, "
                                            "user_id integer REFERENCES users (id))"};
    struct ch_migrations *ms = ch_migrations_new();
    ASSERT_EQ(ch_migrations_add(ms, "auth", &auth, 1, err, sizeof(err)), 0);
    ASSERT_EQ(ch_migrations_add(ms, "app", &app, 1, err, sizeof(err)), 0);
    struct dbt_env e;
    dbt_env_open_bare(&e, "sqlite::memory:");
    ASSERT_EQ(ch_db_migrate(e.db, ms, err, sizeof(err)), 0);
    ch_migrations_free(ms);
    int q = dbt_env_stmt(&e, "q", "SELECT group_concat(set_name || version, ',') FROM "
                                  "(SELECT * FROM chopin_migrations ORDER BY id)", NULL);
    dbt_env_start(&e);
    struct collect c = {out, sizeof(out)};
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    ASSERT_EQ(ch_db_batch_add(b, q, NULL, 0, on_collect, &c), 0);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_CSTR_EQ(out, "auth1,app1");
    dbt_env_close(&e);
}

/* Four processes migrate one database at the same moment. The migration is slow and not
 * idempotent (a second run would add a second row, or fail on the table), so exactly-once
 * shows in the count. */
DB_TEST(four_processes_apply_each_migration_once)
{
    char fresh[1024], out[512];
    dbt_fresh(url, "mig_race", fresh, sizeof(fresh));
    /* Each slow enough for the others to have read the applied list meanwhile. */
#define SLOW_PG(n) "INSERT INTO runs SELECT " #n " FROM pg_sleep(0.3)"
#define SLOW_SQ(n)                                                                         \
    "INSERT INTO runs WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE " \
    "x < 300000) SELECT " #n " * count(*) / 300000 FROM c"
    const struct ch_migration m[] = {
        {.version = 1,
         .name = "table",
         .sql_postgres = "CREATE TABLE runs (n integer); " SLOW_PG(1),
         .sql_sqlite = "CREATE TABLE runs (n integer); " SLOW_SQ(1)},
        {.version = 2, .name = "slow_insert", .sql_postgres = SLOW_PG(2), .sql_sqlite = SLOW_SQ(2)},
        {.version = 3, .name = "third", .sql = "INSERT INTO runs VALUES (3)"},
    };
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    pid_t pids[4];
    fflush(NULL);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        ASSERT(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            char c, err[512] = "";
            if (read(go[0], &c, 1) != 0) _exit(3); /* released when the parent closes it */
            struct ch_db *db = ch_db_open(fresh, NULL, err, sizeof(err));
            struct ch_migrations *ms = ch_migrations_new();
            int rc = db ? ch_migrations_add(ms, "app", m, 3, err, sizeof(err)) : -1;
            if (rc == 0) rc = ch_db_migrate(db, ms, err, sizeof(err));
            if (rc) fprintf(stderr, "    child %d: %s\n", i, err);
            ch_migrations_free(ms);
            ch_db_free(db);
            _exit(rc ? 1 : 0);
        }
    }
    close(go[0]);
    close(go[1]); /* all four start now */
    for (int i = 0; i < 4; i++) {
        int status = 0;
        ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
        ASSERT(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
    }
    query_text(fresh, "SELECT n FROM runs ORDER BY n", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "1,2,3");
    query_text(fresh, "SELECT count(*) FROM chopin_migrations", out, sizeof(out));
    ASSERT_CSTR_EQ(out, "3");
}

/* ---- $N parameters: one SQL text for both drivers. */

static void on_cols(void *arg, const struct ch_db_result *res)
{
    char *out = arg;
    size_t n = 0;
    out[0] = '\0';
    if (ch_db_error(res)) {
        struct ch_str m = ch_db_error_message(res);
        snprintf(out, 256, "ERR:%.*s", (int)m.len, m.ptr);
        return;
    }
    for (int c = 0; c < ch_db_cols(res); c++) {
        struct ch_str t = ch_db_text(res, 0, c);
        n += (size_t)snprintf(out + n, 256 - n, "%s%.*s", c ? "|" : "", (int)t.len, t.ptr);
    }
}

DB_TEST(numbered_parameters_in_any_order)
{
    struct dbt_env e;
    dbt_env_open_bare(&e, url);
    /* Out of order, repeated, and one parameter typed by its use. */
    int st = dbt_env_stmt(&e, "numbered",
                          "SELECT $2 || '', $1 + 1, $2 || '-' || $3, $1 * 2", NULL);
    dbt_env_start(&e);
    char out[256];
    struct dbt_done d = {0};
    struct ch_db_batch *b = ch_db_batch_new(e.dw, &e.arena);
    struct ch_db_param p[3] = {ch_db_param_int(20), ch_db_param_text(CH_STR("two")),
                               ch_db_param_text(CH_STR("three"))};
    ASSERT_EQ(ch_db_batch_add(b, st, p, 2, on_cols, out), CH_EINVAL); /* needs all three */
    ASSERT_EQ(ch_db_batch_add(b, st, p, 3, on_cols, out), 0);
    dbt_submit(b, &d);
    ASSERT(dbt_run_until(&e.tw.w, &d.calls, 1, 5000));
    ASSERT_EQ(d.err, 0);
    ASSERT_CSTR_EQ(out, "two|21|two-three|40");
    dbt_env_close(&e);
}

TEST(sqlite_parameter_styles)
{
    struct ch_db *db = dbt_open_bare("sqlite::memory:", NULL);
    char err[512] = "";
    /* ? and ?NNN stay positional; $N is numbered; a mix is refused by name. */
    ASSERT(ch_db_stmt(db, "q", NULL, "SELECT ?, ?", err, sizeof(err)) >= 0);
    ASSERT(ch_db_stmt(db, "qn", NULL, "SELECT ?2, ?1", err, sizeof(err)) >= 0);
    ASSERT(ch_db_stmt(db, "gap", "SELECT $1, $3", NULL, err, sizeof(err)) >= 0);
    ASSERT_EQ(ch_db_stmt(db, "mixed", "SELECT $1, ?", NULL, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "statement 'mixed'") != NULL);
    ASSERT_EQ(ch_db_stmt(db, "named", "SELECT $1, :x", NULL, err, sizeof(err)), CH_EINVAL);
    ch_db_free(db);
}
