/* The application: registration, dispatch through middleware to handlers, and running. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "chopin/db.h"
#include "chopin/error.h"
#include "chopin/middleware.h"
#include "chopin/respond.h"
#include "chopin/schema.h"
#include "core/config.h"
#include "core/server.h"
#include "framework/app.h"
#include "chopin/log.h"

static void app_handle(struct ch_request *req);
static void app_before_send(struct ch_request *req);
static int fallback_handler(struct ch_request *req);

static void render_error(const struct ch__http_app *h, int status, const char *message,
                         struct ch_buf *body, struct ch_str *content_type)
{
    (void)h;
    ch__envelope_error(body, ch__status_code(status), message, NULL);
    *content_type = CH_STR("application/json");
}

struct ch_app *ch_app_new(void)
{
    struct ch_app *app = calloc(1, sizeof(*app));
    if (!app) return NULL;
    app->router = ch_router_new();
    if (!app->router) {
        free(app);
        return NULL;
    }
    ch_config_defaults(&app->cfg);
    app->http.cfg = &app->cfg;
    app->http.handle = app_handle;
    app->http.before_send = app_before_send;
    app->http.render_error = render_error;
    app->http.data = app;
    app->routes_tail = &app->routes;
    app->fallback.handler = fallback_handler;
    app->http.raw = app->raw;
    return app;
}

void ch_app_free(struct ch_app *app)
{
    if (!app) return;
    ch__app_database_free(app);
    ch_router_free(app->router);
    ch__metrics_free(app->metrics);
    for (size_t i = 0; i < app->nmw; i++)
        if (app->mw[i].cleanup) app->mw[i].cleanup(app->mw[i].arg);
    while (app->groups) {
        struct ch_group *g = app->groups;
        app->groups = g->next;
        for (size_t i = 0; i < g->nmw; i++)
            if (g->mw[i].cleanup) g->mw[i].cleanup(g->mw[i].arg);
        free(g->fallback.chain);
        free(g->prefix);
        free(g);
    }
    while (app->routes) {
        struct ch__app_route *r = app->routes;
        app->routes = r->next;
        for (size_t i = 0; i < r->own_nmw; i++)
            if (r->own_mw[i].cleanup) r->own_mw[i].cleanup(r->own_mw[i].arg);
        free(r->own_mw);
        free(r->chain);
        free(r->pattern);
        free(r);
    }
    free(app->fallback.chain);
    ch__app_settings_free(app);
    if (app->docs_free) app->docs_free(app->docs);
    free(app);
}

struct ch_config *ch_app_config(struct ch_app *app)
{
    return &app->cfg;
}

void ch_app_set_state(struct ch_app *app, void *state)
{
    app->state = state;
}

void ch_app_set_db(struct ch_app *app, struct ch_db *db)
{
    app->db = db;
}

struct ch_db_worker *ch_request_db(const struct ch_request *req)
{
    return ch_db_worker_get(ch__app_of(req)->db, req->worker_id);
}

static int note_error(struct ch_app *app, int rc, const char *pattern)
{
    if (rc != 0 && app->first_error == 0) {
        app->first_error = rc;
        app->first_error_pattern = pattern;
    }
    return rc;
}

int ch_app_use(struct ch_app *app, struct ch_middleware mw)
{
    if (app->nmw == CH__APP_MAX_MIDDLEWARE) return note_error(app, CH_ERANGE, "(middleware)");
    app->mw[app->nmw++] = mw;
    return 0;
}

int ch_app_use_defaults(struct ch_app *app)
{
    int rc = 0;
    rc |= ch_app_use(app, ch_mw_request_id());
    rc |= ch_app_use(app, ch__mw_security_defaults());
    rc |= ch_app_use(app, ch_mw_access_log());
    rc |= ch_app_use(app, ch_mw_cors(NULL));
    rc |= ch_app_use(app, ch_mw_recovery());
    rc |= ch_app_use(app, ch_mw_timeout(0));
    return rc ? CH_ERANGE : 0;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* "/api" + "/" is "/api/"; "/api" + "/notes" is "/api/notes". */
    char *s = malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

