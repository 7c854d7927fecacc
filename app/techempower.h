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

#endif
