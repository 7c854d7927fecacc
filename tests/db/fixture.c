/* The tables most database tests query: World (10,000 rows) and Fortune (the 12 TechEmpower
 * rows), created by the chopin binary's own migrations (set "techempower", app/techempower.h),
 * and the first three of its statements, registered right after, as any app would. The test
 * cluster is shared with the HTTP suites, whose chopin binary applies the same set: whichever
 * runs first creates the tables, the other finds them applied with the same checksums. */
#include "dbtest.h"
#include "techempower.h"

/* Two anonymous enums: compared as ints, or gcc's -Wenum-compare fails the -Werror build. */
_Static_assert((int)DBT_WORLD_BY_ID == (int)TE_WORLD_BY_ID &&
                   (int)DBT_FORTUNES == (int)TE_FORTUNES &&
                   (int)DBT_WORLD_UPDATE == (int)TE_WORLD_UPDATE,
               "the fixture's statement ids are the binary's");

int dbt_fixture(struct ch_db *db, char *err, size_t errlen)
{
    struct ch_migrations *ms = ch_migrations_new();
    int rc = ms ? ch_migrations_add(ms, "techempower", techempower_migrations,
                                           techempower_migration_count, err, errlen) : CH_ENOMEM;
    if (rc == 0) rc = ch_db_migrate(db, ms, err, errlen);
    ch_migrations_free(ms);
    if (rc) return rc;
    for (int i = 0; i < DBT_FIXTURE_STMTS; i++) {
        const struct techempower_sql *t = &techempower_statements[i];
        rc = ch_db_stmt(db, t->name, t->sql, t->sql_sqlite, err, errlen);
        if (rc != i) return rc < 0 ? rc : CH_EINVAL;
    }
    return 0;
}
