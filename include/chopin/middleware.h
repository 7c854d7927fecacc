/* The built-in middleware. Each is a value to pass to ch_app_use() or ch_group_use(); they
 * work alone and in any order, and ch_app_use_defaults() installs the usual stack. */
#ifndef CHOPIN_MIDDLEWARE_H
#define CHOPIN_MIDDLEWARE_H

#include "app.h"

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

/* A guard for static API keys sent as bearer tokens: "Authorization: Bearer <key>" (the scheme
 * is case-insensitive, as RFC 9110 says). A request without one, with another scheme or with
 * an empty token gets 401 UNAUTHORIZED and "WWW-Authenticate: Bearer"; a token that is not one
 * of the keys gets 401 and 'WWW-Authenticate: Bearer error="invalid_token"' (RFC 6750). The
 * token is compared with every key in time that depends only on the keys' lengths, never on
 * how much of a key it matched or which key matched. `keys` is a comma-separated list
 * ("k1,k2": rotate keys by accepting the old and the new for a while); spaces around entries
 * are ignored and the list is copied. With no key at all, every request is refused (and a
 * warning logged): a guard never fails open. Put it on a group (ch_group_use()) to guard
 * everything under a prefix, 404s and 405s included; the OpenAPI document then marks those
 * routes with bearer security. For signed tokens (JWT), use the auth module's guard instead. */
struct ch_middleware ch_mw_api_key(const char *keys);

/* ch_mw_api_key() with the list read from environment variable `var` when called (call it
 * after ch_app_configure(), which loads ./.env into the environment). */
struct ch_middleware ch_mw_api_key_env(const char *var);

#endif
