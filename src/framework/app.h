/* The application's internals, shared by the files of the framework layer. */
#ifndef CH_HTTP_APP_H
#define CH_HTTP_APP_H

#include <stdio.h>

#include "chopin/app.h"
#include "chopin/router.h"
#include "chopin/json.h"
#include "http/engine.h"

enum { CH__APP_MAX_MIDDLEWARE = 32 };

struct ch_route_spec;
struct ch__server;

/* A registered route: its handler and its whole middleware chain, flattened at start. */
struct ch__app_route {
    ch_handler_fn handler;
    struct ch_group *group; /* NULL: top level */
    const struct ch_middleware **chain;
    size_t nchain;
    char *pattern;
    unsigned methods;
    const struct ch_route_spec *spec; /* NULL: undeclared */
    struct ch_middleware *own_mw;     /* the route's own middleware (a copy of spec's) */
    size_t own_nmw;
    unsigned index; /* registration order; the fallback's is the route count (metrics) */
    struct ch__app_route *next;
};

struct ch_group {
    struct ch_app *app;
    struct ch_group *parent;
    char *prefix; /* full prefix, parents included */
    struct ch_middleware mw[CH__APP_MAX_MIDDLEWARE];
    size_t nmw;
    size_t prefix_len;
    struct ch__app_route fallback; /* 404, 405 and OPTIONS under the prefix */
    struct ch_group *next;         /* the app's list of groups, for freeing */
};

struct ch_app {
    struct ch_config cfg;
    struct ch__http_app http;
    struct ch_router *router;
    struct ch_middleware mw[CH__APP_MAX_MIDDLEWARE];
    size_t nmw;
    struct ch_group *groups;
    struct ch__app_route *routes, **routes_tail;
    size_t nroutes;
    struct ch__app_route fallback; /* 404, 405 and OPTIONS outside every group */
    struct ch__raw_route raw[CH_APP_MAX_RAW];
    void *state;
    struct ch_db *db;                  /* ch_app_set_db(): the pool every request's worker uses */
    struct ch__app_database *database; /* ch_app_use_database() (framework/database.c) */
    int (*worker_start)(struct ch_worker *w, void *arg);
    void (*worker_stop)(struct ch_worker *w, void *arg);
    void *worker_arg;
    int first_error;
    const char *first_error_pattern;
    struct ch__metrics *metrics; /* ch_app_metrics(), or NULL */
    struct ch__app_setting *settings; /* ch_app_setting(), in declaration order */
    /* testing.c (ch_test_start()): told the running server, and its port, once it listens. */
    void (*on_ready)(struct ch__server *s, void *arg);
    void *ready_arg;
    /* docs.c (ch_app_docs()): renders the document and mounts its routes when serving; held
     * through pointers so that apps without docs do not link the UI bundle. */
    int (*docs_mount)(struct ch_app *app);
    void (*docs_free)(void *docs);
    void *docs;
};

/* The app a request belongs to. */
static inline struct ch_app *ch__app_of(const struct ch_request *req)
{
    const struct ch__http_app *h = req->_app;
    return h->data;
}

/* Validates a declared route's path and query parameters and body (chopin/schema.h). 0 when
 * the handler may run; otherwise the request was answered (400, 413, 415 or 422). */
int ch__validate(struct ch_request *req, const struct ch_route_spec *spec);

/* Checks a declaration at registration: 0 or CH_EINVAL. */
int ch__spec_check(const struct ch_route_spec *spec, const char *pattern);

/* Whether any middleware that covers route `r` (global, its groups', its own) declares a
 * security scheme; that scheme or NULL. */
const char *ch__route_security(const struct ch_app *app, const struct ch__app_route *r);

/* The i-th registered route, or NULL. */
const struct ch__app_route *ch__app_route_at(const struct ch_app *app, size_t i);

/* Metrics (framework/metrics.c): a request's start time, counting a response, and the lifecycle. */
uint64_t ch__metrics_start(const struct ch_request *req);
void ch__metrics_count(struct ch__metrics *m, struct ch_request *req);
int ch__metrics_prepare(struct ch_app *app);
int ch__metrics_worker_start(struct ch__metrics *m, struct ch_worker *w);
void ch__metrics_worker_tick(struct ch__metrics *m, struct ch_worker *w);
void ch__metrics_worker_stop(struct ch__metrics *m, struct ch_worker *w);
void ch__metrics_free(struct ch__metrics *m);

/* ch_app_use_database() in ch_app_serve() (framework/database.c): open opens, migrates and
 * checks the statements, returning -1 to go on serving or the exit status (a --migrate-*
 * command ran, or a printed startup error); the worker hooks start and stop the pools; close
 * frees the database once the workers stopped; free releases the rest (ch_app_free). */
int ch__app_database_open(struct ch_app *app);
int ch__app_database_worker_start(struct ch_app *app, struct ch_worker *w);
void ch__app_database_worker_stop(struct ch_app *app, struct ch_worker *w);
void ch__app_database_close(struct ch_app *app);
void ch__app_database_free(struct ch_app *app);

/* Renders an error envelope body (shared by ch_error() and the engine's own errors). */
void ch__envelope_error(struct ch_buf *out, const char *code, const char *message,
                        const struct ch_json_check *fields);

/* The security headers middleware as ch_app_use_defaults() installs it: production only. */
struct ch_middleware ch__mw_security_defaults(void);

/* The declared settings (settings.c): --help's part for them, and freeing them. */
void ch__app_settings_usage(FILE *out, void *arg);
void ch__app_settings_free(struct ch_app *app);

/* Maps a status the engine answers by itself to an envelope code. */
const char *ch__status_code(int status);

#endif
