/* The built-in middleware. Each is a value to pass to ch_app_use() or ch_group_use(); they
 * work alone and in any order, and ch_app_use_defaults() installs the usual stack. */
#ifndef CHOPIN_MIDDLEWARE_H
#define CHOPIN_MIDDLEWARE_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Takes x-request-id from the request (1-128 characters of [A-Za-z0-9._:-]) or generates a
 * random 32-hex-digit one, stores it in req->request_id and echoes it in the response. */
struct ch_middleware ch_mw_request_id(void);

/* One structured line per request to stderr: time, request id, method, path, status, body
 * bytes and duration. Silent when ENVIRONMENT=production. */
struct ch_middleware ch_mw_access_log(void);

/* CORS. `origins` is a comma-separated list of allowed origins ("https://a.example,
 * https://b.example"), or "" or "*" for any (Access-Control-Allow-Origin: *); NULL follows the
 * app's CORS_ORIGINS setting, which defaults to any. Preflight requests (OPTIONS with
 * Access-Control-Request-Method) are answered 204 with the allowed methods and headers; a
 * disallowed origin gets no CORS headers. The string is copied; should that copy fail, no
 * origin is allowed. CORS is app-wide: ch_app_use_defaults() already registers it (following
 * CORS_ORIGINS), and a second registration on a group cannot narrow it, since the app-wide
 * one answers preflights first and allows what the group's refused. */
struct ch_middleware ch_mw_cors(const char *origins);

/* Turns a handler failure (a non-zero return without an answer) into the 500 envelope and logs
 * the cause with the request id. Without it the client gets the same envelope, unlogged. */
struct ch_middleware ch_mw_recovery(void);

/* Refuses bodies over `max_bytes` with 413 PAYLOAD_TOO_LARGE (for routes that want less than
 * the server-wide MAX_BODY_SIZE). */
struct ch_middleware ch_mw_body_limit(size_t max_bytes);

/* Answers 503 SERVICE_UNAVAILABLE "request timed out" when no response is sent within `ms`
 * (0: REQUEST_TIMEOUT from the configuration). The connection is closed after it. */
struct ch_middleware ch_mw_timeout(unsigned ms);

#ifdef __cplusplus
}
#endif

#endif
