/* A test client for applications: serves an app in-process on a free port of 127.0.0.1 and
 * sends it real HTTP/1.1 requests over one keep-alive connection.
 *
 *     struct ch_app *app = ch_app_new();
 *     ch_app_use_defaults(app);
 *     ch_post(app, "/api/notes", create_note);
 *     struct ch_test *t = ch_test_start(app);
 *     struct ch_test_response res;
 *     int status = ch_test_request(t, "POST", "/api/notes", NULL, "{\"title\":\"a\"}", &res);
 *     // status == 201, ch_test_json_at(res.json, "data.title") is the string "a"
 *     ch_test_stop(t);
 *     ch_app_free(app);
 *
 * The server runs the app exactly as ch_app_serve() does (middleware, workers, worker hooks,
 * envelopes), on background threads. The client side is plain blocking sockets: it is meant for
 * test programs, not for production traffic. One struct ch_test is used by one thread. */
#ifndef CHOPIN_TESTING_H
#define CHOPIN_TESTING_H

#include <stddef.h>

#include "app.h"
#include "http.h"
#include "json.h"
#include "str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ch_test;

/* A response as received. Everything it points to belongs to the client and stays valid until
 * the next request on the same client or ch_test_stop(). */
struct ch_test_response {
    int status;
    const struct ch_header *headers; /* in the order received */
    size_t num_headers;
    struct ch_str body; /* the raw body (chunked bodies decoded); NUL-terminated */
    /* The body parsed as JSON when Content-Type is application/json or application/...+json
     * and the body parses; NULL otherwise. */
    const struct ch_json_value *json;
};

/* Serves `app` on 127.0.0.1 with SERVER_PORT=0 (the kernel picks a free port) from a background
 * thread, and returns once it listens; NULL when it could not start (the reason is logged).
 * The rest of ch_app_config(app) is used as it is: call ch_app_configure() first to load the
 * environment, or set fields (workers, mode...) directly. Routes must be registered before. The
 * app stays the caller's: free it after ch_test_stop(). An app is served at most once. */
struct ch_test *ch_test_start(struct ch_app *app);

/* Stops the server (a graceful drain, as on SIGTERM), waits for it and frees the client.
 * Returns the server's exit status (0 after a clean shutdown). NULL is accepted. */
int ch_test_stop(struct ch_test *t);

/* The port the app is served on. */
int ch_test_port(const struct ch_test *t);

/* Sends one request and reads the whole response into *res. `headers` is NULL or a
 * NULL-terminated array of "Name: value" strings; `body` is NULL (no body) or a NUL-terminated
 * text, sent with Content-Type: application/json unless `headers` names a Content-Type.
 * Host, Content-Length and the Authorization set by ch_test_bearer() are added. Returns the
 * status code, or a negative CH_E* code when no response could be read (CH_EIO, CH_ETIMEDOUT
 * after 30 s, CH_EINVAL for a malformed response); *res is then zeroed. A connection the server
 * closed is reopened transparently. */
int ch_test_request(struct ch_test *t, const char *method, const char *path,
                    const char *const *headers, const char *body, struct ch_test_response *res);

/* ch_test_request() with a body of `len` bytes that may contain NULs. */
int ch_test_request_n(struct ch_test *t, const char *method, const char *path,
                      const char *const *headers, const void *body, size_t len,
                      struct ch_test_response *res);

/* Sends "Authorization: Bearer <token>" with every later request (the token is copied);
 * NULL stops sending it. 0 or CH_ENOMEM. */
int ch_test_bearer(struct ch_test *t, const char *token);

/* Signs a user up through the built-in account routes (ch_auth_mount() at "/api/auth": POST
 * /api/auth/signup with the three strings, JSON-escaped) and, on 201, sends the new access token
 * with every later request, as ch_test_bearer() does. `res` may be NULL; otherwise it receives
 * the response (ch_test_json_at(res->json, "data.refresh_token"), "data.user.id"...). Returns
 * the status (201; 409 when the email or username is taken, 422, 429...), CH_EINVAL when a 201
 * carried no access token, or a negative CH_E* code as ch_test_request(). */
int ch_test_signup(struct ch_test *t, const char *email, const char *username,
                   const char *password, struct ch_test_response *res);

/* The same through POST /api/auth/login {"login","password"} (an email or a username): 200 on
 * success, after which the access token is sent with every later request; 401 for a wrong
 * password or an unknown account. */
int ch_test_login(struct ch_test *t, const char *login, const char *password,
                  struct ch_test_response *res);

/* The first response header named `name` (case-insensitive); {NULL, 0} when absent. */
struct ch_str ch_test_header(const struct ch_test_response *res, const char *name);

/* Walks a JSON value along a dotted path: object keys and array indexes, e.g.
 * "data.items.0.title" or "error.fields.1.field"; "" is `v` itself. NULL when a step is
 * missing or `v` is NULL. */
const struct ch_json_value *ch_test_json_at(const struct ch_json_value *v, const char *path);

#ifdef __cplusplus
}
#endif

#endif
