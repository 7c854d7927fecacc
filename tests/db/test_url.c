/* DATABASE_URL: which driver each form picks, and clear errors (never a crash) for bad ones. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chopin/error.h"
#include "dbtest.h"

/* ch_db_open must fail with a message containing `expect`, quickly. */
static void expect_error(const char *url, const char *expect)
{
    char err[512] = "";
    uint64_t t0 = ch__now_ms();
    struct ch_db *db = ch_db_open(url, NULL, err, sizeof(err));
    if (db) {
        ch_db_free(db);
        ch_test_fail(__FILE__, __LINE__, "ch_db_open(\"%s\") succeeded", url);
    }
    if (!strstr(err, expect))
        ch_test_fail(__FILE__, __LINE__, "ch_db_open(\"%s\"): \"%s\" lacks \"%s\"", url, err,
                     expect);
    ASSERT(strchr(err, '\n') == NULL); /* one line */
    ASSERT(ch__now_ms() - t0 < 3000);
}

TEST(url_rejects_unknown_schemes_and_garbage)
{
    expect_error("mysql://u:p@localhost/db", "unsupported DATABASE_URL scheme 'mysql'");
    expect_error("http://example.com/", "unsupported DATABASE_URL scheme 'http'");
    expect_error("just some words", "neither a URL");
    expect_error("sqlite://", "names no SQLite file");
    expect_error("sqlite:", "names no SQLite file");
    expect_error("sqlite:///tmp/x.db?mode=ro", "no query string");
}

TEST(url_sqlite_unopenable_file)
{
    expect_error("sqlite:///nonexistent-dir-for-chopin/sub/x.db", "cannot open SQLite database");
}

TEST(url_postgres_malformed)
{
    /* libpq's own parser judges the URL: its reason is passed on. */
    expect_error("postgresql://u@host:5432/db?nosuchoption=1", "invalid DATABASE_URL");
    expect_error("postgres://%zz@localhost/db", "invalid DATABASE_URL");
    expect_error("host=localhost nosuchkey=1", "invalid DATABASE_URL");
}

TEST(url_postgres_unreachable)
{
    /* Port 1 on the loopback refuses at once: a clear error, not a hang or a crash. */
    expect_error("postgres://chopin:chopin@127.0.0.1:1/chopin", "cannot connect to PostgreSQL");
    expect_error("host=127.0.0.1 port=1 dbname=chopin user=chopin connect_timeout=2",
                 "cannot connect to PostgreSQL");
}

TEST(url_sqlite_forms)
{
    char cwd[PATH_MAX], path[PATH_MAX + 64];
    ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
    ASSERT_EQ(chdir(dbt_tmpdir), 0);
    int ok = 1;
    struct ch_db *db = ch_db_open(NULL, NULL, NULL, 0); /* unset: ./chopin.db */
    ok &= db != NULL && strcmp(ch_db_driver(db), "sqlite") == 0;
    ch_db_free(db);
    ok &= access("chopin.db", F_OK) == 0;
    db = ch_db_open("", NULL, NULL, 0);
    ok &= db != NULL;
    ch_db_free(db);
    db = ch_db_open("sqlite://rel.db", NULL, NULL, 0); /* relative to the working directory */
    ok &= db != NULL;
    ch_db_free(db);
    ok &= access("rel.db", F_OK) == 0;
    ASSERT_EQ(chdir(cwd), 0);
    ASSERT(ok);

    snprintf(path, sizeof(path), "sqlite://%s/rel.db", dbt_tmpdir); /* absolute */
    db = dbt_open(path, NULL);
    ASSERT_CSTR_EQ(ch_db_driver(db), "sqlite");
    ch_db_free(db);
    db = dbt_open("sqlite::memory:", NULL);
    ch_db_free(db);
}

TEST(url_postgres_forms)
{
    if (!dbt_pg_url) return; /* the pg_ tests report the missing cluster */
    struct ch_db *db = dbt_open(dbt_pg_url, NULL);
    ASSERT_CSTR_EQ(ch_db_driver(db), "postgres");
    ch_db_free(db);
    /* postgresql:// and key=value name the same database. */
    char url[512];
    snprintf(url, sizeof(url), "postgresql://%s", dbt_pg_url + strlen("postgres://"));
    ch_db_free(dbt_open(url, NULL));
    const char *at = strrchr(dbt_pg_url, '@'), *colon = strrchr(dbt_pg_url, ':');
    ASSERT(at && colon && colon > at);
    snprintf(url, sizeof(url), "host=127.0.0.1 port=%d dbname=chopin user=chopin password=chopin",
             atoi(colon + 1));
    ch_db_free(dbt_open(url, NULL));
}

TEST(stmt_errors_are_reported_at_startup)
{
    struct ch_db *db = dbt_open("sqlite::memory:", NULL);
    char err[256] = "";
    ASSERT_EQ(ch_db_stmt(db, "broken", NULL, "SELEKT 1", err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "statement 'broken'") != NULL);
    ASSERT_EQ(ch_db_stmt(db, "missing", NULL, NULL, err, sizeof(err)), CH_EINVAL);
    ASSERT(strstr(err, "no SQL for sqlite") != NULL);
    ASSERT_EQ(ch_db_stmt(db, "nosuchtable", NULL, "SELECT x FROM nope", err, sizeof(err)),
              CH_EINVAL);
    int id = ch_db_stmt(db, "ok", NULL, "SELECT ?1 + 1", err, sizeof(err));
    ASSERT_EQ(id, DBT_FIXTURE_STMTS);

    struct dbt_worker tw;
    dbt_worker_init(&tw, 3);
    ASSERT_EQ(ch_db_worker_start(db, &tw.w), 0);
    ASSERT(ch_db_worker_get(db, 3) != NULL);
    ASSERT(ch_db_worker_get(db, 2) == NULL);
    /* Too late now: the pools prepare statements as they open. */
    ASSERT_EQ(ch_db_stmt(db, "late", NULL, "SELECT 1", err, sizeof(err)), CH_EBUSY);

    /* Wrong parameter counts and unknown statements are refused synchronously. */
    struct ch_arena a;
    ch_arena_init(&a, NULL, 0);
    struct ch_db_batch *b = ch_db_batch_new(ch_db_worker_get(db, 3), &a);
    ASSERT(b != NULL);
    struct ch_db_param p = ch_db_param_int(1);
    ASSERT_EQ(ch_db_batch_add(b, id, NULL, 0, NULL, NULL), CH_EINVAL);
    ASSERT_EQ(ch_db_batch_add(b, 999, &p, 1, NULL, NULL), CH_EINVAL);
    ASSERT_EQ(ch_db_batch_add(b, -1, &p, 1, NULL, NULL), CH_EINVAL);
    ASSERT(ch_db_batch_new(NULL, &a) == NULL);
    ch_arena_cleanup(&a);
    ch_db_worker_stop(db, &tw.w);
    ASSERT(ch_db_worker_get(db, 3) == NULL);
    dbt_worker_cleanup(&tw);
    ch_db_free(db);
}
