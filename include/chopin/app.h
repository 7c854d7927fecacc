/* The application: routes, groups, middleware, state, and running the server.
 *
 *     static int hello(struct ch_request *req)
 *     {
 *         ch_json_string(ch_json_ok(req), "Hello, World!");
 *         return ch_respond(req, 200);
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *         struct ch_app *app = ch_app_new();
 *         ch_app_use_defaults(app);
 *         ch_get(app, "/hello", hello);
 *         return ch_app_run(app, argc, argv);
 *     }
 *
 * Handlers return 0 once they have answered (ch_respond(), ch_error(), ...) or once they hold
 * the request for asynchronous work (ch_request_hold(), answered later on the same worker).
 * Any other return, or returning without doing either, is a handler failure: the client gets
 * the 500 INTERNAL_ERROR envelope and the connection stays usable.
 *
 * Routes and middleware are registered before ch_app_run() and never change afterwards; the
 * routing table is then read by every worker without locks. */
#ifndef CHOPIN_APP_H
#define CHOPIN_APP_H

#include <string.h>

#include "buf.h"
#include "config.h"
#include "request.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ch_app;
struct ch_db;
struct ch_group;
struct ch_worker;

typedef int (*ch_handler_fn)(struct ch_request *req);

/* Middleware: before() runs in registration order (global first, then the group's); returning
 * non-zero or answering the request stops the chain, and the handler does not run. after()
 * runs, in reverse order, for every middleware whose before() ran, just before the response is
 * written, whoever produced it (handler, middleware, a timeout, a 404). Either may be NULL. */
struct ch_middleware {
    const char *name;
    int (*before)(struct ch_request *req, void *arg);
    void (*after)(struct ch_request *req, void *arg);
    void *arg;
    void (*cleanup)(void *arg); /* releases `arg` when the app is freed; may be NULL */
    /* The OpenAPI security scheme this middleware enforces ("bearer"), or NULL: a route it
     * covers is documented with that security requirement and a 401 response. */
    const char *security;
};

/* A new application with no routes and no middleware; NULL when out of memory. */
struct ch_app *ch_app_new(void);

/* Releases the application (after ch_app_run() returned). */
void ch_app_free(struct ch_app *app);

/* The configuration ch_app_run() will use: defaults until ch_app_configure() loads the
 * environment and flags. Adjust it between the two calls. */
struct ch_config *ch_app_config(struct ch_app *app);

/* The state pointer handed to every request as req->state. */
void ch_app_set_state(struct ch_app *app, void *state);

/* The database whose per-worker pools requests reach through ch_request_db() (chopin/db.h).
 * The app does not own it: start and stop its pools from worker hooks, free it after. */
void ch_app_set_db(struct ch_app *app, struct ch_db *db);

/* Adds global middleware (copied); it runs for every request, matched or not, before routing
 * decides between the handler, 404 and 405. */
int ch_app_use(struct ch_app *app, struct ch_middleware mw);

/* Adds the standard stack: request id, security headers (production only, see
 * ch_mw_security_headers()), access log (development only), CORS (CORS_ORIGINS), recovery, and
 * the per-request timeout (REQUEST_TIMEOUT). */
int ch_app_use_defaults(struct ch_app *app);

/* Registers `handler` for the methods in `methods` (CH_METHOD_BIT() values, or CH_ANY) on
 * `pattern` ("/users/:id", "/files/\*path"; see chopin/router.h for the syntax). Returns 0 or
 * a CH_E* code; the first failure is also kept and makes ch_app_run() fail loudly. */
int ch_route(struct ch_app *app, unsigned methods, const char *pattern, ch_handler_fn handler);

int ch_get(struct ch_app *app, const char *pattern, ch_handler_fn handler);
int ch_post(struct ch_app *app, const char *pattern, ch_handler_fn handler);
int ch_put(struct ch_app *app, const char *pattern, ch_handler_fn handler);
int ch_patch(struct ch_app *app, const char *pattern, ch_handler_fn handler);
int ch_delete(struct ch_app *app, const char *pattern, ch_handler_fn handler);
int ch_any(struct ch_app *app, const char *pattern, ch_handler_fn handler);