static int add_route(struct ch_app *app, struct ch_group *g, unsigned methods, const char *pattern,
                     ch_handler_fn handler, const struct ch_route_spec *spec)
{
    if (!handler || !pattern) return note_error(app, CH_EINVAL, pattern ? pattern : "(null)");
    if (spec && (ch__spec_check(spec, pattern) != 0 || (spec->nmiddleware && !spec->middleware)))
        return note_error(app, CH_EINVAL, pattern);
    struct ch__app_route *r = calloc(1, sizeof(*r));
    if (!r) return note_error(app, CH_ENOMEM, pattern);
    r->pattern = g ? join(g->prefix, pattern) : strdup(pattern);
    r->handler = handler;
    r->group = g;
    r->methods = methods;
    r->spec = spec;
    int rc = r->pattern ? 0 : CH_ENOMEM;
    if (rc == 0 && spec && spec->nmiddleware) {
        r->own_mw = malloc(spec->nmiddleware * sizeof(*r->own_mw));
        if (r->own_mw) {
            memcpy(r->own_mw, spec->middleware, spec->nmiddleware * sizeof(*r->own_mw));
            r->own_nmw = spec->nmiddleware;
        } else {
            rc = CH_ENOMEM;
        }
    }
    if (rc == 0) rc = ch_router_add(app->router, methods, r->pattern, r);
    if (rc != 0) {
        note_error(app, rc, pattern);
        free(r->own_mw);
        free(r->pattern);
        free(r);
        return rc;
    }
    *app->routes_tail = r;
    app->routes_tail = &r->next;
    r->index = (unsigned)app->nroutes++;
    return 0;
}

int ch_route(struct ch_app *app, unsigned methods, const char *pattern, ch_handler_fn handler)
{
    return add_route(app, NULL, methods, pattern, handler, NULL);
}

int ch_route_with(struct ch_app *app, unsigned methods, const char *pattern, ch_handler_fn handler,
                  const struct ch_route_spec *spec)
{
    return add_route(app, NULL, methods, pattern, handler, spec);
}

int ch_group_route_with(struct ch_group *g, unsigned methods, const char *pattern,
                        ch_handler_fn handler, const struct ch_route_spec *spec)
{
    return add_route(g->app, g, methods, pattern, handler, spec);
}

int ch_app_raw_get(struct ch_app *app, const char *path, ch_raw_fn fn)
{
    if (!path || path[0] != '/' || !fn) return note_error(app, CH_EINVAL, path ? path : "(null)");
    size_t len = strlen(path);
    for (size_t i = 0; i < app->http.nraw; i++)
        if (app->raw[i].len == len && memcmp(app->raw[i].path, path, len) == 0)
            return note_error(app, CH_EBUSY, path);
    if (app->http.nraw == CH_APP_MAX_RAW) return note_error(app, CH_ERANGE, path);
    app->raw[app->http.nraw++] = (struct ch__raw_route){path, len, fn};
    return 0;
}

int ch_get(struct ch_app *app, const char *pattern, ch_handler_fn handler)
{
    return ch_route(app, CH_METHOD_BIT(CH_GET), pattern, handler);
}

int ch_post(struct ch_app *app, const char *pattern, ch_handler_fn handler)
{
    return ch_route(app, CH_METHOD_BIT(CH_POST), pattern, handler);
}

int ch_put(struct ch_app *app, const char *pattern, ch_handler_fn handler)
{
    return ch_route(app, CH_METHOD_BIT(CH_PUT), pattern, handler);
}

int ch_patch(struct ch_app *app, const char *pattern, ch_handler_fn handler)
{
    return ch_route(app, CH_METHOD_BIT(CH_PATCH), pattern, handler);
}

int ch_delete(struct ch_app *app, const char *pattern, ch_handler_fn handler)
{
    return ch_route(app, CH_METHOD_BIT(CH_DELETE), pattern, handler);
}

int ch_any(struct ch_app *app, const char *pattern, ch_handler_fn handler)
{
    return ch_route(app, CH_ANY, pattern, handler);
}

