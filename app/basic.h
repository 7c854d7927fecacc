#ifndef CHOPIN_APP_BASIC_H
#define CHOPIN_APP_BASIC_H

#include <chopin/app.h>

/* GET /plaintext, /json, /, /api-docs and POST /echo. 0 or a CH_E* code. */
int basic_register(struct ch_app *app);

/* Renders the OpenAPI document of every route registered so far; call once, last. */
int basic_render_docs(struct ch_app *app);

#endif
