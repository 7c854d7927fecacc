/* The chopin binary: the framework with its example endpoints and the TechEmpower tests. */
#include <stdio.h>

#include <chopin/chopin.h>
#include <chopin/db.h>

#include "basic.h"
#include "health.h"
#include "notes.h"
#include "techempower.h"

int main(int argc, char **argv)
{
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    int rc = ch_app_configure(app, argc, argv);
    if (rc != 0) {
        ch_app_free(app);
        return rc == 1 ? 0 : rc;
    }
    const struct ch_config *cfg = ch_app_config(app);

    /* The database is opened (and seeded) before serving, so a bad DATABASE_URL or an
     * unreachable server stops the start with a clear message. */
    char err[512];
    struct ch_db_options opts = {.pool_size = cfg->db_pool_size, .workers = cfg->workers};
    struct ch_db *db = ch_db_open(cfg->database_url, &opts, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "chopin: database: %s\n", err);
        ch_app_free(app);
        return 1;
    }

    ch_app_set_db(app, db);
    ch_app_use_defaults(app);
    basic_register(app);
    notes_register(app);
    if (ch_app_metrics(app, NULL) != 0) rc = 1; /* METRICS, METRICS_PORT, METRICS_TOKEN */
    if (rc != 0) {
        fprintf(stderr, "chopin: cannot mount the metrics endpoint\n");
    } else if (techempower_register(app, db, err, sizeof(err)) != 0 ||
        health_register(app, db, err, sizeof(err)) != 0) {
        fprintf(stderr, "chopin: %s\n", err);
        rc = 1;
    } else if (basic_render_docs(app) != 0) {
        rc = 1;
    } else {
        rc = ch_app_serve(app);
    }
    ch_app_free(app);
    ch_db_free(db);
    return rc;
}