static struct ch_group *group_new(struct ch_app *app, struct ch_group *parent, const char *prefix)
{
    struct ch_group *g = calloc(1, sizeof(*g));
    if (!g) {
        note_error(app, CH_ENOMEM, prefix);
        return NULL;
    }
    g->app = app;
    g->parent = parent;
    g->prefix = join(parent ? parent->prefix : "", prefix);
    if (!g->prefix) {
        free(g);
        note_error(app, CH_ENOMEM, prefix);
        return NULL;
    }
    g->prefix_len = strlen(g->prefix);
    g->fallback.handler = fallback_handler;
    g->fallback.group = g;
    g->next = app->groups;
    app->groups = g;
    return g;
}

struct ch_group *ch_group_new(struct ch_app *app, const char *prefix)
{
    return group_new(app, NULL, prefix);
}

struct ch_group *ch_group_sub(struct ch_group *parent, const char *prefix)
{
    return group_new(parent->app, parent, prefix);
}

int ch_group_use(struct ch_group *g, struct ch_middleware mw)
{
    if (g->nmw == CH__APP_MAX_MIDDLEWARE) return note_error(g->app, CH_ERANGE, g->prefix);
    g->mw[g->nmw++] = mw;
    return 0;
}

int ch_group_route(struct ch_group *g, unsigned methods, const char *pattern, ch_handler_fn handler)
{
    return add_route(g->app, g, methods, pattern, handler, NULL);
}

void ch_app_on_worker(struct ch_app *app, int (*start)(struct ch_worker *w, void *arg),
                      void (*stop)(struct ch_worker *w, void *arg), void *arg)
{
    app->worker_start = start;
    app->worker_stop = stop;
    app->worker_arg = arg;
}

int ch_worker_index(const struct ch_worker *w)
{
    return w->id;
}

size_t ch_app_route_count(const struct ch_app *app)
{
    return app->nroutes;
}

const struct ch__app_route *ch__app_route_at(const struct ch_app *app, size_t i)
{
    const struct ch__app_route *r = app->routes;
    while (r && i--) r = r->next;
    return r;
}

const char *ch_app_route_info(const struct ch_app *app, size_t i, unsigned *methods)
{
    const struct ch__app_route *r = ch__app_route_at(app, i);
    if (!r) return NULL;
    if (methods) *methods = r->methods;
    return r->pattern;
}

const struct ch_route_spec *ch_app_route_spec(const struct ch_app *app, size_t i)
{
    const struct ch__app_route *r = ch__app_route_at(app, i);
    return r ? r->spec : NULL;
}

const char *ch__route_security(const struct ch_app *app, const struct ch__app_route *r)
{
    for (size_t i = 0; i < app->nmw; i++)
        if (app->mw[i].security) return app->mw[i].security;
    for (const struct ch_group *g = r->group; g; g = g->parent)
        for (size_t i = 0; i < g->nmw; i++)
            if (g->mw[i].security) return g->mw[i].security;
    for (size_t i = 0; i < r->own_nmw; i++)
        if (r->own_mw[i].security) return r->own_mw[i].security;
    return NULL;
}

/* Flattens global + enclosing groups' + the group's + the route's own middleware into one
 * array per route, so a request walks a plain array. */
static int build_chain(struct ch_app *app, struct ch__app_route *r)
{
    const struct ch_group *path[64];
    size_t depth = 0, n = app->nmw + r->own_nmw;
    for (const struct ch_group *g = r->group; g && depth < 64; g = g->parent) {
        path[depth++] = g;
        n += g->nmw;
    }
    free(r->chain);
    r->chain = calloc(n ? n : 1, sizeof(*r->chain));
    if (!r->chain) return CH_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < app->nmw; i++) r->chain[k++] = &app->mw[i];
    while (depth--)
        for (size_t i = 0; i < path[depth]->nmw; i++) r->chain[k++] = &path[depth]->mw[i];
    for (size_t i = 0; i < r->own_nmw; i++) r->chain[k++] = &r->own_mw[i];
    r->nchain = k;
    return 0;
}

/* The route that answers a path no route matched: the fallback of the innermost group whose
 * prefix covers the path, so that group's middleware (a guard) runs first; the app's own
 * fallback outside every group. Of groups with the same prefix, the one created first answers
 * (the list holds the newest first, so it is found last). Only 404s and 405s come here. */
