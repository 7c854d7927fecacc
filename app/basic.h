#ifndef CHOPIN_APP_BASIC_H
#define CHOPIN_APP_BASIC_H

#include <chopin/app.h>

/* GET /plaintext, /json, / and POST /echo. 0 or a CH_E* code. */
int basic_register(struct ch_app *app);

/* Mounts the API docs at /api-docs (chopin/docs.h): the page and /api-docs/openapi.json, the
 * document of every route, rendered when the server starts. */
int basic_render_docs(struct ch_app *app);

#endif
