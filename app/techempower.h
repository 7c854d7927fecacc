/* The TechEmpower database tests: /db, /queries, /fortunes, /updates, /cached-queries. */
#ifndef CHOPIN_APP_TECHEMPOWER_H
#define CHOPIN_APP_TECHEMPOWER_H

#include <chopin/app.h>
#include <chopin/db.h>

/* Registers the five endpoints and the worker hooks that start and stop `db`'s pools (and
 * load each worker's World cache). `db` must outlive the app. 0 or a CH_E* code. */
int techempower_register(struct ch_app *app, struct ch_db *db, char *err, size_t errlen);

/* Clamps a "queries"/"count" parameter per the TechEmpower rules: missing, empty, not an
 * integer or below 1 gives 1; above 500 gives 500. */
int techempower_clamp(struct ch_request *req, const char *key);

#endif
