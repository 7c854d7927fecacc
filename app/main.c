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

    /* DATABASE_URL, DB_POOL_SIZE and WORKERS; ch_app_serve opens it, applies the migrations
     * and checks the statements before serving, so a bad URL, an unreachable server or a
     * broken statement stops the start with a clear message. */
    char err[512];
    ch_app_use_database(app, NULL);
    ch_app_use_defaults(app);
    basic_register(app);
    notes_register(app);
    if (ch_app_metrics(app, NULL) != 0) { /* METRICS, METRICS_PORT, METRICS_TOKEN */
        fprintf(stderr, "chopin: cannot mount the metrics endpoint\n");
        rc = 1;
    } else if (techempower_register(app, err, sizeof(err)) != 0 ||
               health_register(app, err, sizeof(err)) != 0) {
        fprintf(stderr, "chopin: %s\n", err);
        rc = 1;
    } else if (basic_render_docs(app) != 0) {
        rc = 1;
    } else {
        rc = ch_app_serve(app);
    }
    ch_app_free(app);
    return rc;
}
