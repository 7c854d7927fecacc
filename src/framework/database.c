/* The app's database in one call: ch_app_use_database() and what ch_app_serve() does with it
 * (open, migrate, check statements, per-worker pools, close). The rules are in chopin/db.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chopin/db.h"
#include "chopin/error.h"
#include "chopin/log.h"
#include "core/worker.h"
#include "framework/app.h"

struct stmt_decl {
    char *name, *sql, *sql_sqlite;
};

struct ch__app_database {
    int used; /* ch_app_use_database() was called */
    struct ch_app_db_options opts;
    char *url;
    struct ch_migrations *migrations;
    struct stmt_decl *stmts;
    int nstmts, capstmts;
    int first_error;
    char err[512];
    struct ch_db *db; /* open while serving */
};

static struct ch__app_database *state(struct ch_app *app)
{
    if (!app->database) app->database = calloc(1, sizeof(*app->database));
    return app->database;
}

static int keep_error(struct ch__app_database *d, int rc, const char *err)
{
    if (rc < 0 && d->first_error == 0) {
        d->first_error = rc;
        snprintf(d->err, sizeof(d->err), "%s", err && *err ? err : ch_strerror(rc));
    }
    return rc;
}

int ch_app_use_database(struct ch_app *app, const struct ch_app_db_options *opts)
{
    struct ch__app_database *d = state(app);
    if (!d) return CH_ENOMEM;
    d->used = 1;
    free(d->url);
    d->url = NULL;
    memset(&d->opts, 0, sizeof(d->opts));
    if (opts) {
        d->opts = *opts;
        if (opts->url && !(d->url = strdup(opts->url))) return keep_error(d, CH_ENOMEM, NULL);
    }
    d->opts.url = d->url;
    return 0;
}

static struct ch_migrations *registry(struct ch__app_database *d)
{
    if (!d->migrations) d->migrations = ch_migrations_new();
    return d->migrations;
}

int ch_app_migrations(struct ch_app *app, const char *set, const struct ch_migration *m, size_t n)
{
    struct ch__app_database *d = state(app);
    if (!d || !registry(d)) return CH_ENOMEM;
    char err[512] = "";
    return keep_error(d, ch_migrations_add(d->migrations, set, m, n, err, sizeof(err)), err);
}

int ch_app_migrations_dir(struct ch_app *app, const char *set, const char *dir)
{
    struct ch__app_database *d = state(app);
    if (!d || !registry(d)) return CH_ENOMEM;
    char err[512] = "";
    return keep_error(d, ch_migrations_dir(d->migrations, set, dir, err, sizeof(err)), err);
}

static char *dup_or_null(const char *s, int *oom)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c) *oom = 1;
    return c;
}

int ch_app_statement(struct ch_app *app, const char *name, const char *sql, const char *sql_sqlite)
{
    struct ch__app_database *d = state(app);
    if (!d) return CH_ENOMEM;
    char err[300];
    if (!name || (!sql && !sql_sqlite)) {
        snprintf(err, sizeof(err), "statement '%s' has no name or no SQL",
                 name ? name : "(null)");
        return keep_error(d, CH_EINVAL, err);
    }
    for (int i = 0; i < d->nstmts; i++) {
        if (strcmp(d->stmts[i].name, name) == 0) {
            snprintf(err, sizeof(err), "statement '%.200s' is declared twice", name);
            return keep_error(d, CH_EINVAL, err);
        }
    }
    if (d->nstmts == d->capstmts) {
        int cap = d->capstmts ? d->capstmts * 2 : 16;
        struct stmt_decl *s = realloc(d->stmts, (size_t)cap * sizeof(*s));
        if (!s) return keep_error(d, CH_ENOMEM, NULL);
        d->stmts = s;
        d->capstmts = cap;
    }
    int oom = 0;
    struct stmt_decl *s = &d->stmts[d->nstmts];
    s->name = dup_or_null(name, &oom);
    s->sql = dup_or_null(sql, &oom);
    s->sql_sqlite = dup_or_null(sql_sqlite, &oom);
    if (oom) {
        free(s->name);
        free(s->sql);
        free(s->sql_sqlite);
        return keep_error(d, CH_ENOMEM, NULL);
    }
    return d->nstmts++;
}

