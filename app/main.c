/* The chopin binary: the framework with its example endpoints, the built-in account routes
 * (/api/auth) and the TechEmpower tests. */
#include <stdio.h>

#include <chopin/chopin.h>
#include <chopin/db.h>

#include "basic.h"
#include "cli/cli.h"
#include "health.h"
#include "notes.h"
#include "techempower.h"

int main(int argc, char **argv)
{
    int shift, rc = cli_main(argc, argv, &shift); /* chopin new, generate, db, run, routes */
    if (rc >= 0) return rc;
    if (shift) {
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    struct ch_app *app = ch_app_new();
    if (!app) return 1;
    if (ch_auth_declare_settings(app) != 0) { /* --help lists JWT_* and AUTH_* */
        ch_app_free(app);
        return 1;
    }
    rc = ch_app_configure(app, argc, argv);
    if (rc != 0) {
        ch_app_free(app);
        return rc == 1 ? 0 : rc;
    }
    /* The account routes, mounted as an app would mount them. Production refuses to start
     * without a JWT_SECRET of at least 32 bytes. */
    char err[512];
    struct ch_auth *auth = ch_auth_from_app(app, err, sizeof(err));
    if (!auth) {
        fprintf(stderr, "chopin: %s\n", err);
        ch_app_free(app);
        return 2;
    }

    /* DATABASE_URL, DB_POOL_SIZE and WORKERS; ch_app_serve opens it, applies the migrations
     * and checks the statements before serving, so a bad URL, an unreachable server or a
     * broken statement stops the start with a clear message. */
    ch_app_use_database(app, NULL);
    ch_app_use_defaults(app);
    basic_register(app);
    notes_register(app);
    if (ch_auth_mount(app, auth, "/api/auth") != 0) {
        fprintf(stderr, "chopin: cannot mount the auth routes\n");
        rc = 1;
    } else if (ch_app_metrics(app, NULL) != 0) { /* METRICS, METRICS_PORT, METRICS_TOKEN */
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
    ch_auth_free(auth);
    return rc;
}