/* A group of routes under `prefix` ("/api/v1") with its own middleware, which runs after the
 * global middleware and after the enclosing groups'. It runs for every request under the
 * prefix (the prefix itself, or the prefix followed by '/'), matched or not: a guard on
 * "/api" answers 401 before a 404 or 405 (with Allow) would tell what exists there. Middleware
 * for one route only goes in that route's declaration (chopin/schema.h). Groups are owned by
 * the app; NULL on failure. */
struct ch_group *ch_group_new(struct ch_app *app, const char *prefix);
struct ch_group *ch_group_sub(struct ch_group *parent, const char *prefix);
int ch_group_use(struct ch_group *g, struct ch_middleware mw);
int ch_group_route(struct ch_group *g, unsigned methods, const char *pattern,
                   ch_handler_fn handler);

/* Raw routes: performance mode's zero-allocation answers.
 *
 * A raw route answers GET on one exact path without a request object, routing, middleware or
 * allocation: `fn` appends the whole response (head and body) to `out`, the connection's output
 * buffer, and returns 0 (or non-zero after appending nothing, to route the request normally).
 * `date` is the cached Date value, CH_HTTP_DATE_LEN bytes, not NUL-terminated.
 *
 *     static int plaintext(struct ch_buf *out, const char *date)
 *     {
 *         return ch_raw_respond(out, 200, date, "text/plain", "Hello, World!", 13);
 *     }
 *     ch_app_raw_get(app, "/plaintext", plaintext);
 *
 * Raw routes are served in performance mode only (SERVER_MODE=performance), and only for
 * keep-alive HTTP/1.1 GET requests whose target is exactly `path` (no query string). Standard
 * mode, and every other request in performance mode (HEAD, HTTP/1.0, Connection: close, a
 * query, a path no raw route claims), goes through the router and middleware as usual, so an
 * app that registers a raw route also registers an ordinary route for the same path if it
 * wants those answered. Matching is an exact comparison against a small table (at most
 * CH_APP_MAX_RAW routes): nothing else is added to the hot path. `path` must outlive the app. */
#define CH_APP_MAX_RAW   8
#define CH_HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

typedef int (*ch_raw_fn)(struct ch_buf *out, const char *date);

/* 0; CH_EINVAL for a path not starting with '/'; CH_EBUSY when the path is taken; CH_ERANGE
 * past CH_APP_MAX_RAW. Failures also make ch_app_run() fail loudly. */
int ch_app_raw_get(struct ch_app *app, const char *path, ch_raw_fn fn);

/* Private: the status line and headers up to the Content-Type value, for a status other than
 * 200; returns the end. */
char *ch__raw_status(char *p, int status);

/* Private: what ch_raw_head() writes, at p (room reserved); returns the end. Inline, so that a
 * raw route's constant arguments fold into plain stores. */
static inline char *ch__raw_head(char *p, int status, const char *date, const char *content_type,
                                 size_t ctlen, size_t content_length)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nServer: chopin\r\nContent-Type: ";
    if (status == 200) {
        memcpy(p, ok, sizeof(ok) - 1);
        p += sizeof(ok) - 1;
    } else {
        p = ch__raw_status(p, status);
    }
    memcpy(p, content_type, ctlen);
    p += ctlen;
    memcpy(p, "\r\nContent-Length: ", 18);
    p += 18;
    if (content_length < 10) {
        *p++ = (char)('0' + content_length);
    } else if (content_length < 100) {
        *p++ = (char)('0' + content_length / 10);
        *p++ = (char)('0' + content_length % 10);
    } else {
        p += ch_u64_to_dec(p, content_length);
    }
    memcpy(p, "\r\nDate: ", 8);
    memcpy(p + 8, date, CH_HTTP_DATE_LEN);
    memcpy(p + 8 + CH_HTTP_DATE_LEN, "\r\n\r\n", 4);
    return p + 12 + CH_HTTP_DATE_LEN;
}

/* Room for a head besides the content type: status line, names, separators, Date, digits. */
#define CH__RAW_HEAD_ROOM (128 + CH_HTTP_DATE_LEN)

/* Appends a response head for a raw route: status line, Server, Content-Type, Content-Length
 * (`content_length`), Date and the empty line. 0 or CH_ENOMEM. */
