/* An OpenAPI 3.1 document generated from an application's routes: paths (":id" and "*path"
 * become "{id}" and "{path}"), their methods and path parameters, and for routes registered
 * with a declaration (chopin/schema.h) their summary, typed path and query parameters (with
 * ranges, lengths, allowed values and defaults), the JSON request body's schema, and one
 * response per status they answer (plus 400, 401, 415 and 422 where the framework answers
 * them). Routes covered by a middleware with a security scheme (ch_mw_api_key()) carry
 * bearer security; components hold the error envelope's schema and the bearer scheme. */
#ifndef CHOPIN_OPENAPI_H
#define CHOPIN_OPENAPI_H

#include "app.h"
#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends the document for every route registered so far to `out`. 0 or CH_ENOMEM. */
int ch_openapi_render(const struct ch_app *app, const char *title, const char *version,
                      struct ch_buf *out);

#ifdef __cplusplus
}
#endif

#endif
