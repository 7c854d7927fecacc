/* Browsable API documentation: the app's OpenAPI document and an interactive reference page.
 *
 *     ch_app_docs(app, "/api-docs", "Notes API", "1.0.0");
 *
 * serves, once ch_app_serve() starts:
 *   GET /api-docs               an interactive reference (Swagger UI) of the document: every
 *                               route, its parameters and the security it declares
 *   GET /api-docs/openapi.json  the OpenAPI 3.1 document itself (chopin/openapi.h)
 *   GET /api-docs/ui/...        the page's script, stylesheet and the UI's license
 * The UI comes from the npm registry at build time and is linked into the program from
 * libchopin.a only when it calls ch_app_docs(), so the page works offline, with no CDN. A
 * library built without npm serves a page saying so, and the document as usual. */
#ifndef CHOPIN_DOCS_H
#define CHOPIN_DOCS_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mounts the documentation under `prefix` (starting with '/', no trailing '/'). The document
 * is rendered once when the server starts, so it lists every route registered before
 * ch_app_serve(), whatever the order of calls; the documentation's own routes are left out.
 * `title` and `version` are copied. Returns 0, CH_EINVAL for a bad prefix or a second call,
 * or CH_ENOMEM. */
int ch_app_docs(struct ch_app *app, const char *prefix, const char *title, const char *version);

/* 1 when the interactive UI was bundled into this library at build time, else 0. */
int ch_docs_ui_available(void);

#ifdef __cplusplus
}
#endif

#endif