static const struct ch__app_route *fallback_for(const struct ch_app *app, struct ch_str path)
{
    const struct ch__app_route *best = &app->fallback;
    size_t best_len = 0;
    for (const struct ch_group *g = app->groups; g; g = g->next) {
        size_t n = g->prefix_len;
        if (n < best_len || path.len < n || memcmp(path.ptr, g->prefix, n) != 0) continue;
        if (n && g->prefix[n - 1] != '/' && path.len > n && path.ptr[n] != '/') continue;
        best = &g->fallback;
        best_len = n;
    }
    return best;
}

/* Decodes the router's raw parameter slices into the request (arena copies). */
static int set_params(struct ch_request *req, const struct ch_route_match *m)
{
    req->num_params = m->nparams;
    for (size_t i = 0; i < m->nparams; i++) {
        req->params[i].name = m->params[i].name;
        if (ch_url_decode_arena(&req->arena, m->params[i].value, 0, &req->params[i].value) != 0)
            return CH_EINVAL;
    }
    return 0;
}

static void handler_failed(struct ch_request *req, int rc)
{
    req->_failure = rc ? rc : CH_EINVAL;
    if (rc) ch_error(req, CH_ERR_INTERNAL, "handler failed: %s", ch_strerror(rc));
    else ch_error(req, CH_ERR_INTERNAL, "handler returned without answering");
}

/* The request's fields start reset by the engine (h1.c's request_reset()); here they only
 * receive what routing found. */
static void app_handle(struct ch_request *req)
{
    struct ch_app *app = ch__app_of(req);
    struct ch_route_match m;
    const struct ch__app_route *route;
    enum ch_route_status st = ch_router_match(app->router, req->method, req->path, &m);
    if (app->metrics) req->_metrics_t0 = ch__metrics_start(req);
    req->state = app->state;
    int bad_params = 0;
    if (st == CH_ROUTE_FOUND) {
        route = m.data;
        req->route = ch_str_cstr(route->pattern);
        bad_params = set_params(req, &m) != 0;
    } else {
        /* The fallback route remembers why it was taken, for its handler. */
        route = app->groups ? fallback_for(app, req->path) : &app->fallback;
        req->_allowed = st == CH_ROUTE_METHOD_NOT_ALLOWED ? m.allowed : 0;
    }
    req->_route = route;

    for (size_t i = 0; i < route->nchain; i++) {
        const struct ch_middleware *mw = route->chain[i];
        req->_mw_ran = (unsigned)i + 1;
        if (!mw->before) continue;
        int rc = mw->before(req, mw->arg);
        if (req->_sent || req->_holds) return;
        if (rc != 0) {
            handler_failed(req, rc);
            return;
        }
    }
    int rc;
    if (bad_params) rc = ch_error(req, CH_ERR_BAD_REQUEST, "malformed percent-encoding in path");
    else if (route->spec && (rc = ch__validate(req, route->spec)) != 0) rc = 0; /* answered */
    else rc = route->handler(req);
    if (req->_sent || req->_holds) return;
    handler_failed(req, rc);
}

static void app_before_send(struct ch_request *req)
{
    const struct ch__app_route *route = req->_route;
    if (!route) return;
    for (unsigned i = req->_mw_ran; i-- > 0;) {
        const struct ch_middleware *mw = route->chain[i];
        if (mw->after) mw->after(req, mw->arg);
    }
    struct ch_app *app = ch__app_of(req);
    if (app->metrics) ch__metrics_count(app->metrics, req);
}

/* 404, 405 with Allow, and OPTIONS on a known path (204 with Allow). */
static int fallback_handler(struct ch_request *req)
{
    unsigned allowed = req->_allowed;
    if (!allowed) return ch_error(req, CH_ERR_NOT_FOUND, "No route for %s %.*s",
                                  ch_method_name(req->method), (int)req->path.len, req->path.ptr);
    char allow[CH_ROUTER_ALLOW_MAX + 16];
    size_t n = ch_router_format_allow(allowed | CH_METHOD_BIT(CH_OPTIONS), allow);
    ch_res_header(req, CH_STR("Allow"), ch_str_make(allow, n));
    if (req->method == CH_OPTIONS) return ch_respond_text(req, 204, "", CH_STR(""));
    return ch_error(req, CH_ERR_METHOD_NOT_ALLOWED, "Method %s not allowed on %.*s",
                    ch_method_name(req->method), (int)req->path.len, req->path.ptr);
}