struct ch_db *ch_app_db(const struct ch_app *app)
{
    return app->database ? app->database->db : NULL;
}

static int fail(const char *what, const char *err)
{
    fprintf(stderr, "chopin: %s: %s\n", what, err);
    return 1;
}

/* Runs the command-line migration command, or prepares the database for serving. */
static int prepare(struct ch_app *app, struct ch__app_database *d, struct ch_db *db)
{
    char err[512] = "";
    const struct ch_config *cfg = &app->cfg;
    switch (cfg->migrate) {
    case CH_MIGRATE_STATUS:
        if (ch_db_migrate_status(db, d->migrations, stdout, err, sizeof(err)) != 0)
            return fail("--migrate-status", err);
        return 0;
    case CH_MIGRATE_DOWN:
        if (ch_db_migrate_down(db, d->migrations, cfg->migrate_down, err, sizeof(err)) != 0)
            return fail("--migrate-down", err);
        return 0;
    default: break;
    }
    if (ch_db_migrate(db, d->migrations, err, sizeof(err)) != 0) return fail("database", err);
    if (cfg->migrate == CH_MIGRATE_ONLY) return 0;
    for (int i = 0; i < d->nstmts; i++) {
        const struct stmt_decl *s = &d->stmts[i];
        int id = ch_db_stmt(db, s->name, s->sql, s->sql_sqlite, err, sizeof(err));
        if (id < 0) return fail("database", err);
        if (id != i) return fail("database", "statements were registered on the handle directly");
    }
    return -1;
}

int ch__app_database_open(struct ch_app *app)
{
    struct ch__app_database *d = app->database;
    const struct ch_config *cfg = &app->cfg;
    if (d && d->first_error) return fail("database", d->err);
    if (!d || !d->used) {
        if (d && (d->nstmts || d->migrations))
            return fail("database", "migrations or statements declared without "
                                    "ch_app_use_database()");
        if (cfg->migrate) return fail("database", "--migrate-*: this program uses no database");
        return -1;
    }
    if (app->db) return fail("database", "ch_app_set_db() and ch_app_use_database() are exclusive");
    struct ch_db_options o = d->opts.db;
    if (o.pool_size <= 0) o.pool_size = cfg->db_pool_size;
    if (o.workers <= 0) o.workers = cfg->workers;
    char err[512] = "";
    struct ch_db *db = ch_db_open(d->url ? d->url : cfg->database_url, &o, err, sizeof(err));
    if (!db) return fail("database", err);
    int rc = prepare(app, d, db);
    if (rc >= 0) {
        ch_db_free(db);
        return rc;
    }
    d->db = db;
    app->db = db;
    return -1;
}

int ch__app_database_worker_start(struct ch_app *app, struct ch_worker *w)
{
    struct ch__app_database *d = app->database;
    if (!d || !d->db) return 0;
    int rc = ch_db_worker_start(d->db, w);
    if (rc != 0) ch_log(CH_LOG_ERROR, "worker %d: database pool: %s", w->id, ch_strerror(rc));
    return rc;
}

void ch__app_database_worker_stop(struct ch_app *app, struct ch_worker *w)
{
    struct ch__app_database *d = app->database;
    if (d && d->db) ch_db_worker_stop(d->db, w);
}

void ch__app_database_close(struct ch_app *app)
{
    struct ch__app_database *d = app->database;
    if (!d || !d->db) return;
    if (app->db == d->db) app->db = NULL;
    ch_db_free(d->db);
    d->db = NULL;
}

void ch__app_database_free(struct ch_app *app)
{
    struct ch__app_database *d = app->database;
    if (!d) return;
    ch__app_database_close(app);
    for (int i = 0; i < d->nstmts; i++) {
        free(d->stmts[i].name);
        free(d->stmts[i].sql);
        free(d->stmts[i].sql_sqlite);
    }
    free(d->stmts);
    ch_migrations_free(d->migrations);
    free(d->url);
    free(d);
    app->database = NULL;
}
