/* The tables most database tests query: World (10,000 rows) and Fortune (the 12 TechEmpower
 * rows), created through migrations of their own set ("fixture") and the three statements the
 * tests batch, registered right after, as any app would. The test cluster is shared with the
 * HTTP suites, whose chopin binary creates the same tables (set "techempower"): the fixture
 * adopts them (IF NOT EXISTS, ON CONFLICT), as that set adopts older databases. */
#include <string.h>

#include "dbtest.h"

static const struct ch_migration fixture[] = {
    {
        .version = 1,
        .name = "world_fortune",
        .sql = "CREATE TABLE IF NOT EXISTS world (id integer PRIMARY KEY, randomnumber integer "
               "NOT NULL);"
               "CREATE TABLE IF NOT EXISTS fortune (id integer PRIMARY KEY, message varchar(2048) "
               "NOT NULL);",
    },
    {
        .version = 2,
        .name = "seed",
        .sql_postgres = "INSERT INTO world (id, randomnumber) SELECT g, 1 + floor(random() * "
                        "10000)::integer FROM generate_series(1, 10000) AS g ON CONFLICT (id) DO NOTHING",
        .sql_sqlite = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < "
                      "10000) INSERT OR IGNORE INTO world (id, randomnumber) SELECT i, abs(random() % "
                      "10000) + 1 FROM g",
    },
    {
        .version = 3,
        .name = "fortunes",
        .sql = "INSERT INTO fortune (id, message) VALUES"
               " (1, 'fortune: No such file or directory'),"
               " (2, 'A computer scientist is someone who fixes things that aren''t broken.'),"
               " (3, 'After enough decimal places, nobody gives a damn.'),"
               " (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),"
               " (5, 'A computer program does what you tell it to do, not what you want it to "
               "do.'),"
               " (6, 'Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom "
               "Christaensen'),"
               " (7, 'Any program that runs right is obsolete.'),"
               " (8, 'A list is only as strong as its weakest link. \u2014 Donald Knuth'),"
               " (9, 'Feature: A bug with seniority.'),"
               " (10, 'Computers make very fast, very accurate mistakes.'),"
               " (11, '<script>alert(\"This should not be displayed in a browser alert "
               "box.\");</script>'),"
               " (12, '\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de"
               "\u30fc\u30af')"
               " ON CONFLICT (id) DO NOTHING",
    },
};

int dbt_fixture(struct ch_db *db, char *err, size_t errlen)
{
    struct ch_migrations *ms = ch_migrations_new();
    int rc = ms ? ch_migrations_add(ms, "fixture", fixture, 3, err, errlen) : CH_ENOMEM;
    if (rc == 0) rc = ch_db_migrate(db, ms, err, errlen);
    ch_migrations_free(ms);
    if (rc) return rc;
    static const char *const sql[DBT_FIXTURE_STMTS][3] = {
        {"world_by_id", "SELECT id, randomnumber FROM world WHERE id = $1", NULL},
        {"fortunes", "SELECT id, message FROM fortune", NULL},
        {"world_update",
         "UPDATE world SET randomnumber = v.r"
         " FROM (SELECT * FROM unnest($1::int[], $2::int[]) AS t(id, r) ORDER BY id) AS v"
         " WHERE world.id = v.id",
         "UPDATE world SET randomnumber = v.r"
         " FROM (SELECT a.value AS id, b.value AS r"
         "       FROM json_each($1) AS a JOIN json_each($2) AS b ON a.key = b.key) AS v"
         " WHERE world.id = v.id"},
    };
    for (int i = 0; i < DBT_FIXTURE_STMTS; i++) {
        rc = ch_db_stmt(db, sql[i][0], sql[i][1], sql[i][2], err, errlen);
        if (rc != i) return rc < 0 ? rc : CH_EINVAL;
    }
    return 0;
}