int ch_app_configure(struct ch_app *app, int argc, char **argv)
{
    char err[512];
    int rc = ch__config_load(&app->cfg, argc, argv, err, sizeof(err), ch__app_settings_usage, app);
    if (rc == 1) return 1;
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", ch__config_program(argc, argv), err);
        return 2;
    }
    return 0;
}

static int worker_start(struct ch_worker *w)
{
    struct ch_app *app = ((struct ch__http_app *)w->server->proto_ctx)->data;
    int rc = ch__app_database_worker_start(app, w);
    if (rc == 0 && app->worker_start && (rc = app->worker_start(w, app->worker_arg)) != 0)
        ch__app_database_worker_stop(app, w);
    if (rc == 0 && app->metrics) rc = ch__metrics_worker_start(app->metrics, w);
    return rc;
}

static void worker_stop(struct ch_worker *w)
{
    struct ch_app *app = ((struct ch__http_app *)w->server->proto_ctx)->data;
    if (app->metrics) ch__metrics_worker_stop(app->metrics, w);
    /* The pool first: its batches' callbacks all run now, so the hook may free their state. */
    ch__app_database_worker_stop(app, w);
    if (app->worker_stop) app->worker_stop(w, app->worker_arg);
}

/* --routes: one line per route, for `chopin routes` and for people. */
static int print_routes(const struct ch_app *app)
{
    printf("%-24s %-32s %s\n", "METHODS", "PATTERN", "MIDDLEWARE");
    for (const struct ch__app_route *r = app->routes; r; r = r->next) {
        char methods[CH_ROUTER_ALLOW_MAX];
        ch_router_format_allow(r->methods, methods);
        printf("%-24s %-32s", r->methods == CH_ANY ? "ANY" : methods, r->pattern);
        for (size_t i = 0; i < r->nchain; i++)
            printf("%s%s", i ? ", " : " ", r->chain[i]->name ? r->chain[i]->name : "(unnamed)");
        printf("\n");
    }
    return 0;
}

static void worker_tick(struct ch_worker *w)
{
    struct ch_app *app = ((struct ch__http_app *)w->server->proto_ctx)->data;
    if (app->metrics) ch__metrics_worker_tick(app->metrics, w);
}

int ch_app_serve(struct ch_app *app)
{
    if (app->docs_mount && app->docs_mount(app) != 0) return 1; /* it logged why */
    if (app->first_error) {
        ch_log(CH_LOG_ERROR, "route or middleware registration failed at '%s': %s",
               app->first_error_pattern, ch_strerror(app->first_error));
        return 1;
    }
    for (struct ch__app_route *r = app->routes; r; r = r->next)
        if (build_chain(app, r) != 0) return 1;
    if (build_chain(app, &app->fallback) != 0) return 1;
    for (struct ch_group *g = app->groups; g; g = g->next) {
        g->fallback.index = (unsigned)app->nroutes; /* counted with the app's 404s and 405s */
        if (build_chain(app, &g->fallback) != 0) return 1;
    }
    if (app->cfg.print_routes) return print_routes(app);
    /* Threads the database starts (SQLite's pool) inherit this mask: a SIGTERM sent to the
     * process must reach the server's sigtimedwait, not kill it through one of them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    int rc = ch__app_database_open(app);
    if (rc >= 0) return rc;
    if (app->metrics && ch__metrics_prepare(app) != 0) {
        ch__app_database_close(app);
        return 1;
    }
    app->http.worker_tick = worker_tick;

    struct ch__server server;
    ch__server_init(&server, &app->cfg, &ch__h1_proto, &app->http);
    server.precise_wake = app->metrics != NULL;
    server.worker_init = worker_start;
    server.worker_cleanup = worker_stop;
    server.ready = app->on_ready;
    server.ready_arg = app->ready_arg;
    rc = ch__server_run(&server) == 0 ? 0 : 1;
    ch__app_database_close(app);
    return rc;
}

int ch_app_run(struct ch_app *app, int argc, char **argv)
{
    if (!app) return 1;
    int rc = ch_app_configure(app, argc, argv);
    if (rc == 0) rc = ch_app_serve(app);
    else if (rc == 1) rc = 0;
    ch_app_free(app);
    return rc;
}
