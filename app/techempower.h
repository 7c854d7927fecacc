/* The TechEmpower database tests: /db, /queries, /fortunes, /updates, /cached-queries. */
#ifndef CHOPIN_APP_TECHEMPOWER_H
#define CHOPIN_APP_TECHEMPOWER_H

#include <chopin/app.h>
#include <chopin/db.h>

/* Declares the World and Fortune tables and their seed data (migration set "techempower") and
 * the statements, and registers the five endpoints and the worker hooks that load each
 * worker's World cache. The app must use a database (ch_app_use_database). 0 or a CH_E* code
 * with the reason in `err`. */
int techempower_register(struct ch_app *app, char *err, size_t errlen);

/* Clamps a "queries"/"count" parameter per the TechEmpower rules: missing, empty, not an
 * integer or below 1 gives 1; above 500 gives 500. */
int techempower_clamp(struct ch_request *req, const char *key);

/* The schema and seed data (techempower_schema.c): migrations of set "techempower", creating
 * world (10,000 rows) and fortune (the 12 TechEmpower rows). */
extern const struct ch_migration techempower_migrations[];
extern const size_t techempower_migration_count;

/* The statements, by index: world_by_id ($1 = id), fortunes, world_update ($1 = ids, $2 = new
 * numbers: int arrays on PostgreSQL, JSON arrays on SQLite, hence its own SQLite text) and
 * world_all. */
enum { TE_WORLD_BY_ID, TE_FORTUNES, TE_WORLD_UPDATE, TE_WORLD_ALL, TE_STATEMENTS };
struct techempower_sql {
    const char *name, *sql, *sql_sqlite; /* sql_sqlite NULL: `sql` serves both drivers */
};
extern const struct techempower_sql techempower_statements[TE_STATEMENTS];

#endif
