/* GET /health: readiness for load balancers, checked through the database pool. */
#ifndef CHOPIN_APP_HEALTH_H
#define CHOPIN_APP_HEALTH_H

#include <chopin/app.h>
#include <chopin/db.h>

/* Declares the `SELECT 1` statement and registers GET /health, before the app serves; the app
 * must use a database (ch_app_use_database). 0 or a CH_E* code with the reason in `err`. */
int health_register(struct ch_app *app, char *err, size_t errlen);

#endif