static inline int ch_raw_head(struct ch_buf *out, int status, const char *date,
                              const char *content_type, size_t content_length)
{
    size_t ctlen = strlen(content_type);
    if (ch_buf_reserve(out, CH__RAW_HEAD_ROOM + ctlen) != 0) return CH_ENOMEM;
    out->len = (size_t)(ch__raw_head(out->ptr + out->len, status, date, content_type, ctlen,
                                     content_length) -
                        out->ptr);
    return 0;
}

/* A whole response with a body known in advance: the head and `len` bytes of `body`. */
static inline int ch_raw_respond(struct ch_buf *out, int status, const char *date,
                                 const char *content_type, const char *body, size_t len)
{
    size_t ctlen = strlen(content_type);
    if (ch_buf_reserve(out, CH__RAW_HEAD_ROOM + ctlen + len) != 0) return CH_ENOMEM;
    char *p = ch__raw_head(out->ptr + out->len, status, date, content_type, ctlen, len);
    memcpy(p, body, len);
    out->len = (size_t)(p + len - out->ptr);
    return 0;
}

/* For a body whose length is not known in advance (serialized per request): appends the head
 * with a placeholder Content-Length and stores in *mark where it is; append the body, then
 * ch_raw_end() writes the length. 0 or CH_ENOMEM (nothing appended). */
int ch_raw_begin(struct ch_buf *out, int status, const char *date, const char *content_type,
                 size_t *mark);
int ch_raw_end(struct ch_buf *out, size_t mark);

/* Hooks run on each worker's thread before it serves and after it drained (e.g. to open and
 * close a database pool); start returns 0 or a CH_E* code, which stops the server. */
void ch_app_on_worker(struct ch_app *app, int (*start)(struct ch_worker *w, void *arg),
                      void (*stop)(struct ch_worker *w, void *arg), void *arg);

/* The index (0..WORKERS-1) of a worker given to the hooks above, as in req->worker_id. */
int ch_worker_index(const struct ch_worker *w);

/* Loads ./.env, the environment and the flags into the configuration (see chopin/config.h).
 * Returns 0, 1 after --help or --version, or 2 after printing a one-line error. */
int ch_app_configure(struct ch_app *app, int argc, char **argv);

/* Declares an environment variable of the application's own: its name, its default (NULL:
 * none) and a one-line description. --help lists the declared settings after the framework's,
 * and ch_app_setting_get() reads them. Strings are copied. Returns 0, CH_EINVAL for an empty
 * name or one declared twice, or CH_ENOMEM. Example:
 *     ch_app_setting(app, "NOTES_PAGE_MAX", "100", "largest page of notes");
 *     ... after ch_app_configure():
 *     long max;
 *     if (ch_app_setting_int(app, "NOTES_PAGE_MAX", 1, 1000, &max)) ... */
int ch_app_setting(struct ch_app *app, const char *name, const char *def, const char *description);

/* A declared setting's value: the environment's (./.env included once ch_app_configure() has
 * run), else its default (which may be NULL). NULL as well for a name never declared. */
const char *ch_app_setting_get(const struct ch_app *app, const char *name);

/* The setting as a decimal integer in [min, max]. Returns 0, CH_ENOTFOUND when it is
 * undeclared or has no value, or CH_EINVAL when the value is not such an integer (`out` is
 * then left alone): a bad value is an error to report, never silently the default. */
int ch_app_setting_int(const struct ch_app *app, const char *name, long min, long max, long *out);

/* Serves until SIGINT or SIGTERM, then drains. Returns the process exit status: 0 after a clean
 * shutdown, 1 when the server could not start (the reason is printed). */
int ch_app_serve(struct ch_app *app);

/* ch_app_configure(), ch_app_serve(), then ch_app_free(): the whole main() of most programs.
 * The app is freed in every case; the return value is the process exit status. */
int ch_app_run(struct ch_app *app, int argc, char **argv);

/* Routes, for documentation generators: the number registered and the i-th one's pattern,
 * methods and handler (NULL past the end). */
size_t ch_app_route_count(const struct ch_app *app);
const char *ch_app_route_info(const struct ch_app *app, size_t i, unsigned *methods);

#ifdef __cplusplus
}
#endif

#endif
