/* An OpenAPI 3.1 document generated from an application's routes: paths (":id" and "*path"
 * become "{id}" and "{path}"), their methods, and their path parameters. */
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
