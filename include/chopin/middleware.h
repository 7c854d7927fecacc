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

/* One line per request to stderr: time, request id, method, path, status, body bytes and
 * duration, in ACCESS_LOG_FORMAT: logfmt (default), json (JSON lines, with the route pattern,
 * client address and user agent) or combined (nginx's). Silent when ENVIRONMENT=production
 * unless ACCESS_LOG=on; ACCESS_LOG=off silences it everywhere. */
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

/* Response compression: gzip (zlib) or Brotli, as the request's Accept-Encoding asks. The
 * coding with the highest q-value wins (Brotli on a tie); q=0 refuses a coding, "*" stands
 * for codings not named, and without Accept-Encoding nothing is compressed. Only responses
 * that could vary are touched: not HEAD, not 1xx/204/206/304, a Content-Type that is not
 * already compressed (image/ except SVG, video/, audio/, zip, gzip, bzip2, xz, zstd, 7z, rar,
 * PDF, WOFF, octet-stream), no Content-Encoding yet, no Cache-Control: no-transform. Those
 * all get "Vary: Accept-Encoding" (appended to the app's own Vary); their body is then
 * compressed when it is at least `min_size` bytes and only when that makes it smaller. A
 * strong ETag becomes weak on a compressed body. Performance mode's raw paths never pass
 * through middleware, so they are never compressed.
 *
 * Register it first (before ch_app_use_defaults() and the rest): after() hooks run in reverse
 * order, so it then sees the final body. Not part of the defaults.
 *
 *     ch_app_use(app, ch_mw_compress(NULL));            // defaults below
 *
 * Cost (CPU per KiB of JSON at the default levels): `make bench-compress`. */
struct ch_compress_options {
    size_t min_size;    /* smallest body compressed; 0: 1024 bytes */
    int gzip_level;     /* 1-9; 0: 5; negative: never gzip */
    int brotli_quality; /* 1-11; 0: 4; negative: never Brotli */
};
struct ch_middleware ch_mw_compress(const struct ch_compress_options *opts); /* NULL: defaults */

/* Security headers, added to every response that does not already carry them (a handler's or
 * a later-registered middleware's own value wins):
 *   X-Content-Type-Options: nosniff
 *   X-Frame-Options: DENY                       (frame_options; "" leaves it out)
 *   Referrer-Policy: no-referrer                (referrer_policy; "" leaves it out)
 *   Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
 *                                               on JSON responses only (application/json and
 *                                               application/...+json): an API answer is never
 *                                               a document to render (json_csp; "" leaves it out)
 *   Strict-Transport-Security: max-age=31536000 only on responses that reach the client over
 *                                               HTTPS: those of the server's own HTTPS
 *                                               listener (TLS_CERT), or all of them when
 *                                               BEHIND_TLS=true; hsts > 0 sends it always,
 *                                               hsts < 0 never.
 * A value with control characters is refused (the default is used instead).
 * ch_app_use_defaults() registers this with the defaults, active only when
 * ENVIRONMENT=production; register your own to send them in development too or to change
 * values. */
struct ch_security_options {
    const char *frame_options;   /* NULL: "DENY" */
    const char *referrer_policy; /* NULL: "no-referrer" */
    const char *json_csp;        /* NULL: "default-src 'none'; frame-ancestors 'none'" */
    int hsts;                    /* 0: over HTTPS (see above); 1: always; -1: never */
    unsigned long hsts_max_age;  /* seconds; 0: one year */
    int hsts_include_subdomains;
};
struct ch_middleware ch_mw_security_headers(const struct ch_security_options *opts);

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

#ifdef __cplusplus
}
#endif

#endif
