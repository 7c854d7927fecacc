/* The TechEmpower schema, seed data and statements: one definition for the chopin binary's
 * endpoints (techempower.c) and the database tests' fixture (tests/db/fixture.c). */
#include "techempower.h"

/* The schema and seed data, as migrations of their own set (so they never clash with the
 * versions of the app's other tables). Table and column names are unquoted, so they are lower
 * case on PostgreSQL ("World" in the TechEmpower spec is the same table); randomnumber is
 * 1..10000 as the spec requires. IF NOT EXISTS / ON CONFLICT let a database seeded by an
 * earlier Chopin (which created these tables itself) be adopted as is. */
const struct ch_migration techempower_migrations[] = {
    {
        .version = 1,
        .name = "create_world_fortune",
        .sql = "CREATE TABLE IF NOT EXISTS world ("
               "  id integer PRIMARY KEY,"
               "  randomnumber integer NOT NULL DEFAULT 0);"
               "CREATE TABLE IF NOT EXISTS fortune ("
               "  id integer PRIMARY KEY,"
               "  message varchar(2048) NOT NULL);",
        .down = "DROP TABLE fortune; DROP TABLE world;",
    },
    {
        .version = 2,
        .name = "seed_world_fortune",
        .sql_postgres =
            "INSERT INTO world (id, randomnumber)"
            "  SELECT g, 1 + floor(random() * 10000)::integer FROM generate_series(1, 10000) AS g"
            "  ON CONFLICT (id) DO NOTHING;",
        .sql_sqlite =
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 10000)"
            "  INSERT OR IGNORE INTO world (id, randomnumber)"
            "  SELECT i, abs(random() % 10000) + 1 FROM g;",
        .down = "DELETE FROM world;",
    },
    /* The TechEmpower Fortune table, ids 1..12. Row 11 must be HTML-escaped by the page that
     * shows it; row 12 checks that UTF-8 survives the round trip. */
    {
        .version = 3,
        .name = "seed_fortune",
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
               " ON CONFLICT (id) DO NOTHING;",
        .down = "DELETE FROM fortune;",
    },
};
const size_t techempower_migration_count =
    sizeof(techempower_migrations) / sizeof(techempower_migrations[0]);

/* One text serves both drivers except the update: PostgreSQL zips two int arrays with unnest,
 * ordered by id so that the nested loop the planner picks for small N locks rows in id order
 * (with callers passing sorted ids, requests cannot deadlock); SQLite has no arrays, receives
 * them as JSON text and zips them with json_each(). Either way it is one statement, atomic
 * without an explicit transaction. */
const struct techempower_sql techempower_statements[TE_STATEMENTS] = {
    [TE_WORLD_BY_ID] = {"world_by_id", "SELECT id, randomnumber FROM world WHERE id = $1", NULL},
    [TE_FORTUNES] = {"fortunes", "SELECT id, message FROM fortune", NULL},
    [TE_WORLD_UPDATE] = {"world_update",
                         "UPDATE world SET randomnumber = v.r"
                         " FROM (SELECT * FROM unnest($1::int[], $2::int[]) AS t(id, r)"
                         " ORDER BY id) AS v"
                         " WHERE world.id = v.id",
                         "UPDATE world SET randomnumber = v.r"
                         " FROM (SELECT a.value AS id, b.value AS r"
                         "       FROM json_each($1) AS a JOIN json_each($2) AS b"
                         " ON a.key = b.key) AS v"
                         " WHERE world.id = v.id"},
    [TE_WORLD_ALL] = {"world_all", "SELECT id, randomnumber FROM world", NULL},
};
