/* GET /health: readiness for load balancers, checked through the database pool. */
#ifndef CHOPIN_APP_HEALTH_H
#define CHOPIN_APP_HEALTH_H

#include <chopin/app.h>
#include <chopin/db.h>

/* Registers GET /health on `db` (which must outlive the app), before the app serves.
 * 0 or a CH_E* code with the reason in `err`. */
int health_register(struct ch_app *app, struct ch_db *db, char *err, size_t errlen);

#endif
